// Live source: the production database itself (SOURCE_DATABASE_URL), as the original has read
// it since 2020. By default the schema comes from the real pg_dump --schema-only and the rows
// are COPY'd straight from the source into tonight's copy, every table from one exported
// snapshot, on at most SOURCE_JOBS connections, with no dump on disk. SOURCE_MODE=dump writes
// a directory dump with pg_dump --jobs instead and restores it as a backup.
#include <pixrep/step_export.hpp>

#include "db.hpp"
#include "live_db.hpp"
#include "live_plan.hpp"
#include "pg_dump.hpp"
#include "pg_errors.hpp"
#include "source.hpp"
#include "source_url.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pixrep;

class PostgresSourceStep final : public Step {
public:
    StepInfo info() const override {
        // It reads the target once, to refuse a source that is the target itself.
        return {"postgres-source", "1.0.0", "Copies a live PostgreSQL database from one snapshot, or dumps it with pg_dump --jobs", true};
    }

    void declare(OptionTable& t) override {
        t.add("url", url_, "The source database, a role that may only read: postgres://user:password@host:port/dbname")
            .env("SOURCE_DATABASE_URL")
            .required()
            .secret();
        t.add("jobs", jobs_, "Connections to the source at most, the snapshot's own included (at least 2)").env("SOURCE_JOBS");
        t.add("mode", mode_, "stream: rows COPY'd from the source into the target, no dump on disk; dump: a verified directory dump "
                             "made with pg_dump --jobs, then restored")
            .env("SOURCE_MODE");
        t.add("split_tables_larger_than", split_bytes_, "Tables bigger than this (bytes on the source) are read in key ranges side by side")
            .env("SOURCE_SPLIT_TABLES_LARGER_THAN");
    }

    void configure(Logger&) override {
        if (mode_ != "stream" && mode_ != "dump")
            throw StepError(ErrorKind::config, "SOURCE_MODE must be 'stream' or 'dump', got '" + mode_ + "'");
        if (jobs_ < 2 || jobs_ > 64)
            throw StepError(ErrorKind::config, "SOURCE_JOBS must be between 2 and 64 (one connection holds the snapshot, the others read), got " +
                                                   std::to_string(jobs_));
        if (split_bytes_ < 0) throw StepError(ErrorKind::config, "SOURCE_SPLIT_TABLES_LARGER_THAN must be a size in bytes, at least 0");
        source_ = live::parse_source_url(url_);
    }

    // Read-only, before the run is recorded: the source answers, is not the target, and a pg_dump
    // here is as new as it.
    void check(const RunEnv& env, Logger&) override {
        if (mode_ == "stream" && !env.beside())
            throw StepError(ErrorKind::config, "SOURCE_MODE=stream builds tonight's copy beside yesterday's: with REFRESH=in-place, set SOURCE_MODE=dump");
        const std::string facts = "SELECT current_database(), pg_postmaster_start_time()::text, current_setting('server_version_num')";
        common::PgConn source(source_.conninfo + " application_name='pix-db-replication source check'", source_.label, std::chrono::seconds(30),
                              [&env] { return env.stopping(); }, "source");
        source.set_statement_deadline(std::chrono::seconds(30));
        const auto s = source.exec(facts);
        common::Session target(env, "postgres-source check", true);
        const auto t = target.run([&](common::Connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec(facts)[0];
        });
        if (t[0].as<std::string>() == s[0][0].value_or("") && t[1].as<std::string>() == s[0][1].value_or(""))
            throw StepError(ErrorKind::config, "SOURCE_DATABASE_URL and DATABASE_URL name the same database: the copy would overwrite its own source");
        std::vector<std::string> unreadable;
        for (const auto& row : source.exec(live::unreadable_sql())) unreadable.push_back(row[0].value_or(""));
        refuse_unreadable(unreadable);
        live::find_pg_dump(env, std::stoi(s[0][2].value_or("0")) / 10000);
    }

    void prepare(RunContext& ctx) override {
        live_.reset();  // a retry starts from a fresh snapshot, never one mixing two instants
        auto live = std::make_shared<live::LiveDb>(source_, static_cast<int>(jobs_), split_bytes_, ctx.env(), ctx.log());
        check_source(ctx, *live);
        const Tool pg_dump = live::find_pg_dump(ctx.env(), live->facts().server_version / 10000);
        Backup b;
        // The history and the page show these: the source's user, host and database stay out.
        b.id = "live:" + live->facts().taken_at;
        b.name = "live source (" + live->facts().taken_at + ")";
        b.created_at = live->facts().taken_at;
        const auto t0 = std::chrono::steady_clock::now();
        if (mode_ == "dump") {
            b.dump = ctx.env().work_dir() / "source.dump";
            fs::remove_all(b.dump);
            // SOURCE_JOBS counts the snapshot's session and pg_dump's leader beside its workers.
            live::run_pg_dump(ctx, pg_dump, source_, {b.dump, live->snapshot(), false, static_cast<int>(std::max<std::int64_t>(1, jobs_ - 2))});
            ctx.add_figure("source_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), Unit::seconds);
            live->release();
            auto scan = common::verify_local_dump(b.dump, ctx.env());
            return common::adopt_backup(ctx, std::move(b), *scan);
        }
        b.dump = ctx.env().work_dir() / "source-schema.pgsql";
        live::run_pg_dump(ctx, pg_dump, source_, {b.dump, live->snapshot(), true, 1});
        auto scan = common::verify_local_dump(b.dump, ctx.env());
        RestorePlan plan = common::checked_plan(ctx.env(), b, *scan);
        plan = live::live_plan(std::move(plan), live->tables(), live->sequences(), live->populated_views());
        ctx.log().info("source schema read", {{"source", source_.where}, {"entries", static_cast<std::int64_t>(plan.entries.size())},
                                              {"pg_dump", pg_dump.version}, {"jobs", jobs_}});
        ctx.adopt(std::move(b), std::move(plan));
        ctx.serve(live);
        live_ = live;
    }

    void execute(RunContext& ctx) override {
        if (!live_) return;
        // The snapshot is held only while rows are read: it goes once every table the run reads
        // was read whole. A kept table is read only for its appends (a reused one not at all).
        std::set<DumpId> read;
        for (const auto& e : ctx.plan().entries)
            if (e.desc == "TABLE DATA" && e.restored()) read.insert(e.id);
        for (const auto& a : ctx.appends())
            if (const TocEntry* e = ctx.plan().find(a.data); e && e->fate == Fate::kept) read.insert(a.data);
        live_->expect(read);
    }

    void commit(RunContext& ctx) override { report(ctx); }

    void finish(RunContext& ctx, const RunOutcome& outcome) override {
        if (!outcome.success) report(ctx);
        live_.reset();
    }

private:
    // What the snapshot must allow before anything is read: every table and sequence readable by
    // the role (check() saw it too, and that the source is not the target).
    void check_source(RunContext&, const live::LiveDb& live) { refuse_unreadable(live.facts().unreadable); }

    static void refuse_unreadable(const std::vector<std::string>& unreadable) {
        if (unreadable.empty()) return;
        std::string names;
        for (std::size_t i = 0; i < unreadable.size() && i < 20; ++i) names += (i ? ", " : "") + unreadable[i];
        if (unreadable.size() > 20) names += " and " + std::to_string(unreadable.size() - 20) + " more";
        throw StepError(ErrorKind::config, "the role of SOURCE_DATABASE_URL may not read " + std::to_string(unreadable.size()) +
                                               " table(s) of the source: " + names + " (GRANT SELECT, or pg_read_all_data)");
    }

    void report(RunContext& ctx) {
        if (!live_ || reported_ == live_.get()) return;
        reported_ = live_.get();
        live_->release();
        ctx.add_figure("source_seconds", live_->held_seconds(), Unit::seconds);
        ctx.add_figure("source_bytes", static_cast<double>(live_->bytes_read()), Unit::bytes);
        std::string split;
        for (const auto& t : live_->split_tables()) split += (split.empty() ? "" : ", ") + t;
        ctx.log().info("source snapshot let go", {{"held_s", live_->held_seconds()}, {"bytes_read", live_->bytes_read()}, {"read_in_key_ranges", split}});
        const auto& tls = live_->facts().encryption;
        ctx.add_note("rows read from the live source" + std::string(live_->facts().standby ? " (a standby)" : "") +
                     (tls.empty() ? " over a connection NOT encrypted (sslmode allowed it)" : " over " + tls) + " in one snapshot held " +
                     std::to_string(static_cast<long long>(live_->held_seconds())) + " s, " +
                     std::to_string(live_->bytes_read() >> 20) + " MB" + (split.empty() ? "" : "; read in key ranges: " + split));
    }

    std::string url_, mode_ = "stream";
    std::int64_t jobs_ = 4, split_bytes_ = 64LL << 20;
    live::SourceUrl source_;
    std::shared_ptr<live::LiveDb> live_;
    const void* reported_ = nullptr;
};

}  // namespace

PIXREP_STEP(PostgresSourceStep)
