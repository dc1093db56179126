// Restores the verified dump with the real pg_restore, in parallel, from the filtered table of
// contents, reporting progress and a heartbeat. Beside it, a small pool runs the statements steps
// deferred (ctx.deferred_sql) as soon as what they need is loaded: extra indexes, NOT VALID
// foreign keys, and primary keys built as unique indexes next to the table's other indexes.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <pixrep/step_export.hpp>

#include "db.hpp"
#include "dump.hpp"
#include "process.hpp"

namespace {

using namespace pixrep;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class PgRestoreStep final : public Step {
public:
    StepInfo info() const override {
        using T = OptionType;
        return {"pg-restore", "1.0.0", "Restores the dump into the target with pg_restore --jobs, minus what the plan excludes",
                {{"jobs", T::integer, OptionValue(std::int64_t{0}), false, "Parallel pg_restore jobs; 0 = the machine's cores", "PG_RESTORE_JOBS"},
                 {"drop_comments", T::boolean, OptionValue(false), false,
                  "Leave out every COMMENT, as the 2020 tool did (comments on extensions are always left out)", "DROP_COMMENTS"},
                 {"heartbeat", T::duration, OptionValue(std::chrono::milliseconds(60'000)), false,
                  "Longest silence in the logs during the restore", ""},
                 {"exit_on_error", T::boolean, OptionValue(false), false, "Stop pg_restore at its first error instead of at the end", ""},
                 {"maintenance_work_mem", T::string, OptionValue(std::string()), false,
                  "Per-session memory for index builds and constraint checks (budget: jobs x value); \"\" = server default", "RESTORE_MAINTENANCE_WORK_MEM"},
                 {"max_parallel_maintenance_workers", T::integer, OptionValue(std::int64_t{-1}), false,
                  "Parallel workers per index build; -1 = server default", ""},
                 {"synchronous_commit", T::string, OptionValue(std::string("off")), false,
                  "synchronous_commit of the restore's sessions; \"\" = server default", ""},
                 {"session_options", T::string, OptionValue(std::string()), false,
                  "More settings for the restore's sessions, as PGOPTIONS (e.g. -c work_mem=64MB)", "RESTORE_PGOPTIONS"},
                 {"pk_as_unique_index", T::boolean, OptionValue(true), false,
                  "Build primary keys and unique constraints as unique indexes beside the table's other indexes, then attach them", ""},
                 {"pool_jobs_during_restore", T::integer, OptionValue(std::int64_t{1}), false,
                  "Deferred statements run at once while pg_restore still runs (afterwards: jobs)", ""},
                 {"pg_restore", T::string, OptionValue(std::string("pg_restore")), false, "pg_restore binary to run", "PG_RESTORE_BIN"}}};
    }

    void configure(const Options& o, Logger&) override {
        jobs_ = o.integer("jobs");
        if (jobs_ < 0 || jobs_ > 64) throw StepError(ErrorKind::config, "option 'jobs' must be between 0 and 64, got " + std::to_string(jobs_));
        if (jobs_ == 0) jobs_ = std::max(1u, std::thread::hardware_concurrency());
        drop_comments_ = o.boolean("drop_comments");
        heartbeat_ = o.duration("heartbeat");
        if (heartbeat_ < std::chrono::seconds(1)) throw StepError(ErrorKind::config, "option 'heartbeat' must be at least 1s");
        exit_on_error_ = o.boolean("exit_on_error");
        binary_ = o.string("pg_restore");
        pk_as_unique_ = o.boolean("pk_as_unique_index");
        pool_during_ = std::max<std::int64_t>(0, o.integer("pool_jobs_during_restore"));
        // One list of settings, given to pg_restore through PGOPTIONS and to the pool with SET.
        for (const char* key : {"maintenance_work_mem", "synchronous_commit"})
            if (!o.string(key).empty()) settings_.emplace_back(key, o.string(key));
        if (o.integer("max_parallel_maintenance_workers") >= 0)
            settings_.emplace_back("max_parallel_maintenance_workers", std::to_string(o.integer("max_parallel_maintenance_workers")));
        for (const auto& [k, v] : settings_)
            if (v.find_first_of(" '\\") != std::string::npos) throw StepError(ErrorKind::config, "option '" + k + "' has an invalid value '" + v + "'");
        pgoptions_ = o.string("session_options");
        for (const auto& [k, v] : settings_) pgoptions_ += (pgoptions_.empty() ? "" : " ") + std::string("-c ") + k + "=" + v;
    }

    void prepare(RunContext& ctx) override {
        if (!ctx.plan.loaded())
            throw StepError(ErrorKind::config, "pg-restore has no dump to restore: put a source step (local-file, scalingo-source) before it");
        // A comment on an extension the target role does not own fails the whole item.
        ctx.plan.exclude([](const TocEntry& e) { return e.desc == "COMMENT" && e.tag.rfind("EXTENSION ", 0) == 0; },
                         "pg-restore", "comment on an extension: only its owner may set it");
        if (drop_comments_)
            ctx.plan.exclude([](const TocEntry& e) { return e.desc == "COMMENT"; }, "pg-restore", "drop_comments = true");
    }

    void execute(RunContext& ctx) override {
        const auto& backup = *ctx.backup;
        if (pk_as_unique_) defer_keys(ctx);
        auto list = ctx.work_dir / "restore.list";
        {
            std::ofstream out(list);
            for (const auto& e : ctx.plan.entries) out << (e.kept() ? "" : ";") << e.list_line << "\n";
            if (!out) throw StepError(ErrorKind::fatal, "cannot write " + list.string());
        }
        auto [url, password] = common::split_password(ctx.target_url);
        common::ProcessSpec spec;
        spec.argv = {binary_, "--verbose", "--no-owner", "--no-privileges", "--jobs=" + std::to_string(jobs_),
                     "--use-list=" + list.string(), "--dbname=" + url};
        if (exit_on_error_) spec.argv.push_back("--exit-on-error");
        if (backup.format == "directory") spec.argv.push_back("--format=directory");
        spec.argv.push_back(backup.dump.string());
        if (!password.empty()) spec.env.emplace_back("PGPASSWORD", password);
        if (!pgoptions_.empty()) spec.env.emplace_back("PGOPTIONS", pgoptions_);

        const auto total = static_cast<std::int64_t>(ctx.plan.kept_count());
        ctx.log().info("restore started", {{"jobs", jobs_}, {"items", total}, {"dump", backup.dump.string()}});
        Pool pool(ctx, settings_, static_cast<int>(pool_during_), static_cast<int>(jobs_));
        Progress p(ctx, total);
        p.on_table_loaded = [&](const std::string& table) { pool.table_loaded(table); };
        common::ProcessHooks hooks;
        hooks.on_stderr = [&](const std::string& line) { p.line(line); };
        hooks.on_tick = [&] { p.tick(heartbeat_); };
        hooks.stop = ctx.stop;
        int rc = common::run_process(spec, hooks);
        if (ctx.stopping() || rc != 0 || !p.errors.empty()) pool.abandon();
        ctx.report.restore_wall_seconds = since(p.t0);
        if (ctx.stopping()) throw StepError(ErrorKind::fatal, "restore interrupted by a stop request; pg_restore terminated");
        if (rc != 0 || !p.errors.empty()) {
            std::string first;
            for (std::size_t i = 0; i < std::min<std::size_t>(3, p.errors.size()); ++i) first += (i ? " | " : "") + p.errors[i];
            if (first.empty()) first = "exit code " + std::to_string(rc);
            throw StepError(ErrorKind::transient, "pg_restore failed with " + std::to_string(p.error_count) + " error(s): " + first);
        }
        ctx.log().info("restore done", {{"items", p.done}, {"duration_ms", static_cast<std::int64_t>(ctx.report.restore_wall_seconds * 1000)},
                                        {"deferred_pending", static_cast<std::int64_t>(pool.pending())}});
        pool.restore_done();
        pool.finish();
        if (ctx.stopping()) throw StepError(ErrorKind::fatal, "restore interrupted by a stop request");
        ctx.report.restore_wall_seconds = since(p.t0);
        count_rows(ctx);
    }

private:
    struct Progress {
        Progress(RunContext& c, std::int64_t t) : ctx(c), total(t) {}
        RunContext& ctx;
        std::int64_t total, done = 0;
        Clock::time_point t0 = Clock::now(), last_log = Clock::now();
        std::map<int, std::pair<std::string, Clock::time_point>> running;  // id -> (label, start)
        std::string serial_label;
        Clock::time_point serial_start;
        std::vector<std::string> errors;
        std::int64_t error_count = 0;
        std::int64_t last_pct_logged = 0;
        bool parallel = false;  // workers' own "creating ..." lines are covered by launching/finished
        std::function<void(const std::string&)> on_table_loaded;
        std::mutex mu;

        void finish_serial() {
            if (serial_label.empty()) return;
            auto sp = serial_label.find(' ');
            ctx.report.restore_items.push_back({0, serial_label.substr(0, sp), serial_label.substr(sp + 1),
                                                std::chrono::duration<double>(serial_start - t0).count(), since(serial_start)});
            serial_label.clear();
        }
        void line(const std::string& l) {
            std::lock_guard<std::mutex> lock(mu);
            const std::string pfx = "pg_restore: ";
            std::string m = l.rfind(pfx, 0) == 0 ? l.substr(pfx.size()) : l;
            if (m.rfind("launching item ", 0) == 0) {
                finish_serial();
                parallel = true;
                int id = std::atoi(m.c_str() + 15);
                running[id] = {m.substr(m.find(' ', 15) + 1), Clock::now()};
            } else if (m.rfind("finished item ", 0) == 0) {
                int id = std::atoi(m.c_str() + 14);
                std::string label = m.substr(m.find(' ', 14) + 1);
                auto it = running.find(id);
                if (const TocEntry* e = ctx.plan.find(id); e && e->desc == "TABLE DATA" && on_table_loaded)
                    on_table_loaded(e->schema + "." + e->tag);
                if (it != running.end()) {
                    const TocEntry* e = ctx.plan.find(id);
                    ctx.report.restore_items.push_back({id, e ? e->desc : label, e ? e->tag : label,
                                                        std::chrono::duration<double>(it->second.second - t0).count(),
                                                        since(it->second.second)});
                    running.erase(it);
                }
                ++done;
            } else if (!parallel && (m.rfind("creating ", 0) == 0 || m.rfind("processing data for table ", 0) == 0 ||
                                     m.rfind("executing ", 0) == 0)) {
                // Serial phase (pre-data, or everything with --jobs=1): one item at a time.
                finish_serial();
                if (m.rfind("processing data for table ", 0) == 0) serial_label = "TABLE DATA " + m.substr(26);
                else serial_label = m.substr(m.find(' ') + 1);
                serial_label.erase(std::remove(serial_label.begin(), serial_label.end(), '"'), serial_label.end());
                serial_start = Clock::now();
                ++done;
            } else if (m.rfind("error: ", 0) == 0 || m.rfind("from TOC entry", 0) == 0) {
                if (m.rfind("error: ", 0) == 0) ++error_count;
                if (errors.size() < 6) errors.push_back(m);
                ctx.log().error("pg_restore: " + m);
            } else if (m.rfind("warning: errors ignored on restore: ", 0) == 0) {
                error_count = std::max<std::int64_t>(error_count, std::atoll(m.c_str() + 36));
            }
            std::int64_t pct = total ? done * 100 / total : 100;
            if (pct / 10 > last_pct_logged / 10) {
                last_pct_logged = pct;
                log_progress("restore progress");
            }
        }
        void tick(std::chrono::milliseconds heartbeat) {
            std::lock_guard<std::mutex> lock(mu);
            if (Clock::now() - last_log >= heartbeat) log_progress("restore heartbeat");
        }
        void log_progress(const char* msg) {
            last_log = Clock::now();
            std::string now_running;
            std::vector<std::pair<double, std::string>> items;
            for (const auto& [id, r] : running) items.emplace_back(since(r.second), r.first);
            if (!serial_label.empty()) items.emplace_back(since(serial_start), serial_label);
            std::sort(items.rbegin(), items.rend());
            for (const auto& [s, label] : items)
                now_running += (now_running.empty() ? "" : "; ") + label + " (" + std::to_string(static_cast<long long>(s)) + "s)";
            ctx.log().info(msg, {{"done", done}, {"total", total},
                                 {"percent", static_cast<std::int64_t>(total ? done * 100 / total : 100)},
                                 {"elapsed_s", static_cast<std::int64_t>(since(t0))},
                                 {"running", now_running.empty() ? std::string("-") : now_running}});
        }
    };

    // Runs ctx.deferred_sql: an item starts once its table's data is loaded (or the restore is
    // over) and the deferred items it depends on are done. While pg_restore runs, at most
    // `during` items run beside it; afterwards up to `after`.
    class Pool {
    public:
        Pool(RunContext& ctx, const std::vector<std::pair<std::string, std::string>>& settings, int during, int after)
            : ctx_(ctx), settings_(settings), during_(during), items_(ctx.deferred_sql), taken_(items_.size(), false) {
            for (const auto& it : items_) keys_.insert(it.key);
            live_ = items_.empty() ? 0 : std::max(during, after);
            for (int i = 0; i < live_; ++i)
                threads_.emplace_back([this, i, after] {
                    work(i, after);
                    std::lock_guard<std::mutex> lock(mu_);
                    --live_;
                });
        }
        ~Pool() {
            abandon();
            for (auto& t : threads_)
                if (t.joinable()) t.join();
        }
        void table_loaded(const std::string& table) {
            std::lock_guard<std::mutex> lock(mu_);
            loaded_.insert(table);
            cv_.notify_all();
        }
        void restore_done() {
            std::lock_guard<std::mutex> lock(mu_);
            restore_over_ = true;
            cv_.notify_all();
        }
        // Stops handing out items and cancels those running (a deferred index build can be long).
        void abandon() {
            std::lock_guard<std::mutex> lock(mu_);
            abandoned_ = true;
            for (auto* c : active_)
                try {
                    c->cancel_query();
                } catch (const std::exception&) {
                }
            cv_.notify_all();
        }
        std::size_t pending() {
            std::lock_guard<std::mutex> lock(mu_);
            return items_.size() - done_.size();
        }
        // Waits for every item; throws the first failure.
        void finish() {
            for (;;) {
                {
                    std::lock_guard<std::mutex> lock(mu_);
                    if (live_ == 0) break;
                }
                if (ctx_.stopping()) abandon();
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            for (auto& t : threads_) t.join();
            threads_.clear();
            if (!failure_.empty()) throw StepError(ErrorKind::transient, failure_);
        }

    private:
        bool ready(std::size_t i) const {
            const auto& it = items_[i];
            if (!restore_over_ && (it.table.empty() || !loaded_.count(it.table))) return false;
            for (int d : it.toc_deps) {
                std::string k = "toc:" + std::to_string(d);
                if (keys_.count(k) && !done_.count(k)) return false;
            }
            return true;
        }
        void work(int index, int after) {
            std::unique_ptr<pqxx::connection> conn;
            for (;;) {
                std::size_t pick = items_.size();
                {
                    std::unique_lock<std::mutex> lock(mu_);
                    cv_.wait(lock, [&] {
                        if (abandoned_ || !failure_.empty() || started_ == items_.size() || ctx_.stopping()) return true;
                        if (index >= (restore_over_ ? after : during_)) return false;
                        for (std::size_t i = 0; i < items_.size(); ++i)
                            if (!taken_[i] && ready(i)) return true;
                        return false;
                    });
                    if (abandoned_ || !failure_.empty() || started_ == items_.size() || ctx_.stopping()) return;
                    for (std::size_t i = 0; i < items_.size(); ++i)
                        if (!taken_[i] && ready(i)) {
                            pick = i;
                            break;
                        }
                    taken_[pick] = true;
                    ++started_;
                }
                const auto& it = items_[pick];
                auto t = Clock::now();
                std::string current;
                try {
                    if (!conn) {
                        conn = common::connect(ctx_.target_url);
                        pqxx::nontransaction tx(*conn);
                        for (const auto& [k, v] : settings_) tx.exec("SET " + k + " = '" + v + "'");
                    }
                    {
                        std::lock_guard<std::mutex> lock(mu_);
                        if (abandoned_) return;
                        active_.insert(conn.get());
                    }
                    for (const auto& sql : it.sql) {
                        current = sql;
                        pqxx::nontransaction tx(*conn);
                        tx.exec(sql);
                    }
                } catch (const std::exception& e) {
                    std::lock_guard<std::mutex> lock(mu_);
                    active_.erase(conn.get());
                    std::string msg = e.what();
                    if (auto nl = msg.find('\n'); nl != std::string::npos) msg.erase(nl);
                    if (failure_.empty()) failure_ = "deferred statement from " + it.by + " failed: " + current + ": " + msg;
                    cv_.notify_all();
                    return;
                }
                std::lock_guard<std::mutex> lock(mu_);
                active_.erase(conn.get());
                done_.insert(it.key);
                // Reported under the kind of object it builds, so the report compares like with like.
                std::string desc = it.sql.back().find(" INDEX ") != std::string::npos ? "INDEX" : "SQL", tag = it.key;
                if (it.key.rfind("toc:", 0) == 0)
                    if (const auto* e = ctx_.plan.find(std::atoi(it.key.c_str() + 4))) desc = e->desc, tag = e->tag;
                ctx_.report.restore_items.push_back({0, desc, tag, std::chrono::duration<double>(t - start_).count(), since(t)});
                ctx_.log().info("deferred statement done", {{"key", it.key}, {"by", it.by}, {"sql", it.sql.back()},
                                                            {"duration_ms", static_cast<std::int64_t>(since(t) * 1000)}});
                cv_.notify_all();
            }
        }

        RunContext& ctx_;
        std::vector<std::pair<std::string, std::string>> settings_;
        int during_;
        std::vector<DeferredSql> items_;
        std::vector<bool> taken_;
        std::set<std::string> keys_, loaded_, done_;
        std::size_t started_ = 0;
        bool restore_over_ = false, abandoned_ = false;
        std::string failure_;
        std::mutex mu_;
        std::condition_variable cv_;
        Clock::time_point start_ = Clock::now();
        std::vector<std::thread> threads_;
        std::set<pqxx::connection*> active_;
        int live_ = 0;
    };

    // Primary keys and unique constraints wait behind the index builds of their table (ADD
    // CONSTRAINT takes an exclusive lock); as unique indexes they build beside them, and attaching
    // them afterwards is instant. Only when nothing left in pg_restore's list depends on them.
    void defer_keys(RunContext& ctx) {
        static const std::regex key_re(R"(^ALTER TABLE ONLY (\S+)\s+ADD CONSTRAINT (\S+) (PRIMARY KEY|UNIQUE) (\(.*\));$)");
        std::set<int> needed;
        for (const auto& e : ctx.plan.entries)
            if (e.kept())
                for (int d : e.deps) needed.insert(d);
        std::vector<int> ids;
        for (const auto& e : ctx.plan.entries) {
            std::smatch m;
            if (!e.kept() || e.desc != "CONSTRAINT" || needed.count(e.id) || !std::regex_match(e.sql, m, key_re)) continue;
            const TocEntry* table = nullptr;
            for (int d : e.deps)
                if (const auto* t = ctx.plan.find(d); t && t->desc == "TABLE") table = t;
            if (!table || table->sql.find("PARTITION BY") != std::string::npos) continue;
            std::string tbl = m[1], name = m[2], kind = m[3], cols = m[4];
            ctx.deferred_sql.push_back({"toc:" + std::to_string(e.id),
                                        {"CREATE UNIQUE INDEX " + name + " ON " + tbl + " USING btree " + cols,
                                         "ALTER TABLE ONLY " + tbl + " ADD CONSTRAINT " + name + " " + kind + " USING INDEX " + name},
                                        e.table, e.deps, "pg-restore"});
            ids.push_back(e.id);
        }
        for (int id : ids) ctx.plan.defer(id, "pg-restore", "built as a unique index beside the table's other indexes");
        if (!ids.empty()) ctx.log().info("keys built as unique indexes", {{"count", static_cast<std::int64_t>(ids.size())}});
    }

    void count_rows(RunContext& ctx) {
        // reltuples is exact right after the index builds of a fresh restore; count the rest.
        auto conn = common::connect(ctx.target_url);
        pqxx::nontransaction tx(*conn);
        auto r = tx.exec("SELECT n.nspname, c.relname, c.reltuples::bigint, pg_relation_size(c.oid) FROM pg_class c "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
                         "AND n.nspname NOT IN ('pg_catalog','information_schema') AND pg_has_role(c.relowner, 'USAGE')");
        for (const auto& row : r) {
            std::string name = row[0].as<std::string>() + "." + row[1].as<std::string>();
            long long n = row[2].as<long long>();
            if (n < 0 && row[3].as<long long>() < (1LL << 30))
                n = tx.exec("SELECT count(*) FROM " + common::quote_ident(row[0].as<std::string>()) + "." +
                            common::quote_ident(row[1].as<std::string>()))[0][0].as<long long>();
            ctx.report.rows_restored[name] = n;
        }
    }

    std::int64_t jobs_ = 1;
    bool drop_comments_ = false, exit_on_error_ = false;
    std::chrono::milliseconds heartbeat_{60'000};
    std::string pgoptions_, binary_;
    std::vector<std::pair<std::string, std::string>> settings_;
    bool pk_as_unique_ = true;
    std::int64_t pool_during_ = 1;
};

}  // namespace

PIXREP_STEP(PgRestoreStep)
