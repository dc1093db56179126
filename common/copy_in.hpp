#pragma once
// COPY ... FROM STDIN into the target in one transaction, fed row by row: a table's new rows
// go in whole or not at all.
#include <libpq-fe.h>

#include <string>

#include <pixrep/step.hpp>

namespace pixrep::common {

class CopyIn {
public:
    /// Connects to the run's target as "pix-db-replication <purpose>". Throws connect_error().
    CopyIn(const RunEnv& env, const std::string& purpose);
    ~CopyIn();
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;

    /// Runs `sql` outside the COPY (BEGIN, TRUNCATE, ANALYZE...); returns the first value of its
    /// first row, "" when none. Throws StepError(transient).
    std::string exec(const std::string& sql);
    /// Starts `COPY <table> (<columns>) FROM STDIN` inside a transaction.
    void begin(const std::string& copy_sql);
    /// One row, in COPY text format, without its newline.
    void row(std::string_view row);
    /// Ends the COPY and commits; returns the rows copied.
    long long commit();
    /// Gives up: the COPY and its transaction are rolled back.
    void abort();
    /// Cancels what the server is doing for this connection; callable from another thread.
    void cancel();

private:
    void flush();
    PGconn* conn_ = nullptr;
    PGcancel* cancel_ = nullptr;
    std::string buf_, label_;
    bool copying_ = false;
};

}  // namespace pixrep::common
