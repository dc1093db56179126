#pragma once
// The masking rules (MASKING_RULES): one TOML section per table, `[tables."public.users"]`, one
// line per column, `email = "email"`, and `"*" = "keep"` for the columns a table's rules do not
// name, allowed only in a table that masks nothing. Privacy by default: with rules, every table
// restored tonight and every column of it must be covered, so a column production adds to a
// table with personal data is refused until a rule names it; a rule that names a missing column,
// a transform that does not fit its column, or a non-injective transform on a unique column is
// refused. Pure but for reading the file.
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "transforms.hpp"

namespace pixrep::mask {

/// A rules file that cannot be read, or one of its lines; the message names the file and line.
class RulesError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One column's rule and where it was written.
struct ColumnRule {
    Transform transform = Transform::keep;
    int line = 0;
    std::string label;  ///< The Anonymizer label it comes from (MASKING_FROM_LABELS); empty from the file.
};

/// One table's rules.
struct TableRules {
    std::map<std::string, ColumnRule> columns;  ///< By column name, as the table spells it.
    std::optional<ColumnRule> rest;             ///< "*": the columns not named (from labels: those without one, kept).
    int line = 0;
    /// The rule of `column`: its own, else "*", else nullopt (not covered).
    std::optional<ColumnRule> rule(const std::string& column) const;
};

/// Every table's rules.
struct Rules {
    std::string file;
    std::map<std::string, TableRules> tables;  ///< By "schema.table".
    /// A SHA-256 of the rules (not of the file's comments or order), for the tool's state.
    std::string fingerprint() const;
};

/// Reads `path`. Throws RulesError "path:line: why" on a file that is not TOML, a section that
/// is not a table of strings, or a transform it does not know.
Rules read_rules(const std::string& path);
/// The same, from `text` (`path` names it in errors).
Rules parse_rules(const std::string& text, const std::string& path);

/// What the backup says of a column tonight.
struct ColumnFacts {
    std::string name, type;  ///< type as pg_dump writes it ("character varying(255)").
    bool not_null = false;
    bool unique = false;     ///< Alone in a unique index or constraint, or the primary key.
};

/// A table restored tonight, with its columns.
struct TableFacts {
    std::string table;  ///< "schema.table".
    std::vector<ColumnFacts> columns;
};

/// A single-column foreign key: `table`.`column` references `references`.`referenced`.
struct ForeignKey {
    std::string table, column, references, referenced;
};

/// A column's rule that comes from a foreign key: `column` of `table` references a masked one.
struct Inherited {
    std::string table, column, from;  ///< from: "schema.table.column" it references.
    Transform transform;
};
/// The columns that reference a masked column by one of `keys` and have no rule of their own
/// (a star aside), masked the same way so that joins on them still work, followed through
/// chains of keys. A column naming its own rule is a contradiction, added to `problems`.
std::vector<Inherited> inherit(const Rules& rules, const std::vector<ForeignKey>& keys, std::vector<std::string>& problems);

/// Everything wrong with `rules` for tonight's `tables`, one line each, naming the file and
/// line (or the table and column that no rule covers); empty when the rules hold.
std::vector<std::string> problems(const Rules& rules, const std::vector<TableFacts>& tables);

}  // namespace pixrep::mask
