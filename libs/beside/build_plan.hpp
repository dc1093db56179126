#pragma once
// Tonight's copy as work for the builder, when it is built beside the live one: the entries
// before the data (in archive order, on one connection), the tables' rows (biggest first, in
// parallel), what comes after the data (indexes, keys, triggers... as the pool's work, each
// once its table is loaded), every SQL rewritten into the build schemas; and what must wait
// for the swap because it hangs on a kept table or a live schema. Pure.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <pixrep/context.hpp>
#include <pixrep/plan.hpp>

#include "sql_rewrite.hpp"

namespace pixrep::beside {

/// One statement of the build, run in order on the build's first connection.
struct Statement {
    std::string label;  ///< "TABLE public.users", for logs and errors.
    std::string sql;
};

/// One table's rows to load.
struct Load {
    DumpId data{};       ///< Its TABLE DATA entry.
    std::string table;   ///< "schema.table", as the plan names it.
    std::string copy;    ///< The COPY statement into the build schema.
    std::int64_t rows = -1;  ///< Rows the verification counted in the dump; -1 unknown.
};

struct BuildPlan {
    std::vector<Statement> schema;      ///< Before the data, in archive order.
    std::vector<Statement> sequences;   ///< SEQUENCE SET, once the schema is there.
    std::vector<Load> loads;            ///< Biggest first.
    std::vector<Deferred> work;         ///< After the data, for the pool.
    std::vector<Deferred> after_swap;   ///< On the live names once swapped in, in order.
    std::vector<std::string> in_place_schemas;  ///< Schemas holding an extension: made where missing, never built beside.
};

/// The statement every piece of work built from the dump starts with: pg_dump's SQL names
/// everything, and is restored under an empty search_path.
extern const char* const kDumpSearchPath;

/// What makes `plan` impossible to build beside (large objects, rows as INSERT statements);
/// "" when nothing does.
std::string unbuildable(const RestorePlan& plan);

/// The schemas the plan's extensions are created in (by identity: the extension's dependency on
/// its schema's entry): the target's own, made in place where missing and never moved.
std::vector<std::string> extension_schemas(const RestorePlan& plan);

/// The materialized views whose rows come through a routine whose body names tables at run
/// time (PL/pgSQL, a quoted SQL body): refreshed in the build, they would read the live copy,
/// so they are refreshed again once swapped in. By their MATERIALIZED VIEW DATA entry.
std::set<DumpId> refreshed_after_swap(const RestorePlan& plan);

/// The tables `plan` keeps on the target ("schema.table"): their new rows are appended.
std::set<std::string> kept_tables(const RestorePlan& plan);

/// True when `e` holds the rows of an extension's configuration table (PostGIS's
/// spatial_ref_sys): a data entry whose table the plan does not define, as pg_dump writes them.
/// The table is the extension's, in place: the rows the extension made itself are already there,
/// the others are added once the copy is live, where the target role may write them.
bool extension_config_data(const RestorePlan& plan, const TocEntry& e);

/// The statements the swap runs on the live names within its own transaction, once everything
/// has moved: a kept table's policies, which the swap drops with what else hangs on the table,
/// remade at once, so that no reader meets the table under row-level security without them.
std::vector<std::string> remade_in_swap(const RestorePlan& plan);

/// The build of `plan`, with the steps' `deferred` work, into `names`' schemas. The steps' own
/// SQL (deferred work that replaces no entry) creates what it names with a built schema there too.
BuildPlan build_plan(const RestorePlan& plan, const std::vector<Deferred>& deferred, const BuildNames& names);

}  // namespace pixrep::beside
