#include "copy_out.hpp"

#include <poll.h>

#include <stdexcept>

#include <pixrep/step.hpp>

#include "pg_errors.hpp"

namespace pixrep::common {
namespace {

PgError failure(PGconn* c, PGresult* r) {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    if (msg.empty()) msg = one_line(PQerrorMessage(c));
    return PgError(msg, state ? state : "", PQstatus(c) == CONNECTION_BAD);
}

// The result after the rows: the COPY's own status, then nothing.
void finish(PGconn* c) {
    PGresult* r = PQgetResult(c);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PgError err = ok ? PgError("", "", false) : failure(c, r);
    PQclear(r);
    while ((r = PQgetResult(c))) PQclear(r);
    if (!ok) throw err;
}

}  // namespace

std::int64_t copy_out(PgConn& conn, const std::string& copy_sql, const std::function<void(std::string_view)>& on_row,
                      const std::function<bool()>& stop, std::chrono::milliseconds silence) {
    PGconn* c = conn.raw();
    if (!c || !PQsendQuery(c, copy_sql.c_str())) throw PgError(c ? one_line(PQerrorMessage(c)) : "no connection", "", true);
    bool started = false;
    std::int64_t rows = 0;
    auto last = std::chrono::steady_clock::now();
    for (;;) {
        if (!started) {
            // The COPY's first result says whether the server took it.
            if (PQisBusy(c)) {
                pollfd p{PQsocket(c), POLLIN, 0};
                if (poll(&p, 1, 100) > 0 && !PQconsumeInput(c)) throw failure(c, nullptr);
            } else {
                PGresult* r = PQgetResult(c);
                const bool ok = PQresultStatus(r) == PGRES_COPY_OUT;
                PgError err = ok ? PgError("", "", false) : failure(c, r);
                PQclear(r);
                if (!ok) {
                    while ((r = PQgetResult(c))) PQclear(r);
                    throw err;
                }
                started = true;
                continue;
            }
        } else {
            char* buf = nullptr;
            const int n = PQgetCopyData(c, &buf, 1);
            if (n > 0) {
                std::string_view row(buf, static_cast<std::size_t>(n));
                if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
                try {
                    on_row(row);
                } catch (...) {
                    PQfreemem(buf);
                    conn.cancel();
                    throw;
                }
                PQfreemem(buf);
                ++rows;
                last = std::chrono::steady_clock::now();
                if ((rows & 1023) == 0 && stop && stop()) break;
                continue;
            }
            if (n == -1) {
                finish(c);
                return rows;
            }
            if (n == -2) throw failure(c, nullptr);
            pollfd p{PQsocket(c), POLLIN, 0};
            if (poll(&p, 1, 100) > 0) {
                if (!PQconsumeInput(c)) throw failure(c, nullptr);
                last = std::chrono::steady_clock::now();
            }
        }
        if (stop && stop()) break;
        if (silence.count() > 0 && std::chrono::steady_clock::now() - last > silence)
            throw std::runtime_error("no rows came for " + std::to_string(silence.count() / 1000) + " s: " + cut_utf8(copy_sql, 80));
    }
    conn.cancel();
    throw StepError(ErrorKind::fatal, "stopped while reading rows: " + cut_utf8(copy_sql, 80));
}

}  // namespace pixrep::common
