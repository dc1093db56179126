#pragma once
// A live source's table that changed a little keeps yesterday's copy and takes only its changes:
// the rows written since the last restore (read from tonight's snapshot, masked as a rebuild
// would mask them) replace those of the same key, and the rows gone at the source are deleted.
// They are read while the snapshot is held (prepare) and applied once tonight's build is
// complete and checked (commit, before the swap), every such table in one transaction, so that
// readers see all of them change at once and a failed night changes none.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pixrep/step.hpp>

#include "unchanged.hpp"

namespace pixrep::reuse {

/// One table's changes, as read from the source.
struct Changes {
    std::string table;                 ///< "schema.table".
    std::string name;                  ///< Quoted: the same at the source and on the target (kept in the live schema).
    std::string key;                   ///< Its single-column integer primary key.
    std::vector<std::string> columns;  ///< The rows' columns, as the data entry's COPY names them.
    std::string rows;                  ///< The rows written since, in COPY text, one per line, masked.
    std::int64_t written = 0;          ///< How many.
    std::int64_t deleted = 0;          ///< Rows of yesterday's copy gone at the source.
    std::int64_t source_rows = 0;      ///< Tonight's snapshot's row count: the copy's, once changed.
    std::string source_keys;           ///< When rows were deleted: every key at the source, one per line.
    std::int64_t bytes_read = 0;       ///< From the source.
};

/// Reads the changes of `table` (its TABLE DATA entry `data`) since `last`, counted tonight as
/// `tonight`, and what yesterday's copy holds of them; nullopt and `why` when they cannot be
/// applied (a key that is not an integer, over `max_bytes` of rows, a copy not as left). Throws
/// StepError.
std::optional<Changes> read_changes(RunContext& ctx, const TocEntry& table, const TocEntry& data, const std::string& key, const LiveRows& last,
                                    const LiveCount& tonight, std::int64_t max_bytes, std::string& why);

/// Applies `all` to the target's tables in one transaction; each must then hold its source's
/// row count, else nothing is applied. Throws StepError.
void apply_changes(RunContext& ctx, const std::vector<Changes>& all);

}  // namespace pixrep::reuse
