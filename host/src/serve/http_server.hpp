#pragma once
// The web process: /health for the platform, /status (JSON) for monitors, / (a page) for people,
// and, with TRIGGER_TOKEN, the endpoints that ask for a run (trigger.hpp).
#include <atomic>
#include <filesystem>
#include <string>

#include "logger.hpp"
#include "trigger.hpp"

namespace pixrep {

/// Where the web process reads the runs' history.
struct StatusSource {
    std::string conninfo;             ///< The target ("" when DATABASE_URL is not set).
    std::string schema;               ///< The tool's home schema.
    std::filesystem::path work_dir;   ///< Where last-run.json may be.
    TriggerSource trigger;            ///< POST /runs, GET /runs/<id>, the notifier's hook.
};

/// Serves /health, /status and / on `port` until a stop is requested; returns the exit code.
/// Each connection gets its own thread and time limits: no client, and no silent database,
/// keeps /health from answering.
int serve_http(int port, const StatusSource& source, HostLogger& log, const std::atomic<bool>* stop);

}  // namespace pixrep
