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

/// The rows of data entry `entry` wherever the run has them: from its live source (see
/// RunContext::serve()) with `where` applied there, else from the dump, where `where` is not
/// applied (the caller filters what it reads). Returns the rows read from a live source, -1 from
/// a dump. Throws StepError.
std::int64_t read_rows(const RunContext& ctx, const TocEntry& entry, const std::string& where,
                       const std::function<void(const std::vector<std::string>&)>& on_header,
                       const std::function<void(std::string_view)>& on_row, const std::function<bool()>& stop);

}  // namespace pixrep::common
