#pragma once
// Connections to the target for the steps that run SQL themselves: PgConns made with the run's
// connection settings (timeouts, keepalives) within a deadline, named in pg_stat_activity, and
// whose running statement is cancelled as soon as the run must stop.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "pg_conn.hpp"

#include <pixrep/step.hpp>

namespace pixrep::common {

class Session {
public:
    /// Connects to the run's target as "pix-db-replication <purpose>". Throws connect_error();
    /// when `stoppable`, also gives up connecting as soon as the run must stop.
    Session(const RunEnv& env, const std::string& purpose, bool stoppable = false);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// The connection, for statements that cannot wait long.
    Connection& conn() { return conn_->pqxx(); }
    /// Runs `f(conn())`, cancelling its statement when the run must stop; then throws
    /// StepError(fatal) saying it stopped.
    template <class F>
    decltype(auto) run(F&& f) {
        busy_ = true;
        try {
            if constexpr (std::is_void_v<decltype(f(conn()))>) {
                f(conn());
                busy_ = false;
            } else {
                decltype(auto) r = f(conn());
                busy_ = false;
                return r;
            }
        } catch (...) {
            busy_ = false;
            if (cancelled_) throw StepError(ErrorKind::fatal, "stopped: the statement was cancelled");
            throw;
        }
    }

private:
    void watch();
    const RunEnv& env_;
    std::unique_ptr<PgConn> conn_;
    std::atomic<bool> busy_{false}, cancelled_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    bool closing_ = false;
    std::thread watcher_;
};

/// Connects to the run's target as "pix-db-replication <purpose>" within a minute, giving up
/// when the run must stop if `stoppable` (a clean-up after a stop must still connect), through a
/// connection an earlier session handed back when one answers. Throws StepError.
std::unique_ptr<PgConn> connect_target(const RunEnv& env, const std::string& purpose, bool stoppable);

/// Connects to `target` as "pix-db-replication <purpose>", through a connection `take` hands
/// over (one an earlier session handed back, nullptr when none) when one answers at once; the
/// others it hands over are closed. `stopping`, when set, ends the wait. Throws StepError.
std::unique_ptr<PgConn> connect_reusing(const Target& target, const std::string& purpose, const std::function<PGconn*()>& take,
                                        const std::function<bool()>& stopping);

/// The error of a step that connects to the target without saying so in its StepInfo (it was
/// given no connection string).
StepError not_connecting(const std::string& purpose);

/// Double-quotes an identifier for SQL.
std::string quote_ident(const std::string& s);

/// A name as SQL writes it: quoted only when it must be, as pg_dump does.
std::string sql_name(const std::string& name);

/// `names`, each double-quoted, separated by ", " (a column list).
std::string quote_ident_list(const std::vector<std::string>& names);

/// Single-quotes a literal for SQL.
std::string quote_literal(const std::string& s);

/// Single-quotes a value for a libpq connection string (backslash before ' and \).
std::string conninfo_value(const std::string& v);

/// True when every host of a connection (libpq's `host` and `hostaddr`, comma-separated lists)
/// is this machine: a Unix socket, localhost, 127.0.0.0/8 or ::1. Pure.
bool on_loopback(const std::string& host, const std::string& hostaddr);

/// The sslmode a connection gets when its URL sets none: "require" to any other machine (libpq's
/// own default, "prefer", reads in clear text when the server or a proxy offers no TLS), "" (left
/// to libpq) on loopback. Pure.
std::string default_sslmode(const std::string& host, const std::string& hostaddr);

}  // namespace pixrep::common
