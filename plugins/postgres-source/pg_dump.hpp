#pragma once
// The real pg_dump, run against the live source: the schema only, in the run's snapshot, or a
// whole directory dump with --jobs (SOURCE_MODE=dump). The password goes through the child's
// environment, never its command line; stderr is logged line by line.
#include <filesystem>
#include <string>
#include <vector>

#include <pixrep/step.hpp>

#include "process.hpp"
#include "source_url.hpp"

namespace pixrep::live {

/// The pg_dump of the source server's major version (`server_major`) when one is installed
/// (beside the run's pg_restore, on PATH, in /usr/lib/postgresql/*/bin), else the oldest newer
/// one: a newer pg_dump writes settings of its own version and reads the source's internal
/// column options (a PostgreSQL 17.12 server's pg_attver), which an older target refuses.
/// Throws StepError(config) when none is at least the source's version: pg_dump refuses a newer
/// server.
Tool find_pg_dump(const RunEnv& env, int server_major);

/// The one to use among `found`, by the rule above; nullptr when none will do. Pure.
const Tool* pick_pg_dump(const std::vector<Tool>& found, int server_major);

/// What to dump.
struct DumpJob {
    std::filesystem::path out;  ///< File (custom format) or folder (directory format).
    std::string snapshot;       ///< Exported snapshot to dump from; "" = pg_dump takes its own.
    bool schema_only = false;   ///< --schema-only, custom format; else the whole database, directory format.
    int jobs = 1;               ///< --jobs, directory format only.
};

/// The command line and environment of `pg_dump` for `job` against `url`: the password in
/// PGPASSWORD, a TLS key's passphrase in the service file at `service_file` (written by the
/// caller), no secret in argv. Pure.
common::ProcessSpec pg_dump_spec(const Tool& pg_dump, const SourceUrl& url, const DumpJob& job, const std::filesystem::path& service_file);

/// Runs `pg_dump` for `job` against `url`. Throws StepError: transient when the connection
/// broke, config for a refusal that will not heal, fatal when the run stopped.
void run_pg_dump(RunContext& ctx, const Tool& pg_dump, const SourceUrl& url, const DumpJob& job);

}  // namespace pixrep::live
