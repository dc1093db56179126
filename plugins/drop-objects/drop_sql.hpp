#pragma once
// What emptying the target means, as SQL: the objects the target role owns in the schemas the
// replica lives in, by kind (views, tables, sequences, routines, types, schemas...), never the
// tool's own schema nor extension members; and the checks before it. Pure.
#include <string>
#include <vector>

#include <pixrep/plan.hpp>

namespace pixrep::drop {

/// An object of the target, as the catalog names it.
struct Object {
    std::string kind;    ///< Its kind, as beside::object_kinds() names it ("TABLE", "FUNCTION", "OPERATOR", "SCHEMA"...).
    std::string schema;  ///< Its schema ("" for a schema).
    std::string name;    ///< Its name.
    std::string args;    ///< What identifies it beyond its name (a routine's arguments, an operator's operands...).
    std::string owner;   ///< Its owner.
};

/// The query listing the objects the current role owns outside the system schemas and
/// `keep_schema`, in the order they are dropped (columns as in Object, owner last). Pure.
std::string owned_objects_sql(const std::string& keep_schema);

/// The query listing the names of the schemas the current role owns, but the system's, the
/// extensions' and `keep_schema`: cheap, for the swap, which holds readers while it runs.
std::string owned_schemas_sql(const std::string& keep_schema);

/// The query listing objects of other roles in the schemas `plan` restores into (same columns).
std::string foreign_objects_sql(const std::vector<std::string>& schemas);

/// DROP ... IF EXISTS ... CASCADE for `o`.
std::string drop_statement(const Object& o);

/// The objects of `others` (owned by other roles) that `plan` would create again: a restore
/// would fail on each with "already exists". Pure.
std::vector<Object> collisions(const RestorePlan& plan, const std::vector<Object>& others);

/// What tables kept on the target (`kept`: "schema.table") need to stay whole: themselves, their
/// keys, checks and indexes, their sequences, the types and functions their columns, defaults
/// and checks use, and the schemas of all those. Columns as in Object (for a constraint, `args`
/// is its table). Pure.
std::string kept_support_sql(const std::vector<std::string>& kept);

/// What depends on kept tables and is restored around them: foreign keys from or to them, their
/// triggers and policies, one per row as (the statement dropping it, the statement making it
/// again as it is now: foreign keys NOT VALID, policies ""), leaving out foreign keys of tables
/// in schemas LIKE `except_like` (tonight's build, when not ""). Names are qualified as the
/// session's search_path needs. Pure.
std::string kept_dependents_sql(const std::vector<std::string>& kept, const std::string& except_like = "");

/// Each kept table's columns (name and type), to check that the emptying changed none. Pure.
std::string kept_columns_sql(const std::vector<std::string>& kept);

/// The plan entries that `support` says are already on the target with kept tables, and the
/// kept tables' column defaults and sequence ownerships. Pure.
std::vector<DumpId> kept_entries(const RestorePlan& plan, const std::vector<Object>& support);

/// True when `support` (kept_support_sql's rows) holds the object of kind `kind` (as
/// beside::Movable names kinds) `schema`.`name`. Pure.
bool is_kept(const std::vector<Object>& support, const std::string& kind, const std::string& schema, const std::string& name);

/// `owned` without what `support` (kept_support_sql's rows) keeps. Pure.
std::vector<Object> without_kept(const std::vector<Object>& owned, const std::vector<Object>& support);

/// Entries of `plan` in schema `home`, which the backup must not bring.
std::vector<std::string> in_schema(const RestorePlan& plan, const std::string& home);

/// A view of another role that depends on what the target role owns.
struct ForeignView {
    std::string schema, name, owner;
    std::string kind;        ///< "v" or "m" (materialized).
    std::string definition;  ///< pg_get_viewdef().
};

/// The views (and materialized views) of other roles that depend, directly or through other
/// views, on relations the current role owns, those nearest the tables first; columns in
/// ForeignView's order.
const std::string& others_views_sql();

/// The statement that makes `view` again. Pure.
std::string create_view_sql(const ForeignView& view);

}  // namespace pixrep::drop
