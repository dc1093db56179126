#include "pg_conn.hpp"

#include <poll.h>

#include <stdexcept>
#include <thread>
#include <utility>

#include <pqxx/connection>
#include <pqxx/except>

#include <pixrep/step.hpp>

#include "pg_errors.hpp"

namespace pixrep::common {

namespace {

// Connects within `timeout`, checking `stopping` every 100 ms; libpqxx's own connect would block.
PGconn* connect_within(const std::string& conninfo, const std::string& label, std::chrono::milliseconds timeout,
                       const std::function<bool()>& stopping, const std::string& which) {
    PGconn* conn = PQconnectStart(conninfo.c_str());
    if (!conn) throw StepError(ErrorKind::transient, "cannot connect to the " + which + " database " + label + ": out of memory");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (PostgresPollingStatusType st = PGRES_POLLING_WRITING;;) {
        if (PQstatus(conn) == CONNECTION_BAD) st = PGRES_POLLING_FAILED;
        if (st == PGRES_POLLING_OK) return conn;
        if (st == PGRES_POLLING_FAILED) {
            std::string msg = PQerrorMessage(conn);
            PQfinish(conn);
            throw common::connect_error(label, msg, which);
        }
        pollfd p{PQsocket(conn), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
        int r = poll(&p, 1, 100);
        if (stopping && stopping()) {
            PQfinish(conn);
            throw StepError(ErrorKind::fatal, "stopped while connecting to the " + which + " database " + label);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            PQfinish(conn);
            throw StepError(ErrorKind::transient, "cannot connect to the " + which + " database " + label + ": no answer within " +
                                                      std::to_string(timeout.count() / 1000) + "s");
        }
        if (r > 0) st = PQconnectPoll(conn);
    }
}

#if PQXX_VERSION_MAJOR >= 7
}  // namespace

// libpqxx 7 takes a connection made elsewhere as it is, and never makes one again.
class PgConn::Adopted final : public Connection {
public:
    explicit Adopted(PGconn* conn) : Connection(Connection::seize_raw_connection(conn)) {}
    // Lets go of the connection, open.
    void release() { std::move(*this).release_raw_connection(); }
};
#else
// libpqxx 6 takes a connection made elsewhere through a connection policy. This one never makes
// another: a broken connection stays broken, so that raw() and the cancel handle never point at a
// stale one.
class Adopt final : public pqxx::connectionpolicy {
public:
    explicit Adopt(PGconn* conn) : pqxx::connectionpolicy(""), conn_(conn) {}
    ~Adopt() override {
        if (conn_) PQfinish(conn_);
    }
    handle do_startconnect(handle orig) override {
        if (orig) return orig;
        if (!conn_) throw pqxx::broken_connection("the connection was lost; it is not made again");
        return std::exchange(conn_, nullptr);
    }
    // Closing after release() leaves the connection open, for the session it was handed to.
    handle do_disconnect(handle orig) noexcept override { return released_ ? nullptr : pqxx::connectionpolicy::do_disconnect(orig); }
    void release() { released_ = true; }

private:
    PGconn* conn_;
    bool released_ = false;
};

}  // namespace

class PgConn::Adopted final : public Connection {
public:
    // The base keeps a reference to policy_, as libpqxx's own basic_connection_base does.
    explicit Adopted(PGconn* conn) : Connection(policy_), policy_(conn) {
        try {
            init();
        } catch (...) {
            close();
            throw;
        }
    }
    // Not virtual in libpqxx 6: PgConn holds this type, never a pointer to the base.
    ~Adopted() { close(); }
    // Lets go of the connection, open.
    void release() {
        policy_.release();
        close();
    }

private:
    Adopt policy_;
};
#endif

PgConn::PgConn(const std::string& conninfo, const std::string& label, std::chrono::milliseconds timeout,
               const std::function<bool()>& stopping, std::string which)
    : label_(label), which_(std::move(which)), stopping_(stopping) {
    conn_ = connect_within(conninfo, label, timeout, stopping, which_);
    try {
        pqxx_ = std::make_unique<Adopted>(conn_);
    } catch (const std::exception& e) {
        throw common::connect_error(label, e.what(), which_);
    }
    cancel_ = PQgetCancel(conn_);
}

PgConn::PgConn(PGconn* idle, const std::string& label, const std::function<bool()>& stopping, std::string which)
    : conn_(idle), label_(label), which_(std::move(which)), stopping_(stopping) {
    try {
        pqxx_ = std::make_unique<Adopted>(conn_);
    } catch (const std::exception& e) {
        throw common::connect_error(label, e.what(), which_);
    }
    cancel_ = PQgetCancel(conn_);
}

PGconn* PgConn::release() {
    if (!conn_ || !pqxx_ || PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE) return nullptr;
    try {
        deadline_ = std::chrono::seconds(10);  // this object serves no statement after this one
        exec("DISCARD ALL");                   // refused inside a transaction: none can be left open
    } catch (const std::exception&) {
        return nullptr;  // closed with this object, if not already
    }
    pqxx_->release();
    pqxx_.reset();
    // libpqxx's notice processor points at the object just destroyed.
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    PQsetNoticeReceiver(conn_, [](void*, const PGresult*) {}, nullptr);
    if (cancel_) PQfreeCancel(cancel_);
    cancel_ = nullptr;
    return std::exchange(conn_, nullptr);
}

PgConn::~PgConn() {
    if (cancel_) PQfreeCancel(cancel_);
}

Connection& PgConn::pqxx() {
    if (!pqxx_) throw pqxx::broken_connection("no connection to the server " + label_ + " (closed after an earlier statement got no answer)");
    return *pqxx_;
}

void PgConn::abandon(const std::string& why, bool stopped) {
    // The cancel request goes out on a thread of its own: against a frozen server it may block
    // too, and nothing may wait for it.
    if (PGcancel* c = PQgetCancel(conn_))
        std::thread([c] {
            char err[256];
            PQcancel(c, err, sizeof err);
            PQfreeCancel(c);
        }).detach();
    if (cancel_) PQfreeCancel(cancel_);
    cancel_ = nullptr;
    pqxx_.reset();
    conn_ = nullptr;
    if (stopped) throw StepError(ErrorKind::fatal, "stopped during a statement on the " + which_ + " database " + label_);
    throw std::runtime_error(why);
}

void PgConn::await_result(const std::string& sql) {
    const auto deadline = std::chrono::steady_clock::now() + deadline_;
    while (PQisBusy(conn_)) {
        pollfd p{PQsocket(conn_), POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r > 0 && !PQconsumeInput(conn_)) return;  // the connection broke: PQgetResult says how
        if (stopping_ && stopping_()) abandon("", true);
        if (deadline_.count() > 0 && std::chrono::steady_clock::now() >= deadline)
            abandon("the " + which_ + " database " + label_ + " gave no answer within " + std::to_string(deadline_.count() / 1000) +
                        " s to: " + cut_utf8(sql, 80),
                    false);
    }
}

PgRows PgConn::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    if (!conn_) throw std::runtime_error("no connection to the server " + label_ + " (closed after an earlier statement got no answer)");
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    // Without parameters, the simple protocol: a string may hold several statements (settings).
    const int sent = params.empty() ? PQsendQuery(conn_, sql.c_str())
                                    : PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                                        nullptr, nullptr, 0);
    if (!sent)
        throw PgError(common::one_line(PQerrorMessage(conn_)), "", PQstatus(conn_) == CONNECTION_BAD);
    // The last result is the statement's; drain them all so the connection is ready again.
    PGresult* r = nullptr;
    for (;;) {
        if (PQisBusy(conn_)) await_result(sql);
        PGresult* next = PQgetResult(conn_);
        if (!next) break;
        if (r) PQclear(r);
        r = next;
    }
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        std::string msg = common::one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
        const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        std::string sqlstate = state ? state : "";
        PQclear(r);
        throw PgError(msg.empty() ? common::one_line(PQerrorMessage(conn_)) : msg, sqlstate, PQstatus(conn_) == CONNECTION_BAD);
    }
    PgRows rows;
    for (int i = 0; i < PQntuples(r); ++i) {
        auto& row = rows.emplace_back();
        for (int j = 0; j < PQnfields(r); ++j)
            row.push_back(PQgetisnull(r, i, j) ? std::nullopt : std::optional<std::string>(PQgetvalue(r, i, j)));
    }
    PQclear(r);
    return rows;
}

std::optional<std::string> PgConn::scalar(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    auto rows = exec(sql, params);
    if (rows.empty() || rows[0].empty()) return std::nullopt;
    return rows[0][0];
}

void PgConn::cancel() {
    char err[256];
    if (cancel_) PQcancel(cancel_, err, sizeof err);
}

}  // namespace pixrep::common
