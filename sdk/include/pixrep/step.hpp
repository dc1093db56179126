#pragma once
// The whole plugin ABI: a step is one class implementing Step, built as a shared library with
// PIXREP_STEP(Class) (see step_export.hpp). Bump kStepAbiVersion whenever this header or anything
// it includes changes in a way that breaks already-built plugins.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/config.hpp>

#include <pixrep/context.hpp>
#include <pixrep/log.hpp>
#include <pixrep/options.hpp>
#include <pixrep/plan.hpp>

namespace pixrep {

/// Version of the step ABI; the host refuses plugins built for another one.
constexpr int kStepAbiVersion = 14;

/// What went wrong, which decides the exit code and whether a retry may help.
enum class ErrorKind {
    config,     ///< Invalid configuration or environment: fix and rerun; exit 2, never retried.
    input,      ///< Unusable input (archive, API answer): exit 2, never retried, target untouched.
    transient,  ///< May heal by itself (network, backup not ready): retried.
    fatal       ///< Failed; retrying would not help: exit 1.
};

/// The exception steps throw; its message is one line naming the culprit.
class BOOST_SYMBOL_VISIBLE StepError : public std::runtime_error {
public:
    /// An error of kind `kind`; a transient one may say how long to wait before a retry.
    StepError(ErrorKind kind, const std::string& msg, std::chrono::milliseconds retry_after = {})
        : std::runtime_error(msg), kind_(kind), retry_after_(retry_after) {}
    /// The kind of failure.
    ErrorKind kind() const { return kind_; }
    /// Shortest wait before a retry can succeed (0 = the host's backoff decides).
    std::chrono::milliseconds retry_after() const { return retry_after_; }

private:
    ErrorKind kind_;
    std::chrono::milliseconds retry_after_;
};

/// How a step describes itself.
struct StepInfo {
    std::string name;                 ///< Plugin name, equal to its folder, library and config name.
    std::string version;              ///< The plugin's own version.
    std::string description;          ///< One line, shown by `plugins` and `check`.
    bool connects_to_target = false;  ///< The step opens connections to the target: only then does env().target() hold the password.
    bool restorer = false;            ///< The step that runs the restore: its context is a RestoreContext (restore_context()).
    bool swaps = false;               ///< Built beside, the step whose commit() swaps tonight's copy in: listed before the restorer.
};

/// The restorer's own verbs, for the step whose StepInfo says `restorer`; throws
/// StepError(config) for any other step.
inline RestoreContext& restore_context(RunContext& ctx) {
    if (auto* r = dynamic_cast<RestoreContext*>(&ctx)) return *r;
    throw StepError(ErrorKind::config, "this step uses the restorer's verbs but its StepInfo does not say restorer");
}

/// A replication step. Within a run the host calls prepare() on every step in config order, then
/// execute() on every step, then (when every execute() succeeded) commit() on every step, then
/// finish() on every step whatever happened.
class BOOST_SYMBOL_VISIBLE Step {
public:
    virtual ~Step() = default;
    /// Name, version and description; callable at any time.
    virtual StepInfo info() const = 0;
    /// Declares every option, each bound to the member that stores it; called once, first.
    virtual void declare(OptionTable& options) { (void)options; }
    /// Checks the meaning of the values now stored in the options' members; no side effect.
    /// Throws StepError(config) naming the option.
    virtual void configure(Logger& log) { (void)log; }
    /// Under the run's lock, before the run is recorded or anything written anywhere: what can be
    /// checked by reading only (the source is not the target, the servers' roles and versions).
    /// Throws StepError(config) to refuse the run with nothing written; transient to retry.
    virtual void check(const RunEnv& env, Logger& log) { (void)env, (void)log; }
    /// Before anything touches the target: fetch and verify the backup, shape the restore plan,
    /// check and write everything execute() will need.
    virtual void prepare(RunContext& ctx) { (void)ctx; }
    /// Acts on the target, under the run's lock; skipped on dry runs.
    virtual void execute(RunContext& ctx) { (void)ctx; }
    /// Once every step executed: the step that swaps tonight's copy in does it here, and the
    /// steps after it act on the live names (what hangs on kept tables). Skipped on dry runs.
    virtual void commit(RunContext& ctx) { (void)ctx; }
    /// Always called once at the end of a run with its outcome; must not throw.
    virtual void finish(RunContext& ctx, const RunOutcome& outcome) { (void)ctx, (void)outcome; }
    /// Source steps, outside any run (SCHEDULE=on-backup): the id of the backup prepare() would
    /// take now, asked without fetching it; nullopt when the step cannot tell. Throws StepError.
    virtual std::optional<std::string> newest_backup(const RunEnv& env, Logger& log) { (void)env, (void)log; return std::nullopt; }
    /// Outside any run: something the operators must hear of, as `event` (e.g.
    /// "database_backup_failed") and a one-line `message`; steps that report (webhook) pass it on.
    /// Must not throw.
    virtual void notify(const RunEnv& env, Logger& log, const std::string& event, const std::string& message) {
        (void)env, (void)log, (void)event, (void)message;
    }
};

}  // namespace pixrep
