#pragma once
// The whole plugin ABI: a step is one class implementing this interface, built as a shared
// library with PIXREP_STEP(Class) (see step_export.hpp). Bump kStepAbiVersion whenever this
// header or anything it includes changes in a way that breaks already-built plugins.
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/config.hpp>

#include <pixrep/context.hpp>
#include <pixrep/log.hpp>
#include <pixrep/options.hpp>
#include <pixrep/plan.hpp>

namespace pixrep {

/// Version of the step ABI; the host refuses plugins built for another one.
constexpr int kStepAbiVersion = 2;

/// What went wrong, which decides the exit code and whether a retry may help.
enum class ErrorKind {
    config,     ///< Invalid configuration or environment: fix and rerun; never retried.
    input,      ///< Unusable input (archive, API answer): never retried, target untouched.
    transient,  ///< May heal by itself (network, backup not ready): retried.
    fatal       ///< Failed; retrying would not help.
};

/// The exception steps throw; its message is one line naming the culprit.
class StepError : public std::runtime_error {
public:
    /// Builds an error of kind `kind` with a one-line message.
    StepError(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
    /// The kind of failure.
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

/// How a step describes itself.
struct StepInfo {
    std::string name;                 ///< Plugin name, equal to its folder and config name.
    std::string version;              ///< The plugin's own version.
    std::string description;          ///< One line, shown by `plugins` and `check`.
    std::vector<OptionSpec> options;  ///< Every option the step accepts.
};

/// A replication step. Within a run the host calls prepare() on every step in config order,
/// then execute() on every step, then finish() on every step whatever happened.
class BOOST_SYMBOL_VISIBLE Step {
public:
    virtual ~Step() = default;
    /// Name, version, description and options; callable before configure().
    virtual StepInfo info() const = 0;
    /// Receives the typed options; checks their meaning. No side effect allowed. Throws StepError.
    virtual void configure(const Options& options, Logger& log) = 0;
    /// Before anything touches the target: fetch and verify the backup, shape the restore plan.
    virtual void prepare(RunContext&) {}
    /// Acts on the target (skipped on dry runs).
    virtual void execute(RunContext&) {}
    /// Always called at the end of a run with its outcome; must not throw.
    virtual void finish(RunContext&, const RunOutcome&) {}
};

}  // namespace pixrep
