#pragma once
// Pure logic of the Scalingo source, kept apart from HTTP so it can be unit-tested: parsing of
// the API's answers and the choice of addon and backup.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pixrep::scalingo {

/// One entry of the database API's backup list.
struct BackupInfo {
    std::string id, name, status, created_at;
    double created = 0;       ///< Seconds since the epoch, parsed from created_at.
    long long size = -1;      ///< Archive size in bytes, -1 when null.
};

/// Parses RFC 3339 ("2026-11-24T01:02:03.5+02:00", "...Z") to seconds since the epoch.
std::optional<double> parse_rfc3339(const std::string& text);

/// The PostgreSQL addon's id among an app's addons (`{"addons": [...]}`), or `wanted` when set.
/// Throws StepError: none (input), several without `wanted` (config), `wanted` absent (config).
std::string pick_addon(const nlohmann::json& addons, const std::string& app, const std::string& wanted);

/// Parses `{"database_backups": [...]}`. Throws StepError(input) on a malformed answer.
std::vector<BackupInfo> parse_backups(const nlohmann::json& body);

/// The newest `done` backup by parsed creation time, or the one with id `wanted`.
/// Throws StepError: no backup at all (input), none done yet (transient), `wanted` missing (config).
BackupInfo pick_backup(const std::vector<BackupInfo>& backups, const std::string& wanted);

/// The `error` of an API error body, or a one-line excerpt when it is not JSON.
std::string error_text(const std::string& body);

/// Parses an answer of call `what`; throws StepError(input) when it is not JSON.
nlohmann::json parse_json(const std::string& body, const std::string& what);

}  // namespace pixrep::scalingo
