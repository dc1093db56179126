#pragma once
// A run's outcome as the history keeps it, and where the web process finds the history.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <pixrep/context.hpp>

namespace pixrep {

/// The outcome of a run as JSON: status, exit code, attempts, error, backup, duration, time per
/// step, rows per table and the other figures of its report.
nlohmann::json status_json(const Backup* backup, const RunOutcome& outcome, int code, const RunReport& report);

/// Writes `status` to <work_dir>/last-run.json (for a look on the machine); failures are logged.
void write_last_run(const std::filesystem::path& work_dir, const nlohmann::json& status, Logger& log);

/// The last `limit` runs, newest first: from the tool's home in the target when it answers
/// within `timeout`, else the local last-run.json, else nothing.
nlohmann::json read_history(const std::string& conninfo, const std::string& schema, int limit,
                            const std::filesystem::path& work_dir, std::chrono::milliseconds timeout);

/// What steps remembered in the tool's home, by step; empty when the target does not answer
/// within `timeout` or has no home yet (for dry runs, which hold no session).
std::map<std::string, std::map<std::string, std::string>> read_state(const std::string& conninfo, const std::string& schema,
                                                                      std::chrono::milliseconds timeout);

}  // namespace pixrep
