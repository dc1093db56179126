// Restores the verified dump with the real pg_restore, in parallel, from the filtered table of
// contents, reporting progress and a heartbeat, then runs the independent statements other steps
// queued (ctx.after_restore_sql) on the same number of connections.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
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
                 {"session_options", T::string, OptionValue(std::string()), false,
                  "Settings for the restore's sessions, as PGOPTIONS (e.g. -c maintenance_work_mem=256MB)", "RESTORE_PGOPTIONS"},
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
        session_options_ = o.string("session_options");
        binary_ = o.string("pg_restore");
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
        if (!session_options_.empty()) spec.env.emplace_back("PGOPTIONS", session_options_);

        const auto total = static_cast<std::int64_t>(ctx.plan.kept_count());
        ctx.log().info("restore started", {{"jobs", jobs_}, {"items", total}, {"dump", backup.dump.string()}});
        Progress p(ctx, total);
        common::ProcessHooks hooks;
        hooks.on_stderr = [&](const std::string& line) { p.line(line); };
        hooks.on_tick = [&] { p.tick(heartbeat_); };
        hooks.stop = ctx.stop;
        int rc = common::run_process(spec, hooks);
        ctx.report.restore_wall_seconds = since(p.t0);
        if (ctx.stopping()) throw StepError(ErrorKind::fatal, "restore interrupted by a stop request; pg_restore terminated");
        if (rc != 0 || !p.errors.empty()) {
            std::string first;
            for (std::size_t i = 0; i < std::min<std::size_t>(3, p.errors.size()); ++i) first += (i ? " | " : "") + p.errors[i];
            if (first.empty()) first = "exit code " + std::to_string(rc);
            throw StepError(ErrorKind::transient, "pg_restore failed with " + std::to_string(p.error_count) + " error(s): " + first);
        }
        ctx.log().info("restore done", {{"items", p.done}, {"duration_ms", static_cast<std::int64_t>(ctx.report.restore_wall_seconds * 1000)}});
        run_after_restore(ctx);
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

    void run_after_restore(RunContext& ctx) {
        if (ctx.after_restore_sql.empty()) return;
        // The statements are independent of each other: run them side by side, like pg_restore's jobs.
        std::mutex mu;
        std::size_t next = 0;
        std::string failure;
        auto worker = [&] {
            std::unique_ptr<pqxx::connection> conn;
            for (;;) {
                std::string sql;
                {
                    std::lock_guard<std::mutex> lock(mu);
                    if (next >= ctx.after_restore_sql.size() || !failure.empty()) return;
                    sql = ctx.after_restore_sql[next++];
                }
                auto t = Clock::now();
                try {
                    if (!conn) conn = common::connect(ctx.target_url);
                    pqxx::nontransaction tx(*conn);
                    tx.exec(sql);
                    std::lock_guard<std::mutex> lock(mu);
                    ctx.report.restore_items.push_back({0, "POST-SQL", sql.substr(0, 60), ctx.report.restore_wall_seconds, since(t)});
                    ctx.log().info("after-restore statement done", {{"sql", sql}, {"duration_ms", static_cast<std::int64_t>(since(t) * 1000)}});
                } catch (const std::exception& e) {
                    std::lock_guard<std::mutex> lock(mu);
                    if (failure.empty()) failure = "statement failed: " + sql + ": " + e.what();
                }
            }
        };
        std::vector<std::thread> pool;
        for (std::int64_t i = 0; i < std::min<std::int64_t>(jobs_, static_cast<std::int64_t>(ctx.after_restore_sql.size())); ++i)
            pool.emplace_back(worker);
        for (auto& t : pool) t.join();
        if (!failure.empty()) throw StepError(ErrorKind::transient, failure);
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
    std::string session_options_, binary_;
};

}  // namespace

PIXREP_STEP(PgRestoreStep)
