#pragma once
// Child processes (pg_restore, pg_dump...) with line-by-line output, a periodic tick for
// progress and heartbeats, prompt termination when the run stops, and no survivor when the tool
// itself dies: each child gets SIGTERM from the kernel the moment its parent is gone
// (PR_SET_PDEATHSIG), and pg_restore forwards it to its workers and cancels their queries.
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace pixrep::common {

/// What to run.
struct ProcessSpec {
    std::vector<std::string> argv;                         ///< argv[0] is looked up in PATH unless it holds a '/'.
    std::vector<std::pair<std::string, std::string>> env;  ///< Added to the few variables a child inherits (inherited_variable()).
};

/// What to do while it runs.
struct ProcessHooks {
    std::function<void(const std::string&)> on_stdout;  ///< One call per line, without '\n'.
    std::function<void(const std::string&)> on_stderr;  ///< One call per line, without '\n'.
    std::function<void()> on_tick;                      ///< Called every `tick` while the child runs.
    std::chrono::milliseconds tick{1000};               ///< Period of on_tick.
    std::function<bool()> stop;                         ///< When it returns true, the child's group gets SIGTERM, then SIGKILL.
    std::chrono::milliseconds grace{5000};              ///< Between SIGTERM and SIGKILL.
};

/// True for the variables a child inherits from the tool (PATH, locale, time zone, libpq's TLS
/// and connection defaults); the tool's own settings and secrets stay in the tool. Pure.
bool inherited_variable(const std::string& name);

/// The environment of a child: the inherited variables of `parent`, then `spec.env`. Pure.
std::vector<std::string> child_env(const ProcessSpec& spec, char** parent);

/// Runs the process to completion; returns its exit code (128+signal when killed).
/// Throws std::runtime_error when it cannot be started.
int run_process(const ProcessSpec& spec, const ProcessHooks& hooks);

/// Runs and collects stdout and stderr; returns the exit code.
int capture_process(const ProcessSpec& spec, std::string& out, std::string& err);

}  // namespace pixrep::common
