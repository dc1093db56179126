#pragma once
// The engine that builds tonight's copy beside yesterday's and swaps it in. A night goes so:
// every schema the backup restores into gets a build schema of the tool's own (build_names),
// and every object the backup makes there is made in it instead, pg_dump's SQL rewritten so
// that the names it makes and uses tonight are the build schema's (sql_rewrite: names only,
// never text that looks like one); what is not a schema's (an extension and the schema holding
// it, the target's own) is made in place where missing and never moved nor dropped, and names
// of the whole database (publications) are made again once swapped in (object_kinds says which
// kind goes where). The build plan (build_plan) orders that work: the schema before the data,
// each table's rows, then what needs them (indexes, keys, triggers), and what can only be made
// on the live names afterwards (what hangs on kept tables, views reading through run-time
// bodies). Once the build is complete and checked, one transaction moves yesterday's objects of
// every kind the catalogue lists out to previous-copy schemas and tonight's in (swap_sql: ALTER
// ... SET SCHEMA, metadata only), remaking on the way what must never be missing for readers
// (a kept table's policies); yesterday's copy is then dropped. The steps call this module:
// pg-restore builds, drop-objects swaps, post-sql builds its own SQL into the same schemas.
#include "build_names.hpp"
#include "build_plan.hpp"
#include "object_kinds.hpp"
#include "sql_rewrite.hpp"
#include "swap_sql.hpp"
