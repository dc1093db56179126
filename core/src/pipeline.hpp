#pragma once
// Load every plugin, validate everything, then run: prepare all steps, lock the target, execute
// all steps, finish all steps; retried as a whole on transient failures.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "logger.hpp"
#include "plugin_loader.hpp"
#include "settings.hpp"

namespace pixrep {

/// Exit codes of the program (documented in the README).
enum ExitCode : int {
    kExitOk = 0,
    kExitRunFailed = 1,
    kExitInvalid = 2,    ///< configuration, environment or input invalid; nothing was touched
    kExitLocked = 3,     ///< another run holds the target's lock
    kExitSigint = 130,
    kExitSigterm = 143,
};

/// Host settings of the [run] table.
const std::vector<OptionSpec>& run_option_specs();

/// A configured step: its config entry, its plugin and its validated options.
struct PipelineStep {
    StepConfig config;
    LoadedStep loaded;
    Options options;
    const std::string& name() const { return config.plugin; }
};

/// Thrown when the target's lock is held by another run.
class LockBusy : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Pipeline {
public:
    Pipeline(PipelineConfig config, HostLogger& log, EnvLookup env);

    /// Loads every plugin and validates every option; throws StepError(config) on the first problem.
    void load();
    /// Prints the validated plan of steps (for `check`).
    void describe(std::ostream& out) const;
    /// Runs with retries; returns the exit code.
    int run(bool dry_run, const std::atomic<bool>* stop);

    const std::vector<PipelineStep>& steps() const { return steps_; }
    const Options& run_options() const { return run_options_; }
    /// Warnings produced while resolving options (e.g. RESTORE_FK_CONSTRAINTS=yes).
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    /// One attempt: prepare all, lock, execute all. Throws on failure, with outcome.failed_step set.
    void attempt(RunContext& ctx, RunOutcome& outcome);
    void print_plan(const RunContext& ctx) const;
    void report(const RunContext& ctx, const RunOutcome& outcome) const;
    void record_status(const RunContext& ctx, const RunOutcome& outcome, int code) const;

    PipelineConfig config_;
    HostLogger& log_;
    EnvLookup env_;
    Options run_options_;
    std::vector<PipelineStep> steps_;
    std::vector<std::string> warnings_;
};

/// Prefix of the target database's comment that carries the last run's outcome.
inline constexpr const char* kStatusPrefix = "pix-db-replication last run: ";

/// The last run's outcome as recorded by a run on `target_url` (or in `work_dir`), if any.
std::optional<nlohmann::json> read_status(const std::string& target_url, const std::filesystem::path& work_dir);

/// Runs the pipeline on the config's schedule until a stop is requested; returns the exit code.
int run_schedule(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop);

/// Serves /health and /status (the last run's outcome) on `port` until a stop is requested.
int serve_http(int port, const std::string& target_url, const std::filesystem::path& work_dir, HostLogger& log,
               const std::atomic<bool>* stop);

/// Resolves the [run] table alone (used by commands that need no plugin).
Options resolve_run_options(const PipelineConfig& config, const EnvLookup& env, std::vector<std::string>* warnings);

}  // namespace pixrep
