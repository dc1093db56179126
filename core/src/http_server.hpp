#pragma once
// The web process: /health for the platform, /status for people and monitors.
#include <atomic>
#include <filesystem>
#include <string>

#include "logger.hpp"

namespace pixrep {

/// Serves /health and /status (the last run's outcome) on `port` until a stop is requested;
/// returns the exit code.
int serve_http(int port, const std::string& target_conninfo, const std::filesystem::path& work_dir, HostLogger& log,
               const std::atomic<bool>* stop);

}  // namespace pixrep
