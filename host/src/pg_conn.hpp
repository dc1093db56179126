#pragma once
// The host's own PostgreSQL connections (the run's lock, the tool's home, /status): libpq
// directly, so that connecting has a deadline and a stop check of its own. A server that
// accepts the connection and never answers cannot hold the run, nor the web process.
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pixrep {

/// Rows of a result, as text (nullopt for NULL).
using PgRows = std::vector<std::vector<std::optional<std::string>>>;

class PgConn {
public:
    /// Connects within `timeout`, checking `stopping` every 100 ms. Throws StepError: the
    /// kind by common::connect_error_kind(), fatal when stopped.
    PgConn(const std::string& conninfo, const std::string& label, std::chrono::milliseconds timeout,
           const std::function<bool()>& stopping);
    ~PgConn();
    PgConn(const PgConn&) = delete;
    PgConn& operator=(const PgConn&) = delete;

    /// Runs `sql` with text parameters within the statement deadline; throws std::runtime_error
    /// with the server's message, or saying there was no answer in time (the connection is then
    /// closed: a frozen server cannot hold the caller), or StepError(fatal) when stopped.
    PgRows exec(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    /// The first column of the first row, or nullopt.
    std::optional<std::string> scalar(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    /// Cancels the running statement (from another thread).
    void cancel();
    /// How long one statement may go without its answer (default 2 min).
    void set_statement_deadline(std::chrono::milliseconds d) { deadline_ = d; }
    /// The server's version number, e.g. 150018.
    int server_version() const { return PQserverVersion(conn_); }

private:
    void await_result(const std::string& sql);
    [[noreturn]] void abandon(const std::string& why, bool stopped);
    PGconn* conn_ = nullptr;
    PGcancel* cancel_ = nullptr;
    std::string label_;
    std::function<bool()> stopping_;
    std::chrono::milliseconds deadline_{120'000};
};

}  // namespace pixrep
