#pragma once
// The web process's routes: /health for the platform; / and /status, public facts for anyone and
// the whole history for a token or a login; POST /login and /logout for people; the trigger
// endpoints (trigger.hpp). No answer names the live source's user, host or database.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "access.hpp"
#include "http_server.hpp"
#include "logger.hpp"
#include "trigger.hpp"

namespace pixrep {

/// What the web process reads and who may read it.
struct WebSettings {
    std::string conninfo;                  ///< The target ("" when DATABASE_URL is not set).
    std::string label;                     ///< The target, for messages.
    std::string schema;                    ///< The tool's home schema.
    std::filesystem::path work_dir;        ///< Where last-run.json may be.
    Tokens tokens;                         ///< STATUS_TOKEN, TRIGGER_TOKEN, HOOK_TOKEN.
    std::string app;                       ///< SCALINGO_APP.
    std::chrono::milliseconds min_interval{0};  ///< TRIGGER_MIN_INTERVAL.
    std::vector<std::string> hidden;       ///< Words no answer may hold (source_words()).
};

class WebApp {
public:
    WebApp(WebSettings settings, HostLogger& log);
    /// Answers `request`; never throws.
    HttpResponse handle(const HttpRequest& request);

private:
    HttpResponse route(const HttpRequest& request, Access access);
    HttpResponse login(const HttpRequest& request);
    Access access_of(const HttpRequest& request);

    WebSettings settings_;
    HostLogger& log_;
    Sessions sessions_{std::chrono::hours(12), 200};
    RateLimit writes_{10}, failures_{20};
    TriggerSource trigger_;
};

/// What anyone may know from `runs` (newest first): whether there is a copy, of which backup
/// date, restored when, whether a run is going on, and how the last one ended. Pure.
nlohmann::json public_facts(const nlohmann::json& runs);

}  // namespace pixrep
