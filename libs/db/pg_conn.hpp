#pragma once
// The one connection class of the engine: a libpqxx connection, made on libpq's asynchronous
// calls so that connecting has a deadline and a stop check, whose raw handle serves where libpqxx
// cannot: statements with a deadline of their own (the host's: the run's lock, the tool's home,
// /status), COPY, and cancellation. A server that accepts the connection and never answers
// cannot hold the run, nor the web process.
#include <libpq-fe.h>

#include <memory>

#include <pqxx/connection>
#include <pqxx/version>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pixrep::common {

/// A statement the server refused or could not finish: its message, SQLSTATE and whether the
/// connection broke, so that a caller can tell what may heal.
class PgError : public std::runtime_error {
public:
    PgError(const std::string& message, std::string sqlstate, bool broken)
        : std::runtime_error(message), sqlstate_(std::move(sqlstate)), broken_(broken) {}
    /// The server's SQLSTATE, "" when there was no answer.
    const std::string& sqlstate() const { return sqlstate_; }
    /// True when the connection is gone.
    bool broken() const { return broken_; }

private:
    std::string sqlstate_;
    bool broken_;
};

/// How long any connection of the tool waits for a server to finish the handshake: as the
/// conninfo's connect_timeout says, which libpq's asynchronous calls do not apply themselves.
constexpr std::chrono::seconds kConnectDeadline{10};

/// How long one statement may go without its answer, unless set otherwise.
constexpr std::chrono::minutes kStatementDeadline{2};

/// Rows of a result, as text (nullopt for NULL).
using PgRows = std::vector<std::vector<std::optional<std::string>>>;

/// The libpqxx side of a PgConn, for the steps' transactions (pqxx::work takes it).
#if PQXX_VERSION_MAJOR >= 7
using Connection = pqxx::connection;
#else
using Connection = pqxx::connection_base;
#endif

class PgConn {
public:
    /// Connects within `timeout`, checking `stopping` every 100 ms, to the `which` ("target",
    /// "source") database `label`. Throws StepError: the kind by common::connect_error_kind(),
    /// fatal when stopped.
    PgConn(const std::string& conninfo, const std::string& label, std::chrono::milliseconds timeout,
           const std::function<bool()>& stopping, std::string which = "target");
    /// Takes over `idle`, a connection made earlier and handed back by release(); closes it when
    /// libpqxx refuses it. Throws StepError as connecting would.
    PgConn(PGconn* idle, const std::string& label, const std::function<bool()>& stopping, std::string which = "target");
    ~PgConn();
    PgConn(const PgConn&) = delete;
    PgConn& operator=(const PgConn&) = delete;

    /// Runs `sql` with text parameters within the statement deadline; throws PgError with the
    /// server's message, or std::runtime_error saying there was no answer in time (the connection
    /// is then closed: a frozen server cannot hold the caller), or StepError(fatal) when stopped.
    PgRows exec(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    /// The first column of the first row, or nullopt.
    std::optional<std::string> scalar(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    /// Cancels the running statement (from another thread).
    void cancel();
    /// How long one statement may go without its answer (kStatementDeadline; 0 = as long as it takes,
    /// for a load or a scan: a stop still ends it).
    void set_statement_deadline(std::chrono::milliseconds d) { deadline_ = d; }
    /// The libpq connection, for COPY (which this class does not wrap); owned here, nullptr once
    /// abandoned.
    PGconn* raw() const { return conn_; }
    /// The same connection as libpqxx sees it, for transactions; never made again once broken.
    Connection& pqxx();
    /// Gives up the connection for another session when it can serve one: outside any
    /// transaction, its session state discarded (DISCARD ALL: settings, role, temporary tables,
    /// prepared statements, advisory locks). nullptr when it cannot; the connection is then closed
    /// with this object. This object is unusable afterwards.
    PGconn* release();
    /// The server's version number, e.g. 150018.
    int server_version() const { return PQserverVersion(conn_); }
    /// How the connection is encrypted ("TLSv1.3"), "" when it is not: for the report and the page.
    std::string encryption() const {
        if (!conn_ || !PQsslInUse(conn_)) return "";
        const char* p = PQsslAttribute(conn_, "protocol");
        return p ? p : "TLS";
    }

private:
    void await_result(const std::string& sql);
    [[noreturn]] void abandon(const std::string& why, bool stopped);
    class Adopted;
    std::unique_ptr<Adopted> pqxx_;  // owns the handle below
    PGconn* conn_ = nullptr;
    PGcancel* cancel_ = nullptr;
    std::string label_, which_;
    std::function<bool()> stopping_;
    std::chrono::milliseconds deadline_{kStatementDeadline};
};

}  // namespace pixrep::common
