#pragma once
// The rules the target role set for others (its grants on the restored schemas' objects, its
// default privileges): saved before the emptying, re-applied by name once the restore is done,
// so that analysts' and Metabase's read-only roles keep reading every morning. And the read
// access GRANT_READ_TO asks for.
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace pixrep {

namespace common {
class PgConn;
}  // namespace common
namespace beside {
struct BuildNames;
}  // namespace beside

/// One privilege another role holds on what the target role owns (whoever granted it).
struct AccessRule {
    std::string kind;       ///< "schema", "table", "column", "sequence", "function", or "default" (ALTER DEFAULT PRIVILEGES).
    std::string schema;     ///< "" for a default privilege of the whole database.
    std::string name;       ///< Object name (a column's table); for "default", the object type letter (r, S, f, T, n).
    std::string args;       ///< A function's argument types; a column's name.
    std::string grantee;    ///< Role name, or "PUBLIC".
    std::string privilege;  ///< SELECT, USAGE, EXECUTE...
    bool grantable = false;
};

/// The SQL that lists the rules on `schemas` (text columns in AccessRule's order, then the
/// object's oid; $1 is the schemas as a text array). Grants to PUBLIC are left out: the tool
/// never grants to PUBLIC.
const std::string& capture_rules_sql();

/// SQL for the oid the object of a saved rule has now (NULL when gone), over a row of the
/// access_rules table (columns kind, schema_name, name, args). Pure.
const std::string& current_oid_sql();

/// Why `rule` may not be applied as stored ("" when it may): its kind, its privilege (from a
/// fixed list per kind) or a default privilege's object type is not one PostgreSQL has. The
/// table is writable by the target role: nothing in it reaches SQL unchecked. Pure.
std::string rule_problem(const AccessRule& rule);

/// The GRANT (or ALTER DEFAULT PRIVILEGES ... GRANT) that re-applies `rule` on `object`, the
/// object's name as the catalog renders it (e.g. `oid::regprocedure::text`); "" = from the
/// rule's own names, quoted. Pure.
std::string grant_sql(const AccessRule& rule, const std::string& object = "");

/// A query, and its parameters, returning the object of `rule` as the catalog renders it from
/// its oid, or no row when it is gone (a default privilege has no object: ""). Pure.
std::pair<std::string, std::vector<std::string>> resolve_sql(const AccessRule& rule);

/// The statements that grant `role` read access to everything in `schemas`. Pure.
std::vector<std::string> read_access_sql(const std::string& role, const std::vector<std::string>& schemas);

/// A text[] literal of `items`, for a query parameter.
std::string text_array(const std::vector<std::string>& items);

/// `rule` as it applies to tonight's copy built beside the live one: on the build schema's object
/// when `built` makes it there; a schema's rule on the build schema when the live one does not
/// exist yet (the swap renames the build schema into it); nullopt for an object of a rebuilt
/// schema that tonight neither builds nor keeps (the swap takes it away). Pure.
std::optional<AccessRule> for_build(AccessRule rule, const beside::BuildNames& built, bool live_schema_exists);

/// The grants a default privilege IN SCHEMA gives what is created there, for what tonight's
/// copy created in the build schema `build` instead (default privileges follow the schema). Pure.
std::vector<std::string> default_grants_sql(const AccessRule& rule, const std::string& build);

/// Re-applies `rules` one by one; returns what could not be: "TABLE public.x no longer exists".
std::vector<std::string> reapply(common::PgConn& conn, const std::vector<AccessRule>& rules);

}  // namespace pixrep
