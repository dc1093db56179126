#include "copy_in.hpp"

#include <cstdlib>

#include "db.hpp"
#include "pg_errors.hpp"

namespace pixrep::common {
namespace {

std::string result_error(PGresult* r, PGconn* c) { return one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c)); }

// A bad row or value fails the same way again; a lost connection may heal.
ErrorKind failure_kind(bool broken, const std::string& sqlstate, const std::string& message) {
    return broken ? ErrorKind::transient : sql_error_kind(sqlstate, message);
}

ErrorKind result_kind(PGresult* r, PGconn* c, const std::string& message) {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    return failure_kind(PQstatus(c) == CONNECTION_BAD, state ? state : "", message);
}

}  // namespace

CopyIn::CopyIn(const RunEnv& env, const std::string& purpose) : label_(env.target().label) {
    conn_ = connect_target(env, purpose, true);
    // A load or a scan takes as long as the table needs; a stop or cancel() still ends it.
    conn_->set_statement_deadline(std::chrono::milliseconds(0));
}

CopyIn::~CopyIn() {
    if (copying_ && conn_->raw()) abort();
}

void CopyIn::cancel() { conn_->cancel(); }

std::string CopyIn::exec(const std::string& sql) {
    try {
        return conn_->scalar(sql).value_or("");
    } catch (const PgError& e) {
        throw StepError(failure_kind(e.broken(), e.sqlstate(), e.what()), cut_utf8(sql, 80) + ": " + e.what());
    } catch (const StepError&) {
        throw;
    } catch (const std::exception& e) {  // no answer in time: the connection was closed
        throw StepError(ErrorKind::transient, cut_utf8(sql, 80) + ": " + e.what());
    }
}

void CopyIn::begin(const std::string& copy_sql) {
    exec("BEGIN");
    start(copy_sql);
}

void CopyIn::start(const std::string& copy_sql) {
    PGresult* r = PQexec(conn_->raw(), copy_sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    std::string err = ok ? "" : result_error(r, conn_->raw());
    ErrorKind kind = ok ? ErrorKind::fatal : result_kind(r, conn_->raw(), err);
    PQclear(r);
    if (!ok) throw StepError(kind, copy_sql + ": " + err);
    copying_ = true;
}

void CopyIn::row(std::string_view row) {
    buf_.append(row.data(), row.size());
    buf_ += '\n';
    if (buf_.size() >= (1u << 20)) flush();
}

void CopyIn::flush() {
    if (buf_.empty()) return;
    if (PQputCopyData(conn_->raw(), buf_.data(), static_cast<int>(buf_.size())) != 1)
        throw StepError(ErrorKind::transient, "COPY into the target failed: " + one_line(PQerrorMessage(conn_->raw())));  // the connection
    buf_.clear();
}

long long CopyIn::commit() {
    const long long rows = end();
    exec("COMMIT");
    return rows;
}

long long CopyIn::end() {
    flush();
    copying_ = false;
    if (PQputCopyEnd(conn_->raw(), nullptr) != 1) throw StepError(ErrorKind::transient, "COPY into the target failed: " + one_line(PQerrorMessage(conn_->raw())));
    PGresult* r = PQgetResult(conn_->raw());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    long long rows = ok ? std::atoll(PQcmdTuples(r)) : 0;
    std::string err = ok ? "" : result_error(r, conn_->raw());
    ErrorKind kind = ok ? ErrorKind::fatal : result_kind(r, conn_->raw(), err);
    PQclear(r);
    while ((r = PQgetResult(conn_->raw()))) PQclear(r);
    if (!ok) {
        if (PQstatus(conn_->raw()) != CONNECTION_BAD) exec("ROLLBACK");
        throw StepError(kind, "COPY into the target failed: " + err);
    }
    return rows;
}

void CopyIn::abort() {
    if (copying_) {
        copying_ = false;
        PQputCopyEnd(conn_->raw(), "abandoned");
        while (PGresult* r = PQgetResult(conn_->raw())) PQclear(r);
    }
    PGresult* r = PQexec(conn_->raw(), "ROLLBACK");
    PQclear(r);
}

}  // namespace pixrep::common
