#pragma once
// Finding the pg_restore a run uses: PG_RESTORE_BIN when set, else the newest installed.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <pixrep/context.hpp>

namespace pixrep {

/// "pg_restore (PostgreSQL) 17.6 (Debian 17.6-1)" -> {"17.6", 17}; nullopt when unreadable.
std::optional<std::pair<std::string, int>> parse_tool_version(const std::string& version_output);

/// The newest of `found` by version (ties: the first).
std::optional<Tool> newest(const std::vector<Tool>& found);

/// Candidate paths of pg_restore: /usr/lib/postgresql/*/bin, then each directory of `path_env`.
std::vector<std::filesystem::path> pg_restore_candidates(const std::string& path_env);

/// True when `real` (a candidate, symlinks resolved) is Debian's pg_wrapper, which only runs one
/// of the /usr/lib/postgresql binaries probed anyway: asking it its version costs a Perl start. Pure.
bool is_pg_wrapper(const std::filesystem::path& real);

/// The pg_restore to use: `override` (PG_RESTORE_BIN) when not empty, else the newest
/// candidate. Throws StepError(config) when none runs, naming where it looked and what to install.
Tool find_pg_restore(const std::string& override_path);

}  // namespace pixrep
