#include "pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <cmath>
#include <cstring>
#include <fstream>

#include <pqxx/pqxx>

#include "cron.hpp"

namespace pixrep {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::int64_t ms(double s) { return static_cast<std::int64_t>(s * 1000); }

std::string fmt_seconds(double s) {
    std::ostringstream os;
    if (s >= 3600) os << static_cast<int>(s / 3600) << "h" << std::setw(2) << std::setfill('0') << static_cast<int>(s / 60) % 60 << "m";
    else if (s >= 60) os << static_cast<int>(s / 60) << "m" << std::setw(2) << std::setfill('0') << static_cast<int>(s) % 60 << "s";
    else os << std::fixed << std::setprecision(1) << s << "s";
    return os.str();
}

// Interruptible sleep: returns false when a stop was requested.
bool sleep_unless_stopped(std::chrono::milliseconds d, const std::atomic<bool>* stop) {
    auto until = Clock::now() + d;
    while (Clock::now() < until) {
        if (stop && stop->load()) return false;
        std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(100), until - Clock::now()));
    }
    return !(stop && stop->load());
}

// Holds a session-level advisory lock on the target for the whole execute phase, so a one-off
// `run` and the scheduled job never restore into the same database together.
class TargetLock {
public:
    TargetLock(const std::string& url, std::chrono::milliseconds wait, const std::atomic<bool>* stop) {
        try {
            conn_ = std::make_unique<pqxx::connection>(url);
        } catch (const std::exception& e) {
            throw StepError(ErrorKind::transient, std::string("cannot connect to the target database: ") + e.what());
        }
        auto deadline = Clock::now() + wait;
        for (;;) {
            pqxx::nontransaction tx(*conn_);
            if (tx.exec("SELECT pg_try_advisory_lock(" + std::to_string(kKey) + ")")[0][0].as<bool>()) return;
            if (Clock::now() >= deadline)
                throw LockBusy("another replication holds the lock on the target database (advisory lock " +
                               std::to_string(kKey) + "); not starting a second one");
            if (!sleep_unless_stopped(std::chrono::milliseconds(500), stop))
                throw StepError(ErrorKind::fatal, "stopped while waiting for the target's lock");
        }
    }
    static constexpr long long kKey = 0x706978726570LL;  // "pixrep"

private:
    std::unique_ptr<pqxx::connection> conn_;
};

const char* kind_group(const std::string& desc) {
    for (const char* k : {"TABLE DATA", "INDEX", "CONSTRAINT", "FK CONSTRAINT", "SEQUENCE SET"})
        if (desc == k) return k;
    return "other";
}

}  // namespace

const std::vector<OptionSpec>& run_option_specs() {
    using T = OptionType;
    using std::chrono::milliseconds;
    static const std::vector<OptionSpec> specs = {
        {"database_url", T::string, std::nullopt, true, "Target database, emptied and restored at every run", "DATABASE_URL"},
        {"work_dir", T::string, OptionValue(std::string("/tmp/pix-db-replication")), false,
         "Scratch directory for the extracted dump", "REPLICATION_WORK_DIR"},
        {"plugin_path", T::string_list, OptionValue(std::vector<std::string>{}), false,
         "Extra directories searched for step plugins, before the built-in ones", ""},
        {"max_retry_count", T::integer, OptionValue(std::int64_t{10}), false,
         "Retries of a failed run (download through restore) after the first attempt", "MAX_RETRY_COUNT"},
        {"retry_min_delay", T::duration, OptionValue(milliseconds(1000)), false,
         "Wait before the first retry; doubled at each retry", "RETRY_MIN_DELAY"},
        {"retry_max_delay", T::duration, OptionValue(milliseconds(15 * 60 * 1000)), false,
         "Longest wait between two attempts", "RETRY_MAX_DELAY"},
        {"retries_timeout_minutes", T::integer, OptionValue(std::int64_t{180}), false,
         "Warn once the attempts have lasted longer than this", "RETRIES_TIMEOUT_MINUTES"},
        {"lock_timeout", T::duration, OptionValue(milliseconds(0)), false,
         "How long to wait for another run on the same target to finish before giving up", "LOCK_TIMEOUT"},
        {"schedule", T::string, std::nullopt, false, "Cron expression (node-cron syntax) for `schedule`", "SCHEDULE"},
        {"time_zone", T::string, OptionValue(std::string("UTC")), false, "IANA time zone of the schedule", "SCHEDULE_TIME_ZONE"},
    };
    return specs;
}

Options resolve_run_options(const PipelineConfig& config, const EnvLookup& env, std::vector<std::string>* warnings) {
    return resolve_options(config.file.string() + " [run]", run_option_specs(), config.run, env, warnings);
}

Pipeline::Pipeline(PipelineConfig config, HostLogger& log, EnvLookup env)
    : config_(std::move(config)), log_(log), env_(std::move(env)) {}

void Pipeline::load() {
    run_options_ = resolve_run_options(config_, env_, &warnings_);
    PluginLoader loader(PluginLoader::default_dirs(run_options_.list("plugin_path")));
    // Load and validate everything before anything runs: a typo must never let the job drop the
    // target and then fail at restore.
    for (const auto& sc : config_.steps) {
        if (!sc.enabled) continue;
        PipelineStep ps{sc, loader.load(sc.plugin), {}};
        const std::string scope = "step '" + sc.plugin + "' (" + sc.where + ")";
        ps.options = resolve_options(scope, ps.loaded.info.options, sc.options, env_, &warnings_);
        for (const auto& spec : ps.loaded.info.options) {
            if (!spec.secret || !ps.options.has(spec.key)) continue;
            if (spec.type == OptionType::string) log_.add_secret(ps.options.string(spec.key));
            if (spec.type == OptionType::string_list)
                for (const auto& v : ps.options.list(spec.key)) log_.add_secret(v);
        }
        ScopedLogger slog(log_, {{"step", sc.plugin}});
        try {
            ps.loaded.step->configure(ps.options, slog);
        } catch (const StepError& e) {
            throw StepError(ErrorKind::config, scope + ": " + e.what());
        } catch (const std::exception& e) {
            throw StepError(ErrorKind::config, scope + ": " + e.what());
        }
        steps_.push_back(std::move(ps));
    }
    if (steps_.empty()) throw StepError(ErrorKind::config, config_.file.string() + ": every step is disabled");
    for (const auto& w : warnings_) log_.warn(w);
}

void Pipeline::describe(std::ostream& out) const {
    out << "config " << config_.file.string() << ": " << steps_.size() << " steps, in this order:\n";
    int i = 1;
    for (const auto& s : steps_) {
        out << "  " << i++ << ". " << s.name() << " " << s.loaded.info.version << "  (" << s.loaded.file.string() << ")\n"
            << "     " << s.loaded.info.description << "\n";
        for (const auto& spec : s.loaded.info.options) {
            if (!s.options.has(spec.key)) continue;
            out << "     " << spec.key << " = "
                << (spec.secret ? std::string("***") : log_.redact(format_value(s.options.all().at(spec.key)))) << "\n";
        }
    }
    for (const auto& sc : config_.steps)
        if (!sc.enabled) out << "  (disabled: " << sc.plugin << " at " << sc.where << ")\n";
}

void Pipeline::attempt(RunContext& ctx, RunOutcome& outcome) {
    auto t0 = Clock::now();
    std::unique_ptr<TargetLock> lock;
    auto run_phase = [&](const char* phase, auto&& call) {
        for (auto& s : steps_) {
            if (ctx.stopping()) throw StepError(ErrorKind::fatal, "stopped by signal");
            ScopedLogger slog(log_, {{"step", s.name()}, {"phase", std::string(phase)}});
            ctx.logger = &slog;
            auto ts = Clock::now();
            try {
                call(*s.loaded.step);
            } catch (...) {
                outcome.failed_step = s.name();
                ctx.report.step_seconds.emplace_back(s.name() + " (" + phase + ")", seconds_since(ts));
                throw;
            }
            double d = seconds_since(ts);
            ctx.report.step_seconds.emplace_back(s.name() + " (" + phase + ")", d);
            if (d >= 0.05) slog.info(std::string(phase) + " done", {{"duration_ms", ms(d)}});
        }
    };
    run_phase("prepare", [&](Step& st) { st.prepare(ctx); });
    // A statement deferred by one step loses its object when a later step excludes what it
    // depends on (a foreign key to a table left out): it is dropped with it.
    auto& deferred = ctx.deferred_sql;
    deferred.erase(std::remove_if(deferred.begin(), deferred.end(),
                                  [&](const DeferredSql& d) {
                                      bool orphan = d.key.rfind("toc:", 0) == 0 && ctx.plan.dropped(std::atoi(d.key.c_str() + 4));
                                      for (int dep : d.toc_deps) orphan = orphan || ctx.plan.dropped(dep);
                                      if (orphan) log_.debug("deferred statement dropped with what it depends on", {{"key", d.key}});
                                      return orphan;
                                  }),
                   deferred.end());
    if (!ctx.dry_run) {
        ScopedLogger hl(log_, {{"step", std::string("host")}});
        lock = std::make_unique<TargetLock>(ctx.target_url, run_options_.duration("lock_timeout"), ctx.stop);
        hl.debug("target lock acquired");
        run_phase("execute", [&](Step& st) { st.execute(ctx); });
    }
    outcome.success = true;
    outcome.seconds = seconds_since(t0);
}

int Pipeline::run(bool dry_run, const std::atomic<bool>* stop) {
    const auto work_dir = std::filesystem::path(run_options_.string("work_dir"));
    std::error_code ec;
    std::filesystem::create_directories(work_dir, ec);
    if (ec) {
        log_.error("cannot create work directory " + work_dir.string() + ": " + ec.message());
        return kExitInvalid;
    }
    const std::int64_t max_retries = std::max<std::int64_t>(0, run_options_.integer("max_retry_count"));
    auto delay = run_options_.duration("retry_min_delay");
    const auto max_delay = run_options_.duration("retry_max_delay");
    const auto warn_after = std::chrono::minutes(run_options_.integer("retries_timeout_minutes"));
    auto t0 = Clock::now();
    bool warned_long = false;
    log_.info(dry_run ? "plan preview started" : "replication started",
              {{"steps", static_cast<std::int64_t>(steps_.size())}, {"max_retry_count", max_retries}});

    for (int attempt_no = 1;; ++attempt_no) {
        RunContext ctx;
        ctx.target_url = run_options_.string("database_url");
        ctx.work_dir = work_dir;
        ctx.dry_run = dry_run;
        ctx.stop = stop;
        ctx.logger = &log_;
        RunOutcome outcome;
        int code = kExitOk;
        ErrorKind kind = ErrorKind::fatal;
        try {
            attempt(ctx, outcome);
        } catch (const LockBusy& e) {
            outcome.error = log_.redact(e.what());
            code = kExitLocked;
        } catch (const StepError& e) {
            outcome.error = log_.redact(e.what());
            kind = e.kind();
            code = (kind == ErrorKind::config || kind == ErrorKind::input) ? kExitInvalid : kExitRunFailed;
        } catch (const std::exception& e) {
            outcome.error = log_.redact(e.what());
            kind = ErrorKind::transient;
            code = kExitRunFailed;
        }
        outcome.attempt = attempt_no;
        outcome.seconds = seconds_since(t0);
        if (stop && stop->load()) code = kExitSigterm;  // refined by main with the actual signal

        bool retry = !outcome.success && code == kExitRunFailed && kind == ErrorKind::transient &&
                     attempt_no <= max_retries && !(stop && stop->load());
        if (!outcome.success) {
            Fields f{{"attempt", static_cast<std::int64_t>(attempt_no)}, {"error", outcome.error}};
            if (!outcome.failed_step.empty()) f.emplace_back("failed_step", outcome.failed_step);
            if (retry) {
                f.emplace_back("retry_in_ms", static_cast<std::int64_t>(delay.count()));
                log_.warn("attempt " + std::to_string(attempt_no) + " failed: " + outcome.error, f);
                if (!warned_long && Clock::now() - t0 > warn_after) {
                    warned_long = true;
                    log_.warn("retries have lasted more than " + std::to_string(warn_after.count()) + " minutes");
                }
                // finish() is for the run as a whole; a retried attempt only cleans up through the next prepare().
                if (sleep_unless_stopped(delay, stop)) {
                    delay = std::min(delay * 2, max_delay);
                    continue;
                }
                code = kExitSigterm;
            }
        }
        for (auto& s : steps_) {
            ScopedLogger slog(log_, {{"step", s.name()}, {"phase", std::string("finish")}});
            ctx.logger = &slog;
            try {
                s.loaded.step->finish(ctx, outcome);
            } catch (const std::exception& e) {
                slog.warn(std::string("finish failed: ") + e.what());
            }
        }
        ctx.logger = &log_;
        if (outcome.success && dry_run) print_plan(ctx);
        report(ctx, outcome);
        if (!dry_run) record_status(ctx, outcome, code);
        if (outcome.success) log_.info(dry_run ? "plan preview done" : "replication succeeded", {{"duration_ms", ms(outcome.seconds)}, {"attempts", static_cast<std::int64_t>(attempt_no)}});
        else log_.write(Level::error, (dry_run ? "plan preview failed: " : "replication failed: ") + outcome.error,
                        {{"duration_ms", ms(outcome.seconds)}, {"attempts", static_cast<std::int64_t>(attempt_no)}, {"exit_code", static_cast<std::int64_t>(code)}});
        return code;
    }
}

void Pipeline::print_plan(const RunContext& ctx) const {
    std::ostream& out = std::cerr;
    const auto& plan = ctx.plan;
    if (ctx.backup) out << "backup: " << ctx.backup->name << " (" << ctx.backup->dump.string() << ")\n";
    if (!plan.loaded()) {
        out << "no restore plan (no source step loaded a dump)\n";
        return;
    }
    std::map<std::string, std::pair<int, int>> per_kind;  // kept, excluded
    for (const auto& e : plan.entries) (e.kept() ? per_kind[e.desc].first : per_kind[e.desc].second)++;
    out << "restore plan: " << plan.kept_count() << " of " << plan.entries.size() << " entries will be restored\n";
    out << "  " << std::left << std::setw(26) << "kind" << std::right << std::setw(9) << "restored" << std::setw(10) << "excluded" << "\n";
    for (const auto& [kind, n] : per_kind)
        out << "  " << std::left << std::setw(26) << kind << std::right << std::setw(9) << n.first << std::setw(10) << n.second << "\n";
    std::map<std::string, std::vector<std::string>> tables;  // table -> kinds restored
    for (const auto& e : plan.entries)
        if (e.kept() && e.desc == "TABLE DATA") tables[e.schema + "." + e.tag];
    out << "tables restored with data: " << tables.size() << "\n";
    for (const auto& [t, _] : tables) out << "  " << t << "\n";
    std::map<std::string, std::vector<const TocEntry*>> by_step;
    for (const auto& e : plan.entries)
        if (!e.kept()) by_step[e.excluded_by].push_back(&e);
    for (const auto& [step, list] : by_step) {
        out << "excluded by " << step << ": " << list.size() << "\n";
        for (const auto* e : list)
            out << "  " << e->desc << " " << (e->schema == "-" ? "" : e->schema + ".") << e->tag << "  (" << e->reason << ")\n";
    }
    if (!ctx.deferred_sql.empty()) {
        out << "deferred statements, run beside or after pg_restore: " << ctx.deferred_sql.size() << "\n";
        for (const auto& d : ctx.deferred_sql)
            out << "  [" << d.by << "] " << (d.table.empty() ? "after the restore" : "once " + d.table + " is loaded") << ": "
                << d.sql.front() << (d.sql.size() > 1 ? " ..." : "") << "\n";
    }
}

nlohmann::json status_json(const RunContext& ctx, const RunOutcome& outcome, int code) {
    nlohmann::json j;
    j["status"] = outcome.success ? "success" : "failure";
    j["finished_at"] = format_utc(std::time(nullptr));
    j["duration_s"] = std::round(outcome.seconds * 10) / 10;
    j["attempts"] = outcome.attempt;
    j["exit_code"] = code;
    j["error"] = outcome.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(outcome.error);
    if (ctx.backup) {
        j["backup_id"] = ctx.backup->id;
        j["backup_name"] = ctx.backup->name;
        j["backup_created_at"] = ctx.backup->created_at;
    }
    return j;
}

void Pipeline::record_status(const RunContext& ctx, const RunOutcome& outcome, int code) const {
    // The web process runs in another container: the target database itself carries the last
    // run's outcome, as its comment (a database survives DROP OWNED). A copy goes to the work dir.
    auto j = status_json(ctx, outcome, code);
    std::ofstream(ctx.work_dir / "last-run.json") << j.dump() << "\n";
    try {
        pqxx::connection c(ctx.target_url);
        pqxx::nontransaction tx(c);
        tx.exec("COMMENT ON DATABASE " + c.quote_name(tx.exec("SELECT current_database()")[0][0].as<std::string>()) + " IS " +
                tx.quote(std::string(kStatusPrefix) + j.dump()));
    } catch (const std::exception& e) {
        log_.warn("could not record the run's outcome in the target database", {{"error", log_.redact(e.what())}});
    }
}

std::optional<nlohmann::json> read_status(const std::string& target_url, const std::filesystem::path& work_dir) {
    try {
        pqxx::connection c(target_url);
        pqxx::nontransaction tx(c);
        auto r = tx.exec("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()");
        if (!r.empty() && !r[0][0].is_null()) {
            auto text = r[0][0].as<std::string>();
            if (text.rfind(kStatusPrefix, 0) == 0) return nlohmann::json::parse(text.substr(std::strlen(kStatusPrefix)));
        }
    } catch (const std::exception&) {
    }
    std::ifstream in(work_dir / "last-run.json");
    if (!in) return std::nullopt;
    try {
        return nlohmann::json::parse(in);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void Pipeline::report(const RunContext& ctx, const RunOutcome& outcome) const {
    const auto& r = ctx.report;
    std::map<std::string, std::vector<const ItemTiming*>> by_kind;
    for (const auto& it : r.restore_items) by_kind[kind_group(it.desc)].push_back(&it);
    Fields f{{"success", outcome.success}, {"duration_ms", ms(outcome.seconds)}, {"attempts", static_cast<std::int64_t>(outcome.attempt)},
             {"bytes_downloaded", r.bytes_downloaded}, {"restore_wall_ms", ms(r.restore_wall_seconds)}};
    for (const auto& [name, s] : r.step_seconds) f.emplace_back("step_ms." + name, ms(s));
    std::ostringstream table;
    table << "run report (" << (outcome.success ? "success" : "FAILED") << ", " << fmt_seconds(outcome.seconds)
          << ", attempt " << outcome.attempt << ")\n";
    // One line per step, its phases in brackets when they took any time.
    std::vector<std::pair<std::string, std::pair<double, std::string>>> per_step;
    for (const auto& [label, s] : r.step_seconds) {
        auto paren = label.find(" (");
        std::string step = label.substr(0, paren), phase = label.substr(paren + 2, label.size() - paren - 3);
        auto it = std::find_if(per_step.begin(), per_step.end(), [&](const auto& p) { return p.first == step; });
        if (it == per_step.end()) it = per_step.insert(per_step.end(), {step, {0.0, ""}});
        it->second.first += s;
        if (s >= 0.05) it->second.second += (it->second.second.empty() ? "" : ", ") + phase + " " + fmt_seconds(s);
    }
    for (const auto& [step, v] : per_step)
        table << "  " << std::left << std::setw(22) << step << std::setw(9) << fmt_seconds(v.first)
              << (v.second.empty() ? "" : "(" + v.second + ")") << "\n";
    if (!r.restore_items.empty()) {
        table << "  restore by kind                    summed     wall   items  slowest\n";
        for (auto& [kind, items] : by_kind) {
            double summed = 0;
            std::vector<std::pair<double, double>> spans;
            for (const auto* it : items) summed += it->seconds, spans.emplace_back(it->start_s, it->start_s + it->seconds);
            std::sort(spans.begin(), spans.end());
            double wall = 0, cur_b = -1, cur_e = -1;
            for (auto [b, e] : spans) {
                if (b > cur_e) wall += cur_e - cur_b, cur_b = b, cur_e = e;
                else cur_e = std::max(cur_e, e);
            }
            wall += cur_e - cur_b;
            auto sorted = items;
            std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->seconds > b->seconds; });
            std::string slowest;
            for (std::size_t i = 0; i < std::min<std::size_t>(3, sorted.size()); ++i)
                // In "other" the kind alone does not say what the item was (a COMMENT waiting on its table's lock).
                slowest += (i ? ", " : "") + (kind == "other" ? sorted[i]->desc + " " : std::string()) + sorted[i]->tag + " " +
                           fmt_seconds(sorted[i]->seconds);
            table << "    " << std::left << std::setw(30) << kind << std::right << std::setw(8) << fmt_seconds(summed)
                  << std::setw(9) << fmt_seconds(wall) << std::setw(8) << items.size() << "  " << slowest << "\n";
            f.emplace_back("restore_summed_ms." + kind, ms(summed));
            f.emplace_back("restore_wall_ms." + kind, ms(wall));
        }
    }
    if (r.bytes_downloaded > 0) table << "  bytes downloaded: " << r.bytes_downloaded << "\n";
    if (!r.rows_restored.empty()) {
        table << "  rows restored per table:\n";
        for (const auto& [t, n] : r.rows_restored) {
            table << "    " << std::left << std::setw(40) << t << n << "\n";
            f.emplace_back("rows." + t, n);
        }
    }
    if (!outcome.success) table << "  error: " << outcome.error << "\n";
    log_.info("run report", f);
    std::cerr << table.str();
}

}  // namespace pixrep
