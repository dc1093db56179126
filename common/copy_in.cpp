#include "copy_in.hpp"

#include <cstdlib>

#include "db.hpp"
#include "pg_errors.hpp"

namespace pixrep::common {
namespace {

std::string result_error(PGresult* r, PGconn* c) { return one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c)); }

// A bad row or value fails the same way again; a lost connection may heal.
ErrorKind result_kind(PGresult* r, PGconn* c, const std::string& message) {
    if (PQstatus(c) == CONNECTION_BAD) return ErrorKind::transient;
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    return sql_error_kind(state ? state : "", message);
}

}  // namespace

CopyIn::CopyIn(const RunEnv& env, const std::string& purpose) : label_(env.target().label) {
    if (env.target().conninfo.empty()) throw not_connecting(purpose);
    conn_ = PQconnectdb((env.target().conninfo + " application_name=" + quote_literal("pix-db-replication " + purpose)).c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string msg = PQerrorMessage(conn_);
        PQfinish(conn_);
        conn_ = nullptr;
        throw connect_error(label_, msg);
    }
    cancel_ = PQgetCancel(conn_);
}

CopyIn::~CopyIn() {
    if (copying_) abort();
    if (cancel_) PQfreeCancel(cancel_);
    if (conn_) PQfinish(conn_);
}

void CopyIn::cancel() {
    char err[256];
    if (cancel_) PQcancel(cancel_, err, sizeof err);
}

std::string CopyIn::exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    auto st = PQresultStatus(r);
    std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : result_error(r, conn_);
    std::string value = st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    ErrorKind kind = err.empty() ? ErrorKind::fatal : result_kind(r, conn_, err);
    PQclear(r);
    if (!err.empty()) throw StepError(kind, sql.substr(0, 80) + ": " + err);
    return value;
}

void CopyIn::begin(const std::string& copy_sql) {
    exec("BEGIN");
    PGresult* r = PQexec(conn_, copy_sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    std::string err = ok ? "" : result_error(r, conn_);
    ErrorKind kind = ok ? ErrorKind::fatal : result_kind(r, conn_, err);
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
    if (PQputCopyData(conn_, buf_.data(), static_cast<int>(buf_.size())) != 1)
        throw StepError(ErrorKind::transient, "COPY into the target failed: " + one_line(PQerrorMessage(conn_)));  // the connection
    buf_.clear();
}

long long CopyIn::commit() {
    flush();
    copying_ = false;
    if (PQputCopyEnd(conn_, nullptr) != 1) throw StepError(ErrorKind::transient, "COPY into the target failed: " + one_line(PQerrorMessage(conn_)));
    PGresult* r = PQgetResult(conn_);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    long long rows = ok ? std::atoll(PQcmdTuples(r)) : 0;
    std::string err = ok ? "" : result_error(r, conn_);
    ErrorKind kind = ok ? ErrorKind::fatal : result_kind(r, conn_, err);
    PQclear(r);
    while ((r = PQgetResult(conn_))) PQclear(r);
    if (!ok) {
        if (PQstatus(conn_) != CONNECTION_BAD) exec("ROLLBACK");
        throw StepError(kind, "COPY into the target failed: " + err);
    }
    exec("COMMIT");
    return rows;
}

void CopyIn::abort() {
    if (copying_) {
        copying_ = false;
        PQputCopyEnd(conn_, "abandoned");
        while (PGresult* r = PQgetResult(conn_)) PQclear(r);
    }
    PGresult* r = PQexec(conn_, "ROLLBACK");
    PQclear(r);
}

}  // namespace pixrep::common
