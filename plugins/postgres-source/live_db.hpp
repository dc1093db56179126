#pragma once
// The live source seen from inside one snapshot: a first connection opens a repeatable-read,
// read-only transaction and exports its snapshot; up to `jobs` more import it, each as rows are
// asked for, so that every table comes from the same instant however many connections read it.
// The snapshot is let go as soon as every expected table was read whole, or with this object.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include <pixrep/step.hpp>

#include "live_plan.hpp"
#include "pg_conn.hpp"
#include "source_url.hpp"

namespace pixrep::live {

/// What the source is, as read when the snapshot was taken.
struct SourceFacts {
    int server_version = 0;        ///< e.g. 170006.
    std::string database;          ///< current_database().
    std::string started;           ///< pg_postmaster_start_time(), as text: with the name, tells one server from another.
    std::string taken_at;          ///< The snapshot's time, RFC 3339.
    std::vector<std::string> unreadable;  ///< Tables and sequences the role may not read, qualified.
    bool standby = false;          ///< The source is in recovery: a standby.
    std::string encryption;        ///< "TLSv1.3" when the connection is encrypted, "" when not.
};


/// The tables and sequences of the source the role may not read, qualified (one column). Pure.
std::string unreadable_sql();

class LiveDb final : public LiveSource {
public:
    /// Connects, takes and exports the snapshot, logging to `log` (only now: the steps that read
    /// rows later have loggers of their own). Throws StepError naming SOURCE_DATABASE_URL.
    LiveDb(const SourceUrl& url, int jobs, std::int64_t split_bytes, const RunEnv& env, Logger& log);
    ~LiveDb() override;

    /// Read when the snapshot was taken.
    const SourceFacts& facts() const { return facts_; }
    /// The oids of the materialized views populated at the source, read in the snapshot.
    std::set<std::string> populated_views();
    /// The exported snapshot's name, for pg_dump --snapshot.
    const std::string& snapshot() const { return snapshot_; }
    /// Tables with rows and sequences, from the snapshot.
    std::vector<SourceTable> tables();
    std::vector<SourceSequence> sequences();
    /// The data entries the run will read: once each was read whole, the snapshot goes.
    void expect(const std::set<DumpId>& entries);
    /// Lets the snapshot and every connection go now.
    void release();
    /// Seconds the snapshot was held so far; bytes of rows read.
    double held_seconds() const;
    std::int64_t bytes_read() const;
    /// The tables read in key ranges, as "table (N parts)".
    std::vector<std::string> split_tables() const;

    std::int64_t copy(const TocEntry& data, const std::string& where, const std::function<void(std::string_view)>& on_row,
                      const std::function<bool()>& stop) override;
    std::optional<std::string> query(const std::string& sql) override;
    std::vector<std::string> split(const TocEntry& data, int parts) override;

private:
    std::unique_ptr<common::PgConn> connect(const std::string& purpose);
    std::unique_ptr<common::PgConn> take();
    void give_back(std::unique_ptr<common::PgConn> c);
    void served(DumpId id);
    void lock_tables();
    [[noreturn]] void fail(const std::exception& e, const std::string& what);

    SourceUrl url_;
    int jobs_;
    std::int64_t split_bytes_;
    const RunEnv& env_;
    std::unique_ptr<common::PgConn> exporter_;
    std::string snapshot_;
    SourceFacts facts_;
    std::chrono::steady_clock::time_point taken_ = std::chrono::steady_clock::now();
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<common::PgConn>> idle_;
    int open_ = 0;  ///< Connections made, idle or busy.
    bool released_ = false;
    double held_ = 0;
    std::int64_t bytes_ = 0;
    std::map<DumpId, int> pending_;  ///< Pieces still to read, by expected entry.
    std::vector<std::string> split_;
    std::map<std::string, SourceTable> tables_;  ///< By oid.
};

}  // namespace pixrep::live
