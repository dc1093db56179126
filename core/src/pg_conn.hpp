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

    /// Runs `sql` with text parameters; throws std::runtime_error with the server's message.
    PgRows exec(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    /// The first column of the first row, or nullopt.
    std::optional<std::string> scalar(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    /// Cancels the running statement (from another thread).
    void cancel();
    /// The server's version number, e.g. 150018.
    int server_version() const { return PQserverVersion(conn_); }

private:
    PGconn* conn_ = nullptr;
    PGcancel* cancel_ = nullptr;
};

}  // namespace pixrep
