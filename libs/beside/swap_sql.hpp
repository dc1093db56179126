#pragma once
// The SQL of the swap: what the target role owns in a schema that moves to another with
// ALTER ... SET SCHEMA (metadata only: the rows stay where they are), and the statements that
// move it. Used by the swap of tonight's copy into place, and by `rollback`. Pure.
#include <string>
#include <vector>

namespace pixrep::beside {

/// An object that moves with ALTER ... SET SCHEMA; what it carries (indexes, constraints,
/// owned sequences, array types) moves with it.
struct Movable {
    std::string kind;    ///< Its kind, as object_kinds() names it ("TABLE", "FUNCTION", "TEXT SEARCH CONFIGURATION"...).
    std::string schema;  ///< Where it is.
    std::string name;    ///< Its name.
    std::string args;    ///< What identifies it beyond its name (object_kinds(): a routine's arguments...).
};

/// The query listing what the current role owns in schema $1 (a name) of the kinds object_kinds() says
/// the swap moves, never extension members, sequences owned by a column, nor range types
/// (their constructors are the bootstrap superuser's, and cannot follow); columns in Movable's order.
const std::string& movable_sql();

/// LOCK TABLE of every table among `objects` (LOCK refuses materialized views, which autovacuum
/// only analyzes), "" when none: the swap
/// takes tonight's first, so that an autovacuum on a fresh table (which gives way only after
/// deadlock_timeout) is waited for before any reader can queue behind the swap.
std::string lock_statement(const std::vector<Movable>& objects);

/// ALTER <kind> schema.name SET SCHEMA `to`.
std::string move_statement(const Movable& m, const std::string& to);

/// The comment on a previous-copy schema, saying which live schema it was and what stayed
/// there (kept tables and what they need, as "KIND name"), for `rollback`.
std::string previous_comment(const std::string& schema, const std::vector<std::string>& stayed);

/// Reads previous_comment()'s text back; false when `comment` is not one.
bool read_previous_comment(const std::string& comment, std::string& schema, std::vector<std::string>& stayed);

}  // namespace pixrep::beside
