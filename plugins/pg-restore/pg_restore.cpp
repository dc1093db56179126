// Restores the verified dump with the real pg_restore, in parallel, from the sealed plan,
// reporting progress and a heartbeat. Beside it, a pool runs the work steps deferred as soon as
// what it needs is loaded: extra indexes, NOT VALID foreign keys, and primary keys built as
// unique indexes next to the table's other indexes. Then it checks that everything the plan
// restores is there.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <chrono>
#include <thread>

#include <pixrep/step_export.hpp>

#include "append_order.hpp"
#include "appender.hpp"
#include "build.hpp"
#include "extension_rows.hpp"
#include "beside.hpp"
#include "cpus.hpp"
#include "db.hpp"
#include "service_file.hpp"
#include "pg_errors.hpp"
#include "files.hpp"
#include "keys.hpp"
#include "pool.hpp"
#include "process.hpp"
#include "progress.hpp"
#include "row_filters.hpp"
#include "toc.hpp"
#include "verify.hpp"

namespace {

using namespace pixrep;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class PgRestoreStep final : public Step {
public:
    StepInfo info() const override {
        return {"pg-restore", "1.0.0", "Restores the dump into the target with pg_restore --jobs, minus what the plan excludes", true, true};
    }

    void declare(OptionTable& t) override {
        t.add("jobs", jobs_, "Parallel pg_restore jobs; 0 = the CPUs this container may use (cgroup quota)").env("PG_RESTORE_JOBS");
        t.add("drop_comments", drop_comments_, "Leave out every COMMENT, as the 2020 tool did (comments on extensions are always left out)")
            .env("DROP_COMMENTS");
        t.add("heartbeat", heartbeat_, "Longest silence in the logs during the restore");
        t.add("exit_on_error", exit_on_error_, "Stop pg_restore at its first error instead of at the end");
        t.add("maintenance_work_mem", maintenance_work_mem_,
              "Per-session memory for index builds and constraint checks (budget: jobs x value); \"\" = server default")
            .env("RESTORE_MAINTENANCE_WORK_MEM");
        t.add("max_parallel_maintenance_workers", parallel_workers_, "Parallel workers per index build; -1 = server default");
        t.add("synchronous_commit", synchronous_commit_, "synchronous_commit of the restore's sessions; \"\" = server default");
        t.add("toast_compression", toast_compression_,
              "How tonight's long values (jsonb, text over 2 kB) are compressed: lz4 (where the server has it), pglz, "
              "or \"\" = the server's default_toast_compression. The values read the same either way")
            .env("RESTORE_TOAST_COMPRESSION");
        t.add("session_options", session_options_, "More settings for the restore's sessions, as PGOPTIONS (e.g. -c work_mem=64MB)")
            .env("RESTORE_PGOPTIONS");
        t.add("pk_as_unique_index", pk_as_unique_,
              "Build primary keys and unique constraints as unique indexes beside the table's other indexes, then attach them");
        t.add("pool_jobs_during_restore", pool_during_, "Deferred work run at once while pg_restore still runs (afterwards: jobs)");
        t.add("analyze", analyze_, "ANALYZE each table as soon as its data is loaded, so the first queries get good plans")
            .env("ANALYZE_AFTER_LOAD");
    }

    void configure(Logger&) override {
        if (jobs_ < 0 || jobs_ > 64) throw StepError(ErrorKind::config, "option 'jobs' must be between 0 and 64, got " + std::to_string(jobs_));
        if (jobs_ == 0) jobs_ = common::usable_cpus();
        if (heartbeat_ < std::chrono::seconds(1)) throw StepError(ErrorKind::config, "option 'heartbeat' must be at least 1s");
        pool_during_ = std::max<std::int64_t>(0, pool_during_);
        // One list of settings, given to pg_restore through PGOPTIONS and to the pool with SET.
        settings_.clear();
        if (!maintenance_work_mem_.empty()) settings_.emplace_back("maintenance_work_mem", maintenance_work_mem_);
        if (!synchronous_commit_.empty()) settings_.emplace_back("synchronous_commit", synchronous_commit_);
        if (parallel_workers_ >= 0) settings_.emplace_back("max_parallel_maintenance_workers", std::to_string(parallel_workers_));
        if (toast_compression_ != "" && toast_compression_ != "lz4" && toast_compression_ != "pglz")
            throw StepError(ErrorKind::config, "option 'toast_compression' must be lz4, pglz or \"\", got '" + toast_compression_ + "'");
        for (const auto& [k, v] : settings_)
            if (v.find_first_of(" '\\") != std::string::npos)
                throw StepError(ErrorKind::config, "option '" + k + "' has an invalid value '" + v + "'");
    }

    void prepare(RunContext& ctx) override {
        if (!ctx.plan().loaded())
            throw StepError(ErrorKind::config, "pg-restore has no dump to restore: put a source step (local-file, scalingo-source) before it");
        // A comment on an extension the target role does not own fails the whole item.
        ctx.exclude([](const TocEntry& e) { return e.desc == "COMMENT" && e.tag.rfind("EXTENSION ", 0) == 0; },
                    "comment on an extension: only its owner may set it");
        if (drop_comments_) ctx.exclude([](const TocEntry& e) { return e.desc == "COMMENT"; }, "drop_comments = true");
        if (pk_as_unique_) {
            auto keys = restore::key_deferrals(ctx.plan());
            for (auto& k : keys) ctx.defer(k.id, std::move(k.work), "built as a unique index beside the table's other indexes");
            if (!keys.empty()) ctx.log().info("keys built as unique indexes", {{"count", static_cast<std::int64_t>(keys.size())}});
        }
        RestoreContext& rc = restore_context(ctx);
        for (DumpId id : restore::after_appends(ctx.plan(), rc.appends())) {
            const TocEntry e = *ctx.plan().find(id);
            ctx.defer(id, {e.tag, e.desc, {e.sql}, "", e.deps}, "after the new rows of the kept tables are appended");
        }
        if (analyze_) {
            std::vector<std::string> tables;
            for (const auto& e : ctx.plan().entries)
                if (e.restored() && e.desc == "TABLE DATA") tables.push_back(e.table);
            for (const auto& t : tables) {
                const TocEntry* table = ctx.plan().table(t);
                if (!table) continue;
                ctx.add_work({t, "ANALYZE", {"ANALYZE " + common::quote_ident(table->schema) + "." + common::quote_ident(table->tag)}, t});
            }
        }
        // An extension's configuration rows go to its table in place, once the copy is whole.
        extension_rows_.clear();
        for (const auto& e : ctx.plan().entries)
            if (e.restored() && beside::extension_config_data(ctx.plan(), e)) extension_rows_.push_back(e);
        if (!extension_rows_.empty())
            ctx.exclude([&ctx](const TocEntry& e) { return beside::extension_config_data(ctx.plan(), e); },
                        "an extension's configuration rows: added to its table once the copy is whole, where the target role may write it");
        // A range type's constructor functions belong to the bootstrap superuser: the type cannot
        // move at the swap, so it is made (once) and kept in the live schema.
        if (ctx.env().beside())
            for (const auto& e : ctx.plan().entries)
                if (e.restored() && e.desc == "TYPE" && e.sql.find(" AS RANGE") != std::string::npos) {
                    ranges_.push_back(e);
                    ctx.keep(e.id, "a range type stays in the live schema");
                }
        // The list pg_restore will read is written now, checked, before anything touches the target.
        const RestorePlan& plan = rc.seal_plan();
        if (auto why = restore::unfilterable(rc, ctx.env().beside()); !why.empty()) throw StepError(ErrorKind::config, why);
        if (ctx.env().beside()) {
            if (auto why = beside::unbuildable(plan); !why.empty())
                throw StepError(ErrorKind::config, why + ": set REFRESH=in-place to restore this backup in place");
            names_ = beside::build_names(plan, [&ctx](const std::string& schema) { return ctx.env().build_schema(schema); });
        }
        std::string list;
        for (const auto& e : plan.entries) list += (e.restored() ? "" : ";") + common::list_line(e) + "\n";
        list_ = ctx.env().work_dir() / "restore.list";
        common::write_file_checked(list_, list);
    }

    void execute(RunContext& ctx) override {
        if (ctx.env().beside()) return execute_beside(ctx);
        const auto& plan = ctx.plan();
        const auto total = static_cast<std::int64_t>(plan.restored_count());
        const auto settings = session_settings(ctx);
        ctx.log().info("restore started", {{"jobs", jobs_}, {"items", total}, {"dump", ctx.backup()->dump.string()},
                                           {"pg_restore", ctx.env().pg_restore().version}});
        const auto set_sql = set_statements(settings);
        RestoreContext& restorer = restore_context(ctx);
        restore::Pool pool(ctx, restorer.deferred(), set_sql, static_cast<int>(pool_during_), static_cast<int>(jobs_));
        for (const auto& t : restore::kept_whole(restorer)) pool.table_loaded(t);
        restore::Appender appender(restorer, set_sql, analyze_, [&pool](const std::string& table) { pool.table_loaded(table); });
        restore::Progress progress(plan);
        const auto t0 = Clock::now();
        int rc = run_pg_restore(ctx, settings, progress, pool, t0, total);
        progress.end(since(t0));
        report_items(ctx, progress, t0);
        if (ctx.env().stopping()) pool.abandon(), appender.abandon();
        ctx.add_figure("restore_wall", since(t0), Unit::seconds);
        if (ctx.env().stopping()) throw StepError(ErrorKind::fatal, "restore interrupted by a stop request; pg_restore terminated");
        check_outcome(ctx, progress, rc, pool);
        ctx.log().info("restore done", {{"items", progress.done()}, {"duration_ms", static_cast<std::int64_t>(since(t0) * 1000)},
                                        {"deferred_pending", static_cast<std::int64_t>(pool.pending())}});
        // Foreign keys and triggers on the kept tables wait for their new rows.
        appender.wait();
        pool.restore_over();
        pool.wait();
        restore::verify_restored(ctx);
        restore::add_extension_rows(ctx, extension_rows_);
    }

    void commit(RunContext& ctx) override {
        if (!ctx.env().beside()) return;
        after_swap(ctx);
        restore::add_extension_rows(ctx, extension_rows_);
    }

    // What hangs on kept tables, and the live schemas' comments, on the names now tonight's.
    void after_swap(RunContext& ctx) {
        if (build_.after_swap.empty()) return;
        common::Session s(ctx.env(), "pg-restore after the swap");
        for (const auto& w : build_.after_swap) {
            const auto t = Clock::now();
            std::string current;
            try {
                s.run([&](common::Connection& c) {
                    for (const auto& sql : w.sql) {
                        current = sql;
                        pqxx::nontransaction tx(c);
                        tx.exec(sql);
                    }
                });
            } catch (const StepError&) {
                throw;
            } catch (const std::exception& e) {
                throw StepError(common::exception_error_kind(e), "after the swap, " + w.kind + " " + w.label + ": " + common::one_line(e.what()));
            }
            ctx.add_timing(w.kind, w.label, t, since(t));
        }
        ctx.log().info("made again on the live copy, after the swap", {{"items", static_cast<std::int64_t>(build_.after_swap.size())}});
    }

    // A build that did not reach the swap leaves nothing behind where it can help it.
    void finish(RunContext& ctx, const RunOutcome& outcome) override {
        if (built_ && !outcome.success) restore::drop_build_schemas(ctx, names_);
    }

private:
    // The restore's session settings, given to pg_restore through PGOPTIONS and to the pool and
    // the loaders with SET. PostgreSQL 14+ checks that a session's client is still there during
    // long statements: killed with the tool, the restore's sessions stop at once. pglz, its
    // default TOAST compression, takes about twice lz4's time to load rows of 3 kB documents
    // (and longer to read them back); a column whose compression the dump sets keeps it.
    std::vector<std::pair<std::string, std::string>> session_settings(RunContext& ctx) const {
        auto settings = settings_;
        const Server server = server_facts(ctx);
        if (server.version >= 140000) settings.emplace_back("client_connection_check_interval", "2s");
        if (toast_compression_ == "lz4" && !server.lz4)
            ctx.add_note("long values compressed with the server's default: it was built without lz4 (toast_compression)");
        else if (!toast_compression_.empty())
            settings.emplace_back("default_toast_compression", toast_compression_);
        return settings;
    }

    static std::vector<std::string> set_statements(const std::vector<std::pair<std::string, std::string>>& settings) {
        std::vector<std::string> set_sql;
        for (const auto& [k, v] : settings) set_sql.push_back(k + " = '" + v + "'");
        return set_sql;
    }

    // The size of what the target role owns in `schemas` (tables with their indexes and TOAST).
    static std::int64_t owned_bytes(RunContext& ctx, const std::vector<std::string>& schemas) {
        std::string list;
        for (const auto& sc : schemas) list += (list.empty() ? "" : ", ") + common::quote_literal(sc);
        if (list.empty()) return 0;
        common::Session s(ctx.env(), "pg-restore sizes");
        return s.run([&](common::Connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = "
                           "c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname IN (" + list + ") AND c.relowner = "
                           "(SELECT oid FROM pg_roles WHERE rolname = current_user)")[0][0].as<std::int64_t>();
        });
    }

    static std::string mb(std::int64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MB"; }

    // Tonight's copy in the build schemas, while readers keep yesterday's.
    void execute_beside(RunContext& ctx) {
        RestoreContext& rc = restore_context(ctx);
        // Now: the steps after this one left their work in their own prepare().
        build_ = beside::build_plan(ctx.plan(), rc.deferred(), names_);
        const auto set_sql = set_statements(session_settings(ctx));
        std::vector<std::string> live, built;
        for (const auto& [schema, build] : names_.schemas) live.push_back(schema), built.push_back(build);
        const std::int64_t live_bytes = owned_bytes(ctx, live);
        ctx.add_figure("live_copy_bytes", static_cast<double>(live_bytes), Unit::bytes);
        ctx.log().info("restore started", {{"jobs", jobs_}, {"tables", static_cast<std::int64_t>(build_.loads.size())},
                                           {"items", static_cast<std::int64_t>(build_.schema.size() + build_.work.size())},
                                           {"dump", ctx.backup()->dump.string()}, {"beside", true}, {"live_copy_bytes", live_bytes}});
        const auto t0 = Clock::now();
        make_ranges(ctx);
        built_ = true;
        try {
            restore::build_schema(ctx, names_, build_, set_sql);
            restore::Pool pool(ctx, build_.work, set_sql, static_cast<int>(pool_during_), static_cast<int>(jobs_));
            for (const auto& t : restore::kept_whole(rc)) pool.table_loaded(t);
            restore::Appender appender(rc, set_sql, analyze_, [&pool](const std::string& table) { pool.table_loaded(table); });
            {
                restore::Loader loader(ctx, build_.loads, set_sql, static_cast<int>(jobs_), [&pool](const std::string& t) { pool.table_loaded(t); });
                try {
                    loader.wait(heartbeat_);
                } catch (...) {
                    pool.abandon(), appender.abandon();
                    throw;
                }
                ctx.log().info("rows loaded", {{"tables", static_cast<std::int64_t>(build_.loads.size())}, {"rows", loader.rows()},
                                               {"duration_ms", static_cast<std::int64_t>(since(t0) * 1000)},
                                               {"deferred_pending", static_cast<std::int64_t>(pool.pending())}});
            }
            appender.wait();
            pool.restore_over();
            pool.wait();
        } catch (const StepError& e) {
            if (!common::disk_full(e.what())) throw;
            const std::int64_t so_far = owned_bytes(ctx, built);
            throw StepError(ErrorKind::fatal, "the target's disk filled while building tonight's copy beside yesterday's (" + mb(live_bytes) +
                                                  "): " + mb(so_far) + " were built, about " + mb(std::max<std::int64_t>(0, live_bytes - so_far)) +
                                                  " more room is needed; yesterday's copy is intact. Free room on the target, or set "
                                                  "REFRESH=in-place (readers then see no tables during the restore)");
        }
        ctx.add_figure("restore_wall", since(t0), Unit::seconds);
        std::set<DumpId> later;
        for (const auto& w : build_.after_swap)
            if (w.replaces) later.insert(*w.replaces);
        restore::verify_restored(ctx, &names_, later);
        const std::int64_t build_bytes = owned_bytes(ctx, built);
        ctx.add_figure("build_bytes", static_cast<double>(build_bytes), Unit::bytes);
        ctx.add_note("tonight's copy (" + mb(build_bytes) + ") was built beside yesterday's (" + mb(live_bytes) +
                     "): the target held both until the swap");
    }

    // The backup's range types, in the live schema: made when missing, else they must be the same.
    void make_ranges(RunContext& ctx) {
        if (ranges_.empty()) return;
        common::Session s(ctx.env(), "pg-restore ranges");
        s.run([&](common::Connection& c) {
            pqxx::nontransaction tx(c);
            for (const auto& e : ranges_) {
                const std::string name = common::sql_name(e.schema) + "." + common::sql_name(e.tag);
                auto r = tx.exec("SELECT format_type(rngsubtype, NULL) FROM pg_range WHERE rngtypid = to_regtype(" + tx.quote(name) + ")");
                if (r.empty()) {
                    // A schema new tonight: made in place for it, tonight's objects then swap into it.
                    tx.exec("CREATE SCHEMA IF NOT EXISTS " + common::sql_name(e.schema));
                    tx.exec(beside::kDumpSearchPath);
                    tx.exec(e.sql);
                    ctx.log().info("range type made in the live schema", {{"type", name}});
                    continue;
                }
                if (e.sql.find("subtype = " + r[0][0].as<std::string>()) == std::string::npos)
                    throw StepError(ErrorKind::config, "range type " + name + " of the live copy differs from the backup's, and a range type "
                                                       "cannot be built beside (its constructors belong to the bootstrap superuser): set "
                                                       "REFRESH=in-place for one run");
            }
        });
    }

    struct Server {
        int version = 0;
        bool lz4 = false;  ///< TOAST compression with lz4 (PostgreSQL 14+ built with it).
    };
    static Server server_facts(RunContext& ctx) {
        common::Session s(ctx.env(), "pg-restore");
        return s.run([](common::Connection& c) {
            pqxx::nontransaction tx(c);
            Server out{c.server_version(), false};
            if (out.version >= 140000)
                out.lz4 = tx.exec("SELECT coalesce('lz4' = ANY(enumvals), false) FROM pg_settings WHERE name = 'default_toast_compression'")[0][0]
                              .as<bool>();
            return out;
        });
    }

    int run_pg_restore(RunContext& ctx, const std::vector<std::pair<std::string, std::string>>& settings, restore::Progress& progress,
                       restore::Pool& pool, Clock::time_point t0, std::int64_t total) {
        const auto& target = ctx.env().target();
        common::ProcessSpec spec;
        // The password travels in the environment, never on a command line anyone can read.
        spec.argv = {ctx.env().pg_restore().path.string(), "--verbose", "--no-owner", "--no-privileges",
                     "--jobs=" + std::to_string(jobs_), "--use-list=" + list_.string(), "--dbname=" + target.conninfo_public};
        if (exit_on_error_) spec.argv.push_back("--exit-on-error");
        spec.argv.push_back(ctx.backup()->dump.string());
        if (!target.password.empty()) spec.env.emplace_back("PGPASSWORD", target.password);
        // libpq reads a TLS key's passphrase from no variable: a service file of this run's own
        // folder (mode 0600, removed as soon as pg_restore is done) carries it.
        std::optional<common::ServiceFile> service;
        if (!target.sslpassword.empty()) {
            service.emplace(ctx.env().work_dir() / "pg_service.conf", "pix-db-replication-target", target.sslpassword);
            spec.argv[6] = "--dbname=" + service->dbname(target.conninfo_public);
            spec.env.emplace_back("PGSERVICEFILE", service->path().string());
        }
        std::string pgoptions = session_options_;
        for (const auto& [k, v] : settings) pgoptions += (pgoptions.empty() ? "" : " ") + std::string("-c ") + k + "=" + v;
        if (!pgoptions.empty()) spec.env.emplace_back("PGOPTIONS", pgoptions);

        std::int64_t last_pct = 0;
        auto last_log = Clock::now();
        auto log_progress = [&](const char* msg) {
            last_log = Clock::now();
            ctx.log().info(msg, {{"done", progress.done()}, {"total", total},
                                 {"percent", static_cast<std::int64_t>(total ? progress.done() * 100 / total : 100)},
                                 {"elapsed_s", static_cast<std::int64_t>(since(t0))}, {"running", progress.running(since(t0))}});
        };
        common::ProcessHooks hooks;
        hooks.on_stderr = [&](const std::string& line) {
            progress.line(line, since(t0));
            for (const auto& table : progress.take_loaded()) pool.table_loaded(table);
            for (const auto& e : progress.take_new_errors()) ctx.log().error("pg_restore: " + e);
            std::int64_t pct = total ? progress.done() * 100 / total : 100;
            if (pct / 10 > last_pct / 10) {
                last_pct = pct;
                log_progress("restore progress");
            }
        };
        hooks.on_tick = [&] {
            if (Clock::now() - last_log >= heartbeat_) log_progress("restore heartbeat");
        };
        hooks.stop = [&ctx] { return ctx.env().stopping(); };
        return common::run_process(spec, hooks);
    }

    static void report_items(RunContext& ctx, restore::Progress& progress, Clock::time_point t0) {
        for (const auto& it : progress.take_finished())
            ctx.add_timing(it.desc, it.tag, t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(it.start)),
                           it.end - it.start);
    }

    // pg_restore's errors fail the run, except those that only say the server does not know a
    // session setting a newer pg_restore sends (e.g. transaction_timeout into PostgreSQL 15).
    void check_outcome(RunContext& ctx, const restore::Progress& progress, int rc, restore::Pool& pool) {
        // pg_restore's final count misses some of its workers' errors (observed: 4 printed, 2
        // counted): what it counts must be within what was seen to be harmless.
        const bool only_harmless = progress.errors() == 0 && progress.harmless() > 0 && progress.reported_ignored() <= progress.harmless();
        if (rc == 0 && progress.errors() == 0) return;
        if (rc == 1 && only_harmless) {
            std::string names;
            for (const auto& s : progress.unknown_settings()) names += (names.empty() ? "" : ", ") + s;
            ctx.log().warn("the target server does not know session settings pg_restore " + ctx.env().pg_restore().version +
                               " sends; ignored", {{"settings", names}, {"errors_ignored", progress.harmless()}});
            return;
        }
        pool.abandon();
        std::string first;
        const auto& errs = progress.first_errors();
        for (std::size_t i = 0; i < std::min<std::size_t>(3, errs.size()); ++i) first += (i ? " | " : "") + errs[i];
        if (first.empty()) first = "exit code " + std::to_string(rc);
        // A lost connection or a restarted server may heal; an SQL error fails the same way again.
        ErrorKind kind = errs.empty() ? ErrorKind::transient : ErrorKind::fatal;
        for (const auto& e : errs)
            if (common::message_error_kind(e) == ErrorKind::transient) kind = ErrorKind::transient;
        throw StepError(kind,
                        "pg_restore failed with " + std::to_string(std::max<std::int64_t>(1, progress.errors())) + " error(s): " + first);
    }

    std::int64_t jobs_ = 0, parallel_workers_ = -1, pool_during_ = 1;
    bool drop_comments_ = false, exit_on_error_ = false, pk_as_unique_ = true, analyze_ = true;
    std::chrono::milliseconds heartbeat_{60'000};
    std::string maintenance_work_mem_, synchronous_commit_ = "off", toast_compression_ = "lz4", session_options_;
    std::vector<std::pair<std::string, std::string>> settings_;
    std::filesystem::path list_;
    beside::BuildNames names_;
    beside::BuildPlan build_;
    bool built_ = false;
    std::vector<TocEntry> ranges_;
    std::vector<TocEntry> extension_rows_;
};

}  // namespace

PIXREP_STEP(PgRestoreStep)
