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

}  // namespace pixrep::answers
