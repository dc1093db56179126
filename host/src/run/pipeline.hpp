#pragma once
// Load every plugin, validate everything, then run: lock the target, prepare all steps, execute
// all steps, finish all steps; retried as a whole on transient failures.
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "logger.hpp"
#include "plugin_loader.hpp"
#include "settings.hpp"
#include "target.hpp"

namespace pixrep {

/// Exit codes of the program (documented in the README).
enum ExitCode : int {
    kExitOk = 0,
    kExitRunFailed = 1,
    kExitInvalid = 2,  ///< configuration, environment or input invalid; nothing was touched
    kExitLocked = 3,   ///< another run holds the target's lock
    kExitSigint = 130,
    kExitSigterm = 143,
};

/// SCHEDULE's value for a run as soon as the source has a newer backup, instead of a cron expression.
inline constexpr const char* kOnBackup = "on-backup";

/// Host settings: the [run] table, each option bound to its field.
struct RunSettings {
    std::string database_url;
    std::string work_dir = "/tmp/pix-db-replication";
    std::vector<std::string> plugin_path;
    std::int64_t max_retry_count = 10;
    std::chrono::milliseconds retry_min_delay{1000};
    std::chrono::milliseconds retry_max_delay{15 * 60 * 1000};
    std::int64_t retries_timeout_minutes = 180;
    std::chrono::milliseconds lock_timeout{0};
    std::chrono::milliseconds lock_keepalive{60 * 1000};
    std::optional<std::string> schedule;
    std::string time_zone = "UTC";
    std::string pg_restore;
    std::string home_schema = "pix_db_replication";
    std::vector<std::string> grant_read_to;
    std::string refresh = "beside";
    std::string trigger_token;
    std::chrono::milliseconds trigger_poll{30'000};
    std::chrono::milliseconds trigger_min_interval{15 * 60'000};
    std::string status_token, hook_token;
    std::chrono::milliseconds backup_poll{10 * 60'000};
    std::string notifier_app;

    /// Declares the [run] options, bound to the fields above.
    void declare(OptionTable& t);
};

/// Resolves the [run] table; with `lenient`, nothing is required (commands that run nothing).
RunSettings resolve_run_settings(const PipelineConfig& config, const EnvLookup& env, std::vector<std::string>* warnings,
                                 bool lenient = false);

/// Every environment variable the configs and the command line may read, derived from the
/// option tables of the host and of `steps`, and from the ${VAR}s of `config`.
std::vector<std::string> known_variables(const PipelineConfig& config, const std::vector<LoadedStep>& steps);

/// What a step is to the order of a night built beside.
struct StepRole {
    std::string name, where;  ///< Its plugin, and "file:line" of its config entry.
    bool restorer = false, swaps = false;
};

/// Why `steps` (in config order) cannot build beside and swap in, naming the config line; "" when
/// they can: one restorer at most, and with it exactly one step that swaps, listed before it
/// (its commit swaps; the restorer's commit then makes what waits for the live names). Pure.
std::string step_order_problem(const std::vector<StepRole>& steps);

class HostEnv;

/// A configured step: its config entry, its plugin and its bound options.
struct PipelineStep {
    StepConfig config;
    LoadedStep loaded;
    const std::string& name() const { return config.plugin; }
};

class Pipeline {
public:
    Pipeline(PipelineConfig config, HostLogger& log, EnvLookup env);

    /// Loads every enabled step's plugin; throws StepError(config) on the first problem.
    void load();
    /// Adds a step built into the host (tests' fake steps), with its config table.
    void add_step(const std::string& name, LoadedStep step, RawTable options = {});
    /// Validates everything before anything runs: [run] options, every step's options and their
    /// meaning, DATABASE_URL's syntax, SCHEDULE, and the pg_restore to use.
    void validate();
    /// Prints the validated plan of steps (for `check`).
    void describe(std::ostream& out) const;
    /// Runs with retries; returns the exit code. `stop` is set by SIGTERM/SIGINT.
    int run(bool dry_run, const std::atomic<bool>* stop);
    /// A dry run hands its plan to `sink` instead of printing it (`masking-template`).
    void set_plan_sink(std::function<void(const RestorePlan&)> sink) { plan_sink_ = std::move(sink); }
    /// Replaces how the run holds the target (tests).
    void set_sessions(TargetSessionFactory f) { sessions_ = std::move(f); }
    /// Uses this pg_restore instead of looking for one (tests without PostgreSQL).
    void set_pg_restore(Tool t) { pg_restore_ = std::move(t); }

    const std::vector<PipelineStep>& steps() const { return steps_; }
    /// The newest backup the source would take now (Step::newest_backup()), nullopt when no step
    /// can tell. Throws StepError.
    std::optional<std::string> newest_backup(const std::atomic<bool>* stop);
    /// Passes `event` and `message` to every step's notify() (Step::notify()), outside any run.
    void notify(const std::string& event, const std::string& message, const std::atomic<bool>* stop);
    const RunSettings& settings() const { return settings_; }
    /// Warnings produced while resolving options (e.g. RESTORE_FK_CONSTRAINTS=yes).
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    /// Calls `f` with the environment of a call made outside any run (no password, dry).
    void outside_run(const std::atomic<bool>* stop, const std::function<void(const RunEnv&)>& f);
    struct Attempt;
    void attempt(Attempt& a, TargetSession* session);
    void finish_all(Attempt& a);
    /// Every step's check(), before the run is recorded.
    void check_all(const HostEnv& env);

    PipelineConfig config_;
    HostLogger& log_;
    EnvLookup env_;
    RunSettings settings_;
    Target target_;
    std::optional<Tool> pg_restore_;
    std::vector<PipelineStep> steps_;
    std::vector<std::string> warnings_;
    TargetSessionFactory sessions_ = postgres_sessions();
    std::function<void(const RestorePlan&)> plan_sink_;
};

}  // namespace pixrep
