#pragma once
// Whether a kept table can take only its new rows tonight, or must be reloaded in full, and
// why. Pure: the facts are read elsewhere.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace pixrep::answers {

/// The columns of a CREATE TABLE as pg_dump writes it, one "name type" each, in order.
std::vector<std::string> columns_of(const std::string& create_table);

/// What the target holds of a kept table.
struct TargetTable {
    bool exists = false;
    bool empty = true;
    std::vector<std::string> columns;    ///< "name type", as columns_of() writes them.
    std::optional<std::int64_t> max_key; ///< Its largest key.
};

/// What the backup holds of it.
struct BackupTable {
    std::vector<std::string> columns;
    std::optional<std::int64_t> max_key;  ///< nullopt when the backup's table has no row.
};

/// The decision and why.
struct Decision {
    bool incremental = false;
    std::string reason;
};

/// Incremental, unless the table is missing or empty on the target, its columns differ from
/// the backup's, the target holds keys beyond the backup's largest, or the last full reload
/// (`last_full`, nullopt = never) is older than `every` (0 = never due).
Decision decide(const TargetTable& target, const BackupTable& backup, std::optional<std::time_t> last_full, std::time_t now,
                std::chrono::seconds every, const std::string& key);

/// The labels of `CREATE TYPE ... AS ENUM (...)` as pg_dump writes it, in order; nullopt when
/// `sql` is not an enum's definition.
std::optional<std::vector<std::string>> enum_labels(const std::string& sql);

/// What a kept table's type, domain or function needs tonight.
struct SupportCheck {
    bool same = true;                 ///< Usable as it is on the target (after `statements`).
    std::vector<std::string> statements;  ///< ALTER TYPE ... ADD VALUE for the backup's new labels.
    std::string reason;               ///< Why not, when !same.
};

/// The enum `type` (quoted, qualified) has `target` labels; the backup has `backup`. Labels the
/// backup adds are added in place (ADD VALUE ... BEFORE/AFTER, which is safe); a label removed,
/// renamed or moved needs the table reloaded in full.
SupportCheck compare_enum(const std::string& type, const std::vector<std::string>& target, const std::vector<std::string>& backup);

/// A domain is the same when the backup's CREATE DOMAIN has the target's base type, NOT NULL,
/// and exactly the target's CHECK constraints (pg_get_constraintdef's text).
SupportCheck compare_domain(const std::string& sql, const std::string& base_type, bool not_null, const std::vector<std::string>& checks);

/// A function is the same when the backup's CREATE FUNCTION holds the target's body verbatim.
SupportCheck compare_function(const std::string& sql, const std::string& body);

}  // namespace pixrep::answers
