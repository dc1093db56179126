#pragma once
// What must wait for the new rows of the tables kept on the target. Pure.
#include <vector>

#include <pixrep/context.hpp>

namespace pixrep::restore {

/// Entries pg_restore would create while new rows are still being appended, yet must come after
/// them: foreign keys from or to an appended table (they check its rows) and its triggers (they
/// would fire on them).
std::vector<DumpId> after_appends(const RestorePlan& plan, const std::vector<Append>& appends);

/// The tables kept on the target whose rows take no append tonight (reused as they were): loaded
/// from the start, for the work that waits for them.
std::vector<std::string> kept_whole(const RestoreContext& ctx);

}  // namespace pixrep::restore
