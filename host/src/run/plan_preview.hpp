#pragma once
// What `plan` and `run --dry-run` print: the backup, what will be restored, what each step left
// out and why, and the work left to the restorer. Pure.
#include <string>
#include <vector>

#include <pixrep/context.hpp>

namespace pixrep {

/// The plan preview, as text; `pg_restore` is the one the run would restore with.
std::string format_plan(const Backup* backup, const RestorePlan& plan, const std::vector<Deferred>& work, const std::vector<Append>& appends,
                        const Tool& pg_restore);

}  // namespace pixrep
