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

/// Checks that the run's pg_restore lists the table of contents `scan` read from `backup.dump`
/// (whose data may still be arriving), fills the backup's format fields and returns the plan.
/// Throws StepError(input).
RestorePlan checked_plan(const RunEnv& env, Backup& backup, const DumpScanner& scan);

/// Once the whole dump is there: has pg_restore read the data the scan could not decompress
/// (lz4, zstd), then logs what was verified. Throws StepError(input).
void verified_whole(const RunEnv& env, Logger& log, const Backup& backup, const DumpScanner& scan);

/// Hands the verified dump to the run: checked_plan(), verified_whole(), then adopts both.
void adopt_backup(RunContext& ctx, Backup backup, const DumpScanner& scan);

/// For a source that streams its dump (RunContext::stream()): makes `scan` hand `backup`, at the
/// path `dump()` gives by then, with its checked plan to `arrival` once the table of contents
/// is read, and each data block once checked.
void announce(Arrival& arrival, DumpScanner& scan, Backup backup, std::function<std::filesystem::path()> dump);

}  // namespace pixrep::common
