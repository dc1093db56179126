#pragma once
// The target database from the host's side: DATABASE_URL parsed once into every form the steps
// need, and the session that holds the run's lock on the target for the whole run and keeps
// the run's record in the tool's home.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <pixrep/context.hpp>

#include "idle_connections.hpp"
#include "logger.hpp"

namespace pixrep {
namespace beside {
struct BuildNames;
}

/// Parses a libpq URL or key=value string (as libpq itself does) into a Target, adding a connect
/// timeout and TCP keepalives unless set. Throws StepError(config) naming `variable` when libpq
/// cannot parse it; the message never holds the password.
Target make_target(const std::string& conninfo, const std::string& variable);

/// Thrown when another run holds the target's lock.
class LockBusy : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What the host keeps in the target besides the replica.
struct HomeSettings {
    std::string schema;                ///< The tool's own schema.
    std::vector<std::string> readers;  ///< Roles granted read access to everything restored (GRANT_READ_TO).
};

/// The run's hold on the target: an advisory lock kept alive for the whole run, and the run's
/// record in the tool's home.
class TargetSession {
public:
    virtual ~TargetSession() = default;
    /// Connects and takes the lock, waiting up to `wait` for another run to end. Throws LockBusy,
    /// or StepError (config for refused credentials, transient for an unreachable server).
    virtual void lock(std::chrono::milliseconds wait) = 0;
    /// True once the lock's session is lost (connection closed): the run must stop.
    virtual bool lost() const = 0;
    /// Why it was lost, for the run's error.
    virtual std::string lost_reason() const = 0;
    /// How the lock's connection is encrypted ("TLSv1.3"), "" when it is not.
    virtual std::string encryption() const { return ""; }
    /// Creates the tool's home if needed, checks the readers exist, records the run as running;
    /// returns the run's id there.
    virtual std::int64_t begin() = 0;
    /// Saves the role's access rules on `schemas` before the emptying; returns how many are saved.
    virtual std::size_t save_access(const std::vector<std::string>& schemas) = 0;
    /// Re-applies them after the restore, and the readers' access; returns what could not be.
    /// With `built`, onto tonight's copy in its build schemas, before the swap.
    virtual std::vector<std::string> reapply_access(const std::vector<std::string>& schemas, const beside::BuildNames* built) = 0;
    /// What steps remembered in earlier runs, by step.
    virtual std::map<std::string, std::map<std::string, std::string>> recall_all() = 0;
    /// Stores what steps asked to remember, once a run succeeded.
    virtual void remember(const std::map<std::string, std::map<std::string, std::string>>& by_step) = 0;
    /// Records how run `id` ended; never throws.
    virtual void end(std::int64_t id, const nlohmann::json& outcome, Logger& log) = 0;
};

/// Makes the session of a run on `target`; `stopping` interrupts waits; its short sessions
/// (the run's record) share `idle` with the steps'.
using TargetSessionFactory = std::function<std::unique_ptr<TargetSession>(const Target& target, const HomeSettings& home,
                                                                           std::chrono::milliseconds keepalive, std::function<bool()> stopping,
                                                                           Logger& log, common::IdleConnections& idle)>;

/// The real one: a PostgreSQL session holding pg_advisory_lock, with a query every `keepalive`
/// so that no proxy finds it silent (Scalingo's closes silent sessions after 30 minutes).
TargetSessionFactory postgres_sessions();

/// The advisory lock key every run takes on its target ("pixrep").
inline constexpr long long kLockKey = 0x706978726570LL;

/// An SQL condition, true while some session of this database holds the run's lock. Pure.
std::string lock_held_sql();

}  // namespace pixrep
