#include "live_db.hpp"

#include "copy_out.hpp"
#include "copy_text.hpp"
#include "db.hpp"
#include "pg_errors.hpp"

namespace pixrep::live {
namespace {

using Clock = std::chrono::steady_clock;

// The catalog's schemas that are no one's data.
const char* const kUserSchemas = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'";

// A COPY may take as long as its table needs; a source that sends nothing for this long is gone.
constexpr std::chrono::minutes kSilence{15};

std::string qualified(const TocEntry& e) { return common::sql_name(e.schema) + "." + common::sql_name(e.tag); }

std::string column_list(const TocEntry& e) { return common::quote_ident_list(common::copy_columns(e.copy)); }

}  // namespace

// The snapshot's own session counts among the `jobs` connections: the others read rows.
LiveDb::LiveDb(const SourceUrl& url, int jobs, std::int64_t split_bytes, const RunEnv& env, Logger& log)
    : url_(url), jobs_(std::max(1, jobs - 1)), split_bytes_(split_bytes), env_(env) {
    exporter_ = connect("pix-db-replication source snapshot");
    try {
        exporter_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        snapshot_ = exporter_->scalar("SELECT pg_export_snapshot()").value_or("");
        lock_tables();
        auto r = exporter_->exec("SELECT current_setting('server_version_num'), current_database(), pg_postmaster_start_time()::text, "
                                 "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), pg_is_in_recovery()");
        facts_.server_version = std::stoi(*r[0][0]);
        facts_.database = *r[0][1], facts_.started = *r[0][2], facts_.taken_at = *r[0][3];
        facts_.standby = r[0][4].value_or("f") == "t";
        facts_.encryption = exporter_->encryption();
        for (const auto& row : exporter_->exec(unreadable_sql())) facts_.unreadable.push_back(*row[0]);
    } catch (const std::exception& e) {
        fail(e, "taking a snapshot of the source");
    }
    taken_ = Clock::now();
    log.info("source snapshot taken", {{"source", url_.where}, {"snapshot", snapshot_}, {"at", facts_.taken_at},
                                        {"server_version", static_cast<std::int64_t>(facts_.server_version)}, {"standby", facts_.standby},
                                        {"tls", facts_.encryption.empty() ? std::string("no") : facts_.encryption}});
}

LiveDb::~LiveDb() { release(); }

// As pg_dump, at once: every table the role may read locked ACCESS SHARE in the snapshot's
// transaction until the last row is read, so that a TRUNCATE (not MVCC-safe) or a rewriting
// ALTER at the source waits for the copy instead of giving it an empty table.
void LiveDb::lock_tables() {
    const auto list = exporter_->scalar(std::string("SELECT string_agg('ONLY ' || c.oid::regclass::text, ', ') FROM pg_class c JOIN pg_namespace n "
                                                    "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND "
                                                    "has_table_privilege(c.oid, 'SELECT') AND ") + kUserSchemas);
    if (list) exporter_->exec("LOCK TABLE " + *list + " IN ACCESS SHARE MODE");
}

std::string unreadable_sql() {
    return std::string("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                       "c.relnamespace WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f') AND ") +
           kUserSchemas + " AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY 1";
}

std::unique_ptr<common::PgConn> LiveDb::connect(const std::string& name) {
    auto c = std::make_unique<common::PgConn>(url_.conninfo + " application_name=" + common::quote_literal(name), url_.label,
                                              std::chrono::minutes(1), [this] { return env_.stopping(); }, "source");
    // The tool's sessions wait in their transactions while others read: the source's own limits
    // on idle transactions and statements are not for them; a lock held by a migration is.
    // As pg_dump: every row or a clear error, never the rows a policy lets the role see.
    c->exec("SET idle_in_transaction_session_timeout = 0; SET statement_timeout = 0; SET lock_timeout = '60s'; "
            "SET client_encoding = 'UTF8'; SET row_security = off");
    return c;
}

void LiveDb::fail(const std::exception& e, const std::string& what) {
    if (auto* s = dynamic_cast<const StepError*>(&e)) throw StepError(s->kind(), what + ": " + s->what());
    const std::string msg = common::one_line(e.what());
    ErrorKind kind = ErrorKind::transient;  // no answer in time: the connection is gone
    std::string hint;
    if (auto* pg = dynamic_cast<const common::PgError*>(&e)) {
        kind = pg->broken() ? ErrorKind::transient : pg->sqlstate() == "42501" ? ErrorKind::config : common::sql_error_kind(pg->sqlstate(), msg);
        if (lost_snapshot(pg->sqlstate(), msg)) kind = ErrorKind::transient, hint = " (the snapshot was lost: the run is tried again from a fresh one)";
        if (facts_.standby && pg->sqlstate() == "40001")
            kind = ErrorKind::config, hint = " (the source is a standby, which cancels long reads that conflict with its replay: set "
                                             "hot_standby_feedback = on or a larger max_standby_streaming_delay there, or read the primary)";
        if (pg->sqlstate() == "42501" && msg.find("row-level security") != std::string::npos)
            hint = " (the role of SOURCE_DATABASE_URL must read every row, as pg_dump does: BYPASSRLS, or own the table)";
    }
    throw StepError(kind, what + " on the source database (" + url_.label + "): " + msg + hint);
}

std::vector<SourceTable> LiveDb::tables() {
    std::vector<SourceTable> out;
    const std::string sql = std::string(
        "SELECT c.oid::text, (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = "
        "c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''), pg_table_size(c.oid), coalesce((SELECT a.attname FROM "
        "pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = c.oid AND "
        "i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attnotnull AND a.atttypid IN "
        "('int2'::regtype, 'int4'::regtype, 'int8'::regtype) ORDER BY i.indisprimary DESC LIMIT 1), '') FROM pg_class c JOIN "
        "pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND ") + kUserSchemas;
    try {
        for (const auto& row : exporter_->exec(sql)) {
            SourceTable t{*row[0], row[1].value_or(""), std::stoll(row[2].value_or("0")), row[3].value_or("")};
            tables_[t.oid] = t;
            out.push_back(std::move(t));
        }
    } catch (const std::exception& e) {
        fail(e, "reading the tables");
    }
    return out;
}

std::vector<SourceSequence> LiveDb::sequences() {
    std::vector<SourceSequence> out;
    try {
        auto rows = exporter_->exec(std::string("SELECT c.oid::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
                                                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND ") + kUserSchemas);
        // As pg_dump reads them, in batches of one query each.
        for (std::size_t i = 0; i < rows.size(); i += 200) {
            std::string sql;
            for (std::size_t j = i; j < std::min(rows.size(), i + 200); ++j)
                sql += (sql.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + common::quote_literal(*rows[j][0]) +
                       ", last_value::text, is_called FROM " + *rows[j][1];
            for (const auto& r : exporter_->exec(sql)) out.push_back({*r[0], *r[1], *r[2] == "t"});
        }
    } catch (const std::exception& e) {
        fail(e, "reading the sequences");
    }
    return out;
}

std::set<std::string> LiveDb::populated_views() {
    std::set<std::string> out;
    try {
        for (const auto& row : exporter_->exec(std::string("SELECT c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                                           "WHERE c.relkind = 'm' AND c.relispopulated AND ") + kUserSchemas))
            out.insert(*row[0]);
    } catch (const std::exception& e) {
        fail(e, "reading the materialized views");
    }
    return out;
}

void LiveDb::expect(const std::set<DumpId>& entries) {
    bool none;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (DumpId id : entries) pending_[id] += 1;
        none = pending_.empty();
    }
    if (none) release();
}

void LiveDb::served(DumpId id) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        if (--it->second > 0) return;
        pending_.erase(it);
        if (!pending_.empty()) return;
    }
    release();
}

void LiveDb::release() {
    std::vector<std::unique_ptr<common::PgConn>> gone;
    std::unique_ptr<common::PgConn> exporter;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (released_) return;
        released_ = true;
        held_ = std::chrono::duration<double>(Clock::now() - taken_).count();
        gone.swap(idle_);
        exporter = std::move(exporter_);
        open_ -= static_cast<int>(gone.size());
    }
    cv_.notify_all();
    gone.clear(), exporter.reset();  // closing ends their transactions
}

std::vector<std::string> LiveDb::split_tables() const {
    std::lock_guard<std::mutex> lock(mu_);
    return split_;
}

double LiveDb::held_seconds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return released_ ? held_ : std::chrono::duration<double>(Clock::now() - taken_).count();
}

std::int64_t LiveDb::bytes_read() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
}

std::unique_ptr<common::PgConn> LiveDb::take() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (released_) throw StepError(ErrorKind::fatal, "the source's snapshot was already let go: every expected table had been read");
        if (env_.stopping()) throw StepError(ErrorKind::fatal, "stopped while waiting for a connection to the source");
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
        if (open_ < jobs_) break;
        cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
    ++open_;
    lock.unlock();
    try {
        auto c = connect("pix-db-replication source");
        c->exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT " + common::quote_literal(snapshot_));
        return c;
    } catch (...) {
        lock.lock();
        --open_;
        cv_.notify_all();
        throw;
    }
}

void LiveDb::give_back(std::unique_ptr<common::PgConn> c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (c && !released_) idle_.push_back(std::move(c));
    else --open_;
    cv_.notify_all();
}

std::int64_t LiveDb::copy(const TocEntry& data, const std::string& where, const std::function<void(std::string_view)>& on_row,
                          const std::function<bool()>& stop) {
    const std::string cols = column_list(data);
    const std::string sql = where.empty() ? "COPY " + qualified(data) + " (" + cols + ") TO STDOUT"
                                          : "COPY (SELECT " + cols + " FROM ONLY " + qualified(data) + " WHERE " + where + ") TO STDOUT";
    auto c = take();
    std::int64_t bytes = 0, rows = 0;
    try {
        rows = common::copy_out(*c, sql, [&](std::string_view row) { bytes += static_cast<std::int64_t>(row.size()) + 1, on_row(row); }, stop,
                                kSilence);
    } catch (const std::exception& e) {
        give_back(nullptr);  // mid-COPY or broken: not fit for another table
        {
            std::lock_guard<std::mutex> lock(mu_);
            bytes_ += bytes;
        }
        fail(e, "reading the rows of " + data.qualified());
    }
    give_back(std::move(c));
    {
        std::lock_guard<std::mutex> lock(mu_);
        bytes_ += bytes;
    }
    served(data.id);
    return rows;
}

std::optional<std::string> LiveDb::query(const std::string& sql) {
    auto c = take();
    std::optional<std::string> out;
    try {
        c->set_statement_deadline(std::chrono::minutes(30));
        out = c->scalar(sql);
    } catch (const std::exception& e) {
        give_back(nullptr);
        fail(e, "a query");
    }
    give_back(std::move(c));
    return out;
}

std::vector<std::string> LiveDb::split(const TocEntry& data, int parts) {
    auto t = tables_.find(catalog_oid(data.catalog_id));
    if (parts <= 1 || t == tables_.end() || t->second.key.empty() || t->second.bytes < split_bytes_) return {""};
    const std::string key = common::quote_ident(t->second.key);
    auto c = take();
    std::vector<std::string> out{""};
    try {
        auto r = c->exec("SELECT min(" + key + ")::text, max(" + key + ")::text FROM ONLY " + qualified(data));
        if (!r.empty() && r[0][0] && r[0][1]) out = key_ranges(key, std::stoll(*r[0][0]), std::stoll(*r[0][1]), parts);
    } catch (const std::exception& e) {
        give_back(nullptr);
        fail(e, "cutting " + data.qualified() + " into key ranges");
    }
    give_back(std::move(c));
    std::lock_guard<std::mutex> lock(mu_);
    if (auto p = pending_.find(data.id); p != pending_.end()) p->second += static_cast<int>(out.size()) - 1;
    if (out.size() > 1) split_.push_back(data.qualified() + " (" + std::to_string(out.size()) + " parts by " + t->second.key + ")");
    return out;
}

}  // namespace pixrep::live
