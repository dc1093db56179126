#pragma once
// Child processes (pg_restore) with line-by-line output, a periodic tick for progress and
// heartbeats, and prompt termination when the run is asked to stop.
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace pixrep::common {

struct ProcessSpec {
    std::vector<std::string> argv;                            // argv[0] is looked up in PATH
    std::vector<std::pair<std::string, std::string>> env;     // added to the inherited environment
};

struct ProcessHooks {
    std::function<void(const std::string&)> on_stdout;  // one call per line, without '\n'
    std::function<void(const std::string&)> on_stderr;
    std::function<void()> on_tick;                      // called every `tick` while the child runs
    std::chrono::milliseconds tick{1000};
    const std::atomic<bool>* stop = nullptr;            // when set, the child is terminated
};

/// Runs the process to completion; returns its exit code (128+signal when killed).
/// Throws std::runtime_error when it cannot be started.
int run_process(const ProcessSpec& spec, const ProcessHooks& hooks);

/// Runs and collects stdout and stderr; returns the exit code.
int capture_process(const ProcessSpec& spec, std::string& out, std::string& err);

}  // namespace pixrep::common
