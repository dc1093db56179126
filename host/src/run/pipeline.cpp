#include "pipeline.hpp"

#include <algorithm>
#include <iostream>
#include <set>

#include <pixrep/backoff.hpp>

#include "boundary.hpp"
#include "build_names.hpp"
#include "sql_rewrite.hpp"
#include "cron.hpp"
#include "pg_errors.hpp"
#include "plan_preview.hpp"
#include "report.hpp"
#include "run_context.hpp"
#include "status.hpp"
#include "tools.hpp"
#include "wait.hpp"
#include "watchdog.hpp"
#include "workspace.hpp"

namespace pixrep {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
std::int64_t ms(double s) { return static_cast<std::int64_t>(s * 1000); }

// Stores resolved values through the step's bindings and registers its secrets for redaction.
void store(const LoadedStep& loaded, const Values& values, HostLogger& log) {
    for (const auto& spec : loaded.options.specs()) {
        auto it = values.find(spec.key);
        if (it == values.end()) continue;
        OptionStore::store(loaded.options, spec.key, it->second);
        if (!spec.secret) continue;
        if (const auto* s = std::get_if<std::string>(&it->second)) log.add_secret(*s);
        if (const auto* l = std::get_if<std::vector<std::string>>(&it->second))
            for (const auto& v : *l) log.add_secret(v);
    }
}

}  // namespace

void RunSettings::declare(OptionTable& t) {
    t.add("database_url", database_url, "Target database, emptied and restored at every run").env("DATABASE_URL").required();
    t.add("work_dir", work_dir, "Scratch directory; each run works in its own folder inside").env("REPLICATION_WORK_DIR");
    t.add("plugin_path", plugin_path, "Extra directories searched for step plugins, before the built-in ones");
    t.add("max_retry_count", max_retry_count, "Retries of a failed run (download through restore) after the first attempt")
        .env("MAX_RETRY_COUNT");
    t.add("retry_min_delay", retry_min_delay, "Wait before the first retry; doubled at each retry").env("RETRY_MIN_DELAY");
    t.add("retry_max_delay", retry_max_delay, "Longest wait between two attempts").env("RETRY_MAX_DELAY");
    t.add("retries_timeout_minutes", retries_timeout_minutes, "Warn once the attempts have lasted longer than this")
        .env("RETRIES_TIMEOUT_MINUTES");
    t.add("lock_timeout", lock_timeout, "How long to wait for another run on the same target to finish before giving up")
        .env("LOCK_TIMEOUT");
    t.add("lock_keepalive", lock_keepalive, "How often the session holding the run's lock speaks, so no proxy finds it idle")
        .env("LOCK_KEEPALIVE");
    t.add("schedule", schedule, "Cron expression (node-cron syntax) for `schedule`, or on-backup: a run as soon as a newer backup is done")
        .env("SCHEDULE");
    t.add("backup_poll", backup_poll, "With SCHEDULE=on-backup, how often the source is asked for its newest backup").env("BACKUP_POLL");
    t.add("time_zone", time_zone, "IANA time zone of the schedule").env("SCHEDULE_TIME_ZONE");
    t.add("pg_restore", pg_restore, "pg_restore binary to use; \"\" = the newest found on PATH or in /usr/lib/postgresql/*/bin")
        .env("PG_RESTORE_BIN");
    t.add("home_schema", home_schema, "The tool's own schema in the target: run history, access rules; kept across runs")
        .env("REPLICATION_SCHEMA");
    t.add("grant_read_to", grant_read_to, "Roles granted read access to everything restored, after each run").env("GRANT_READ_TO");
    t.add("refresh", refresh,
          "beside: build tonight's copy in schemas of the tool's own while readers keep yesterday's, then swap it in; "
          "in-place: empty the target and restore into it (for a target without room for two copies)")
        .env("REFRESH");
    t.add("trigger_token", trigger_token, "Token of POST /runs and GET /runs/<id> on `serve` (Bearer); it reads the page too; \"\" = no such endpoint")
        .env("TRIGGER_TOKEN")
        .secret();
    t.add("trigger_min_interval", trigger_min_interval,
          "Least time between two runs started by requests (POST /runs, the hook, on-backup): later ones wait, and are told until when")
        .env("TRIGGER_MIN_INTERVAL");
    t.add("status_token", status_token, "Token to read the whole page and /status on `serve` (Bearer, or the page's login); \"\" = only "
                                        "TRIGGER_TOKEN may")
        .env("STATUS_TOKEN")
        .secret();
    t.add("hook_token", hook_token, "Token in the path of Scalingo's notifier hook, /hooks/scalingo/<HOOK_TOKEN>; \"\" = no hook")
        .env("HOOK_TOKEN")
        .secret();
    t.add("trigger_poll", trigger_poll, "How often `schedule` looks for runs asked for (requests in the tool's schema)").env("TRIGGER_POLL");
    t.add("notifier_app", notifier_app, "The app whose database_backup_succeeded events ask for a run").env("SCALINGO_APP");
}

void Pipeline::outside_run(const std::atomic<bool>* stop, const std::function<void(const RunEnv&)>& f) {
    HostEnv env;
    env.target_ = target_;
    env.work_dir_ = settings_.work_dir;
    env.dry_run_ = true;
    env.pg_restore_ = pg_restore_.value_or(Tool{});
    env.home_schema_ = settings_.home_schema;
    env.stopping_ = [stop] { return stop && stop->load(); };
    EnvWithoutPassword public_env{env};
    f(public_env);
}

std::optional<std::string> Pipeline::newest_backup(const std::atomic<bool>* stop) {
    std::optional<std::string> id;
    outside_run(stop, [&](const RunEnv& env) {
        for (auto& s : steps_) {
            ScopedLogger slog(log_, {{"step", s.name()}, {"phase", std::string("newest backup")}});
            id = guarded(s.name() + ": ", ErrorKind::transient, [&] { return s.loaded.step->newest_backup(env, slog); });
            if (id) return;
        }
    });
    return id;
}

void Pipeline::notify(const std::string& event, const std::string& message, const std::atomic<bool>* stop) {
    outside_run(stop, [&](const RunEnv& env) {
        for (auto& s : steps_) {
            ScopedLogger slog(log_, {{"step", s.name()}, {"phase", std::string("notify")}});
            try {
                guarded(s.name() + ": ", ErrorKind::fatal, [&] { s.loaded.step->notify(env, slog, event, message); });
            } catch (const StepError& e) {
                slog.warn(std::string("could not pass on ") + event + ": " + e.what());
            }
        }
    });
}

RunSettings resolve_run_settings(const PipelineConfig& config, const EnvLookup& env, std::vector<std::string>* warnings,
                                 bool lenient) {
    RunSettings s;
    OptionTable table;
    s.declare(table);
    auto specs = table.specs();
    if (lenient)
        for (auto& spec : specs) spec.required = false;
    auto values = resolve_options({config.run_scope(), config.file.string()}, specs, config.run, env, warnings);
    for (const auto& [k, v] : values) OptionStore::store(table, k, v);
    return s;
}

std::vector<std::string> known_variables(const PipelineConfig& config, const std::vector<LoadedStep>& steps) {
    std::set<std::string> vars{"REPLICATION_CONFIG", "LOG_FORMAT", "LOG_LEVEL", "PORT", "APP", "PIX_REPLICATION_PLUGIN_PATH", "STOP_GRACE"};
    RunSettings s;
    OptionTable run;
    s.declare(run);
    std::vector<std::vector<OptionSpec>> tables{run.specs()};
    for (const auto& st : steps) tables.push_back(st.options.specs());
    for (const auto& specs : tables)
        for (const auto& spec : specs)
            if (!spec.env.empty()) vars.insert(spec.env);
    auto add_refs = [&](const RawTable& t) {
        for (const auto& e : t) {
            if (const auto* str = std::get_if<std::string>(&e.value))
                for (const auto& v : referenced_vars(*str)) vars.insert(v);
            if (const auto* list = std::get_if<std::vector<std::string>>(&e.value))
                for (const auto& item : *list)
                    for (const auto& v : referenced_vars(item)) vars.insert(v);
        }
    };
    add_refs(config.run);
    for (const auto& sc : config.steps) add_refs(sc.options);
    return {vars.begin(), vars.end()};
}

std::string step_order_problem(const std::vector<StepRole>& steps) {
    const StepRole *restorer = nullptr, *swapper = nullptr;
    for (const auto& s : steps) {
        if (s.restorer && restorer) return s.where + ": step '" + s.name + "' restores, and so does '" + restorer->name + "' (" + restorer->where + "): one restorer at most";
        if (s.swaps && swapper) return s.where + ": step '" + s.name + "' swaps tonight's copy in, and so does '" + swapper->name + "' (" + swapper->where + ")";
        if (s.restorer) restorer = &s;
        if (s.swaps) swapper = &s;
    }
    if (!restorer) return "";
    if (!swapper)
        return restorer->where + ": with REFRESH=beside, tonight's copy is built beside and swapped in by a step such as drop-objects, "
                                 "which this config does not list before '" + restorer->name + "' (or set REFRESH=in-place)";
    if (swapper > restorer)
        return swapper->where + ": step '" + swapper->name + "' swaps tonight's copy in and must be listed before '" + restorer->name + "' (" +
               restorer->where + "), whose work on the live names follows the swap";
    return "";
}

Pipeline::Pipeline(PipelineConfig config, HostLogger& log, EnvLookup env)
    : config_(std::move(config)), log_(log), env_(std::move(env)) {}

void Pipeline::load() {
    auto lenient = resolve_run_settings(config_, env_, nullptr, true);
    PluginLoader loader(PluginLoader::default_dirs(lenient.plugin_path));
    for (const auto& sc : config_.steps)
        if (sc.enabled) steps_.push_back({sc, loader.load(sc.plugin)});
}

void Pipeline::add_step(const std::string& name, LoadedStep step, RawTable options) {
    StepConfig sc;
    sc.plugin = name;
    sc.options = std::move(options);
    sc.where = config_.file.string() + ":0";
    steps_.push_back({std::move(sc), std::move(step)});
}

void Pipeline::validate() {
    // Everything is checked before anything runs: a typo must never let the job drop the target
    // and then fail at restore.
    settings_ = resolve_run_settings(config_, env_, &warnings_);
    for (auto& s : steps_) {
        const auto& sc = s.config;
        store(s.loaded, resolve_options({sc.scope(), config_.file.string()}, s.loaded.options.specs(), sc.options, env_, &warnings_),
              log_);
        ScopedLogger slog(log_, {{"step", sc.plugin}});
        guarded(sc.scope() + ": ", ErrorKind::config, [&] { s.loaded.step->configure(slog); }, true);
    }
    if (steps_.empty()) throw StepError(ErrorKind::config, config_.file.string() + ": every step is disabled");
    if (settings_.refresh == "beside") {
        std::vector<StepRole> roles;
        for (const auto& s : steps_) roles.push_back({s.name(), s.config.where, s.loaded.info.restorer, s.loaded.info.swaps});
        if (auto problem = step_order_problem(roles); !problem.empty()) throw StepError(ErrorKind::config, problem);
    }
    target_ = make_target(settings_.database_url, "DATABASE_URL");
    if (settings_.home_schema.empty() || settings_.home_schema == "public" || settings_.home_schema.rfind("pg_", 0) == 0)
        throw StepError(ErrorKind::config, "REPLICATION_SCHEMA '" + settings_.home_schema + "' cannot be the tool's own schema");
    if (settings_.home_schema.size() > beside::kMaxHome)
        throw StepError(ErrorKind::config, "REPLICATION_SCHEMA '" + settings_.home_schema + "' is longer than " +
                                               std::to_string(beside::kMaxHome) + " bytes: its build schemas' names would not fit");
    if (settings_.refresh != "beside" && settings_.refresh != "in-place")
        throw StepError(ErrorKind::config, "REFRESH must be 'beside' or 'in-place', got '" + settings_.refresh + "'");
    log_.add_secret(target_.password);
    log_.add_secret(target_.sslpassword);
    if (settings_.schedule && *settings_.schedule != kOnBackup) {
        try {
            check_time_zone(settings_.time_zone);
            CronExpr expr(*settings_.schedule);
        } catch (const std::invalid_argument& e) {
            throw StepError(ErrorKind::config, std::string("SCHEDULE: ") + e.what());
        }
    }
    if (!pg_restore_) pg_restore_ = find_pg_restore(settings_.pg_restore);
    for (const auto& w : warnings_) log_.warn(w);
}

void Pipeline::describe(std::ostream& out) const {
    out << "config " << config_.file.string() << ": " << steps_.size() << " steps, in this order:\n";
    int i = 1;
    for (const auto& s : steps_) {
        out << "  " << i++ << ". " << s.name() << " " << s.loaded.info.version << "  (" << s.loaded.file.string() << ")\n"
            << "     " << s.loaded.info.description << "\n";
        Values shown = resolve_options({s.config.scope(), config_.file.string()}, s.loaded.options.specs(), s.config.options,
                                       env_, nullptr);
        for (const auto& spec : s.loaded.options.specs()) {
            auto it = shown.find(spec.key);
            if (it == shown.end()) continue;
            out << "     " << spec.key << " = " << (spec.secret ? std::string("***") : log_.redact(format_value(it->second))) << "\n";
        }
    }
    for (const auto& sc : config_.steps)
        if (!sc.enabled) out << "  (disabled: " << sc.plugin << " at " << sc.where << ")\n";
    out << "target: " << target_.label << "\n";
    if (pg_restore_) out << "pg_restore: " << pg_restore_->path.string() << " (" << pg_restore_->version << ")\n";
}

struct Pipeline::Attempt {
    HostRun run;
    RunOutcome outcome;
    bool touched = false;  ///< The live copy may have changed (in place: from the execute phase; beside: at the swap, or kept tables).
    EnvWithoutPassword public_env{run.env()};

    /// What `step` is given: the restorer the whole run, the others a view without the
    /// restorer's verbs, and without the target's password unless they connect to it.
    RunContext& context_for(const PipelineStep& step, std::optional<StepView>& view) {
        const StepInfo& info = step.loaded.info;
        if (info.restorer) return run;
        return view.emplace(run, info.connects_to_target ? run.env() : static_cast<const RunEnv&>(public_env));
    }
};

namespace {

// The restore is done: a connection lost while the rules go back is retried here, a few
// times, rather than by restoring everything again.
std::vector<std::string> reapply_with_retries(TargetSession& session, const std::vector<std::string>& schemas,
                                              const beside::BuildNames* built, const RunEnv& env) {
    for (int attempt = 1;; ++attempt) {
        try {
            return session.reapply_access(schemas, built);
        } catch (const std::exception& e) {
            if (attempt >= 3 || common::message_error_kind(e.what()) != ErrorKind::transient || session.lost())
                throw StepError(ErrorKind::fatal, std::string("the restore is done but the readers' access rules could not be re-applied: ") +
                                                      e.what());
            if (!env.sleep_for(std::chrono::seconds(1 << attempt))) throw StepError(ErrorKind::fatal, "stopped by signal");
        }
    }
}

// The schemas the restore fills: those of what it creates, and public.
std::vector<std::string> restored_schemas(const RestorePlan& plan) {
    std::set<std::string> s{"public"};
    for (const auto& e : plan.entries)
        if (e.created() && e.schema != "-") s.insert(e.schema);
    return {s.begin(), s.end()};
}

}  // namespace

void Pipeline::attempt(Attempt& a, TargetSession* session) {
    // A transfer that failed while the steps went on is why the run fails, whatever step noticed.
    auto transfer_failed = [&] {
        if (auto f = a.run.transfer_failure()) {
            a.outcome.failed_step = f->first;
            throw f->second;
        }
    };
    auto run_phase = [&](const char* phase, auto&& call) {
        for (auto& s : steps_) {
            std::optional<StepView> view;
            RunContext& ctx = a.context_for(s, view);
            transfer_failed();
            if (a.run.env().stopping()) throw StepError(ErrorKind::fatal, "stopped by signal");
            ScopedLogger slog(log_, {{"step", s.name()}, {"phase", std::string(phase)}});
            a.run.set_step(s.name(), &slog);
            auto ts = Clock::now();
            try {
                // Only what can heal (a lost connection, a restart, a timeout) is retried.
                guarded("", ErrorKind::transient, [&] { call(*s.loaded.step, ctx); }, false, &common::message_error_kind);
            } catch (...) {
                a.outcome.failed_step = s.name();
                a.run.add_step_seconds(s.name() + " (" + phase + ")", seconds_since(ts));
                a.run.set_step("host", &log_);
                transfer_failed();
                throw;
            }
            a.run.set_step("host", &log_);
            double d = seconds_since(ts);
            a.run.add_step_seconds(s.name() + " (" + phase + ")", d);
            if (d >= 0.05) slog.info(std::string(phase) + " done", {{"duration_ms", ms(d)}});
        }
    };
    if (session) {
        // Whether the copy travelled encrypted is the operators' to see, run after run.
        const auto tls = session->encryption();
        a.run.set_step("host", &log_);
        a.run.add_note(tls.empty() ? "target connection not encrypted" : "target connection over " + tls);
    }
    run_phase("prepare", [&](Step& st, RunContext& ctx) { st.prepare(ctx); });
    a.run.end_prepare();
    if (!a.run.env().dry_run()) {
        const auto schemas = restored_schemas(a.run.plan());
        if (session) log_.debug("access rules saved", {{"rules", static_cast<std::int64_t>(session->save_access(schemas))}});
        // Built beside, the live copy changes at the swap, or sooner only for kept tables, and
        // only from the first step that connects to the target: a check before it (masking's
        // rules) still fails with nothing touched.
        const auto& entries = a.run.plan().entries;
        const bool may_touch = !a.run.env().beside() ||
                               std::any_of(entries.begin(), entries.end(), [](const TocEntry& e) { return e.fate == Fate::kept; });
        run_phase("execute", [&](Step& st, RunContext& ctx) {
            if (st.info().connects_to_target) a.touched = a.touched || may_touch;
            st.execute(ctx);
        });
        // Nothing is swapped in before the whole dump has arrived and is verified.
        const auto tw = Clock::now();
        try {
            a.run.await_transfer();
        } catch (...) {
            transfer_failed();
            throw;
        }
        if (seconds_since(tw) >= 0.05) {
            log_.info("waited for the end of the transfer", {{"duration_ms", ms(seconds_since(tw))}});
            a.run.add_step_seconds("transfer (wait)", seconds_since(tw));
        }
        // Beside: the rules go on tonight's objects in the build schemas, before the swap makes them live.
        std::optional<beside::BuildNames> built;
        if (a.run.env().beside())
            built = beside::build_names(a.run.plan(), [&](const std::string& s) { return a.run.env().build_schema(s); });
        if (session)
            for (const auto& m : reapply_with_retries(*session, schemas, built ? &*built : nullptr, a.run.env()))
                log_.warn("access rule not re-applied: " + m);
        a.touched = true;
        run_phase("commit", [&](Step& st, RunContext& ctx) { st.commit(ctx); });
        if (session) session->remember(a.run.remembered());
    }
    a.outcome.success = true;
}

void Pipeline::check_all(const HostEnv& env) {
    EnvWithoutPassword public_env{env};
    for (auto& s : steps_) {
        ScopedLogger slog(log_, {{"step", s.name()}, {"phase", std::string("check")}});
        const RunEnv& given = s.loaded.info.connects_to_target ? static_cast<const RunEnv&>(env) : public_env;
        guarded(s.name() + ": ", ErrorKind::transient, [&] { s.loaded.step->check(given, slog); }, false, &common::message_error_kind);
    }
}

void Pipeline::finish_all(Attempt& a) {
    for (auto& s : steps_) {
        ScopedLogger slog(log_, {{"step", s.name()}, {"phase", std::string("finish")}});
        a.run.set_step(s.name(), &slog);
        std::optional<StepView> view;
        RunContext& ctx = a.context_for(s, view);
        try {
            guarded("", ErrorKind::fatal, [&] { s.loaded.step->finish(ctx, a.outcome); });
        } catch (const std::exception& e) {
            slog.warn(std::string("finish failed: ") + e.what());
        }
    }
    a.run.set_step("host", &log_);
}

int Pipeline::run(bool dry_run, const std::atomic<bool>* stop) {
    std::optional<Workspace> ws;
    try {
        ws.emplace(settings_.work_dir);
    } catch (const StepError& e) {
        log_.error(e.what());
        return kExitInvalid;
    }
    auto signalled = [stop] { return stop && stop->load(); };
    std::unique_ptr<TargetSession> session;
    HostEnv env;
    env.target_ = target_;
    env.work_dir_ = ws->path();
    env.dry_run_ = dry_run;
    env.pg_restore_ = pg_restore_.value_or(Tool{});
    env.home_schema_ = settings_.home_schema;
    env.beside_ = settings_.refresh == "beside";
    std::optional<std::int64_t> run_id;
    bool checked = false;
    // What steps remembered in earlier runs; a dry run reads it too, if the target answers.
    HostRun::State recalled = dry_run ? read_state(target_.conninfo, settings_.home_schema, std::chrono::seconds(10)) : HostRun::State{};
    env.stopping_ = [&] { return signalled() || (session && session->lost()); };

    const std::int64_t max_retries = std::max<std::int64_t>(0, settings_.max_retry_count);
    const auto warn_after = std::chrono::minutes(settings_.retries_timeout_minutes);
    Backoff backoff(settings_.retry_min_delay, settings_.retry_max_delay);
    const auto t0 = Clock::now();
    bool warned_long = false;
    log_.info(dry_run ? "plan preview started" : "replication started",
              {{"steps", static_cast<std::int64_t>(steps_.size())}, {"max_retry_count", max_retries}});

    for (int attempt_no = 1;; ++attempt_no) {
        env.attempt_ = attempt_no;
        Attempt a{HostRun(env, log_, &recalled), {}};
        int code = kExitOk;
        ErrorKind kind = ErrorKind::fatal;
        std::chrono::milliseconds hint{0};
        try {
            // What can be refused is refused before anything is written, the run's record included.
            if (!checked) {
                check_all(env);
                checked = true;
            }
            // Held from before anything is fetched to the end: two runs on one target never
            // overlap, and a target that refuses our credentials fails the run at once.
            if (!dry_run && (!session || session->lost())) {
                session.reset();
                session = sessions_(target_, {settings_.home_schema, settings_.grant_read_to}, settings_.lock_keepalive, signalled, log_, env.idle_);
                session->lock(settings_.lock_timeout);
                log_.debug("target lock acquired");
                // From here on, the target says a run is going: a killed run never leaves a stale "success".
                if (!run_id) {
                    run_id = session->begin();
                    recalled = session->recall_all();
                }
            }
            attempt(a, session.get());
        } catch (const LockBusy& e) {
            a.outcome.error = log_.redact(e.what());
            code = kExitLocked;
        } catch (const StepError& e) {
            a.outcome.error = log_.redact(e.what());
            kind = e.kind();
            hint = e.retry_after();
            // Exit 2 says "nothing was touched": once the target may have changed, it is a failed run.
            code = (kind == ErrorKind::config || kind == ErrorKind::input) && !a.touched ? kExitInvalid : kExitRunFailed;
        } catch (const std::exception& e) {
            a.outcome.error = log_.redact(e.what());
            kind = common::message_error_kind(e.what());
            code = kExitRunFailed;
        }
        // A transfer still going when the attempt failed is stopped before anything else.
        env.ending_ = true;
        a.run.end_transfer();
        env.ending_ = false;
        if (!a.outcome.success && session && session->lost() && !signalled()) {
            // Whatever the step said ("interrupted"), the cause is the lost lock, and it may heal.
            a.outcome.error = session->lost_reason();
            kind = ErrorKind::transient;
            code = kExitRunFailed;
        }
        if (!signalled()) watchdog::disarm();  // the attempt ended by itself: no call is stuck
        a.outcome.attempt = attempt_no;
        a.outcome.seconds = seconds_since(t0);
        if (signalled()) code = kExitSigterm;  // refined by main with the actual signal

        bool retry = !a.outcome.success && code == kExitRunFailed && kind == ErrorKind::transient && attempt_no <= max_retries;
        if (retry) {
            auto delay = backoff.next(hint);
            Fields f{{"attempt", static_cast<std::int64_t>(attempt_no)}, {"error", a.outcome.error},
                     {"retry_in_ms", static_cast<std::int64_t>(delay.count())}};
            if (!a.outcome.failed_step.empty()) f.emplace_back("failed_step", a.outcome.failed_step);
            log_.warn("attempt " + std::to_string(attempt_no) + " failed: " + a.outcome.error, f);
            if (!warned_long && Clock::now() - t0 > warn_after) {
                warned_long = true;
                log_.warn("retries have lasted more than " + std::to_string(warn_after.count()) + " minutes");
            }
            // finish() is for the run as a whole; a retried attempt only cleans up through the next prepare().
            if (sleep_unless(delay, signalled)) continue;
            code = kExitSigterm;
        }
        finish_all(a);
        if (a.outcome.success && dry_run && plan_sink_) plan_sink_(a.run.plan());
        else if (a.outcome.success && dry_run) std::cerr << format_plan(a.run.backup(), a.run.plan(), a.run.deferred(), a.run.appends(), env.pg_restore());
        auto rep = format_report(a.run.report(), a.outcome);
        log_.info("run report", rep.fields);
        std::cerr << rep.text;
        if (!dry_run) {
            auto status = status_json(a.run.backup(), a.outcome, code, a.run.report());
            write_last_run(settings_.work_dir, status, log_);
            if (session && run_id) session->end(*run_id, status, log_);
        }
        Fields end{{"duration_ms", ms(a.outcome.seconds)}, {"attempts", static_cast<std::int64_t>(attempt_no)}};
        if (a.outcome.success) {
            log_.info(dry_run ? "plan preview done" : "replication succeeded", end);
        } else {
            end.emplace_back("exit_code", static_cast<std::int64_t>(code));
            if (!a.outcome.failed_step.empty()) end.emplace_back("failed_step", a.outcome.failed_step);
            log_.write(Level::error, (dry_run ? "plan preview failed: " : "replication failed: ") + a.outcome.error, end);
        }
        return code;
    }
}

}  // namespace pixrep
