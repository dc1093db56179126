#pragma once
// Runs asked for over HTTP, on `serve`: POST /runs (Authorization: Bearer TRIGGER_TOKEN), GET
// /runs/<id> (any token that reads), and POST /hooks/scalingo/<HOOK_TOKEN> for Scalingo's
// notifier. An endpoint whose token is not set answers 404; tokens are compared in constant time
// and never logged; bodies are small and parsed strictly; writes are limited per minute.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "access.hpp"

namespace pixrep {

/// What POST /runs asks: its body ("" or a JSON object with optional string "reason" and
/// "requested_by"). Throws std::invalid_argument saying what is wrong.
struct RunAsk {
    std::string reason, requested_by;
};
RunAsk parse_run_ask(const std::string& body);

/// What a Scalingo notifier event says, for app `app`.
struct HookEvent {
    enum class Kind { backup_done, backup_failed, other } kind = Kind::other;
    std::string type;       ///< The event's type, as sent.
    std::string app;        ///< The app it is about.
    std::string backup_id;  ///< The backup it names, "" when none.
    bool ours = false;      ///< About the configured app.
};
/// Parses Scalingo's notifier payload (the event object, or {"event": {...}}). Throws
/// std::invalid_argument when it is not one.
HookEvent parse_hook(const std::string& body, const std::string& app);

/// Where the trigger endpoints keep their requests, and their limits.
struct TriggerSource {
    std::string conninfo, label;                 ///< The target ("" when DATABASE_URL is not set).
    std::string schema;                          ///< The tool's home schema.
    bool runs = false;                           ///< TRIGGER_TOKEN is set: /runs exists.
    std::string hook_token;                      ///< HOOK_TOKEN; "" = the hook does not exist.
    std::string app;                             ///< SCALINGO_APP, for the notifier's events.
    std::chrono::milliseconds min_interval{0};   ///< TRIGGER_MIN_INTERVAL, to tell when a request will be served.
    RateLimit* writes = nullptr;                 ///< Requests recorded per minute at most (none = no limit).
};

/// An HTTP answer.
struct Answer {
    int status = 200;
    std::string body;
    std::string log;      ///< What to log about it ("" = nothing), never a token.
    int retry_after = 0;  ///< Seconds, for a 429.
};

/// Answers `method` `path` (query removed) for a caller with `access` and `body`, when the path
/// is a trigger endpoint; nullopt otherwise.
std::optional<Answer> answer_trigger(const std::string& method, const std::string& path, Access access, const std::string& body,
                                     const TriggerSource& source);

}  // namespace pixrep
