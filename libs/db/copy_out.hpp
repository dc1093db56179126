#pragma once
// Rows read out of a database with COPY ... TO STDOUT, on a PgConn: each row handed over as it
// arrives (constant memory), with a stop check, and a deadline on silence so that a server that
// stops sending cannot hold the run.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "pg_conn.hpp"

namespace pixrep::common {

/// Runs `copy_sql` (a COPY ... TO STDOUT in text format) on `conn`: `on_row(row)` for each row,
/// without its newline. Returns the rows read. Throws PgError (the server's refusal, or a broken
/// connection), StepError(fatal) when `stop` turned true, std::runtime_error when nothing came
/// for `silence` (the connection is then unusable).
std::int64_t copy_out(PgConn& conn, const std::string& copy_sql, const std::function<void(std::string_view)>& on_row,
                      const std::function<bool()>& stop, std::chrono::milliseconds silence);

}  // namespace pixrep::common
