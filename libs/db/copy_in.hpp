#pragma once
// COPY ... FROM STDIN into the target in one transaction, fed row by row: a table's new rows
// go in whole or not at all. On the same connection class as the host's (PgConn): one way to
// connect with a deadline, to stop, to cancel.
#include <memory>
#include <string>

#include <pixrep/step.hpp>

#include "pg_conn.hpp"

namespace pixrep::common {

class CopyIn {
public:
    /// Connects to the run's target as "pix-db-replication <purpose>", within a minute, giving up
    /// when the run stops. Throws connect_error().
    CopyIn(const RunEnv& env, const std::string& purpose);
    ~CopyIn();
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;

    /// Runs `sql` outside the COPY (BEGIN, TRUNCATE, ANALYZE...); returns the first value of its
    /// first row, "" when none. Throws StepError(transient).
    std::string exec(const std::string& sql);
    /// Starts `COPY <table> (<columns>) FROM STDIN` inside a transaction.
    void begin(const std::string& copy_sql);
    /// Starts a COPY inside the transaction already open (several COPYs and statements in one).
    void start(const std::string& copy_sql);
    /// One row, in COPY text format, without its newline.
    void row(std::string_view row);
    /// Ends the COPY, leaving its transaction open; returns the rows copied. On failure the
    /// transaction is rolled back.
    long long end();
    /// Ends the COPY and commits; returns the rows copied.
    long long commit();
    /// Gives up: the COPY and its transaction are rolled back.
    void abort();
    /// Cancels what the server is doing for this connection; callable from another thread.
    void cancel();

private:
    void flush();
    std::unique_ptr<PgConn> conn_;
    std::string buf_, label_;
    bool copying_ = false;
};

}  // namespace pixrep::common
