#pragma once
// What every source step does with its dump: check that the run's pg_restore can read it (as
// soon as its format version is known), verify it whole while it arrives, and hand it over.
#include <memory>

#include <pixrep/step.hpp>

#include "dump.hpp"

namespace pixrep::common {

/// A scanner for the dump `label`, which refuses at once an archive `pg_restore` cannot read,
/// naming the archive's format, the pg_restore found and what to install.
std::unique_ptr<DumpScanner> scanner_for(const std::string& label, const Tool& pg_restore);

/// Verifies a dump already on disk (custom file or directory), whole. Throws StepError(input).
std::unique_ptr<DumpScanner> verify_local_dump(const std::filesystem::path& dump, const RunEnv& env);

/// Runs `f` (which feeds a scanner); a DumpError becomes StepError(input): bad input, never retried.
template <class F>
void scanning(F&& f) {
    try {
        f();
    } catch (const DumpError& e) {
        throw StepError(ErrorKind::input, e.what());
    }
}

/// Hands the verified dump to the run: checks that the run's pg_restore lists the same table of
/// contents, builds the plan from the scan and adopts both. Throws StepError(input).
void adopt_backup(RunContext& ctx, Backup backup, const DumpScanner& scan);

}  // namespace pixrep::common
