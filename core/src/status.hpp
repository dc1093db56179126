#pragma once
// The last run's outcome, where the web process (another container) can read it.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <pixrep/context.hpp>

namespace pixrep {

/// Prefix of the target database's comment that carries the last run's outcome.
inline constexpr const char* kStatusPrefix = "pix-db-replication last run: ";

/// The outcome of a run as JSON.
nlohmann::json status_json(const Backup* backup, const RunOutcome& outcome, int code);

/// Stores `status` in the target and in `work_dir`; failures are logged, never thrown.
void record_status(const Target& target, const std::filesystem::path& work_dir, const nlohmann::json& status, Logger& log);

/// The last run's outcome as recorded on `target_conninfo` (or in `work_dir`), if any.
std::optional<nlohmann::json> read_status(const std::string& target_conninfo, const std::filesystem::path& work_dir);

}  // namespace pixrep
