#pragma once
// Runs asked for over HTTP, on `serve`: POST /runs (Authorization: Bearer TRIGGER_TOKEN), GET
// /runs/<id>, and POST /hooks/scalingo/<TRIGGER_TOKEN> for Scalingo's notifier. Without
// TRIGGER_TOKEN every one of them answers 404; tokens are compared in constant time and never
// logged; bodies are small and parsed strictly. The parsing and the answers are pure.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace pixrep {

/// True when `a` equals `b`, in a time that does not depend on where they differ.
bool same_secret(const std::string& a, const std::string& b);

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

/// Where the trigger endpoints keep their requests.
struct TriggerSource {
    std::string conninfo, label;  ///< The target ("" when DATABASE_URL is not set).
    std::string schema;           ///< The tool's home schema.
    std::string token;            ///< TRIGGER_TOKEN; "" = the endpoints do not exist.
    std::string app;              ///< SCALINGO_APP, for the notifier's events.
};

/// An HTTP answer.
struct Answer {
    int status = 200;
    std::string body;
    std::string log;  ///< What to log about it ("" = nothing), never a token.
};

/// Answers `method` `path` (query removed) with `authorization` and `body`, when the path is a
/// trigger endpoint; nullopt otherwise.
std::optional<Answer> answer_trigger(const std::string& method, const std::string& path, const std::string& authorization,
                                     const std::string& body, const TriggerSource& source);

}  // namespace pixrep
