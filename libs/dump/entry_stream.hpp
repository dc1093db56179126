#pragma once
// One table's rows, streamed out of the dump in constant memory, whatever the table's size:
// decompressed here when zlib (or nothing) compressed the dump, else by the run's own
// pg_restore (--data-only, one entry in its list, to a pipe).
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <pixrep/step.hpp>

namespace pixrep::common {

/// `entry` with what the verification found of its data (rows, largest first key, offset), once
/// its block has arrived: waits for it while the dump is still arriving. Throws StepError.
TocEntry arrived_entry(const RunContext& ctx, const TocEntry& entry);

/// Streams the COPY rows of data entry `entry` of `backup`: `on_header(columns)` once, then
/// `on_row(row)` for each row; `stop` ends it early. Throws StepError (fatal when stopped,
/// input when the entry cannot be read).
void stream_rows(const RunEnv& env, const Backup& backup, const TocEntry& entry,
                 const std::function<void(const std::vector<std::string>&)>& on_header,
                 const std::function<void(std::string_view)>& on_row, const std::function<bool()>& stop);

}  // namespace pixrep::common
