#pragma once
// What every source step does once its dump is on disk: verify it, read its table of contents
// and hand both to the following steps.
#include <pixrep/step.hpp>

namespace pixrep::common {

/// Verifies `backup.dump` (whole file, readable TOC) and stores it and its plan in `ctx`.
/// Throws StepError(input) when the dump is unusable; the target has not been touched yet.
void adopt_backup(RunContext& ctx, Backup backup);

}  // namespace pixrep::common
