#include <chrono>

#include "cron.hpp"
#include "db.hpp"
#include "home.hpp"
#include "pg_conn.hpp"
#include "scheduler.hpp"
#include "requests.hpp"
#include "target.hpp"
#include "wait.hpp"

namespace pixrep {
namespace {

using Clock = std::chrono::system_clock;

std::unique_ptr<common::PgConn> connect(const RunSettings& s, const std::function<bool()>& stopping) {
    const Target t = make_target(s.database_url, "DATABASE_URL");
    auto c = std::make_unique<common::PgConn>(t.conninfo + " application_name='pix-db-replication schedule'", t.label, common::kConnectDeadline,
                                              stopping);
    c->set_statement_deadline(std::chrono::seconds(30));
    return c;
}

// The backup the last successful run restored, and that run; nullopt when none.
std::optional<std::pair<std::string, std::int64_t>> last_restored(common::PgConn& c, const std::string& schema) {
    auto rows = c.exec("SELECT backup_id, id FROM " + common::quote_ident(schema) + ".runs WHERE status = 'success' AND backup_id IS NOT NULL "
                       "ORDER BY id DESC LIMIT 1");
    if (rows.empty()) return std::nullopt;
    return std::make_pair(*rows[0][0], std::stoll(*rows[0][1]));
}

// What Scalingo said failed is passed to the steps that report (webhook): tonight's copy will be
// yesterday's. Errors reaching the target are logged.
void report_failed_backups(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop) {
    const auto& s = pipeline.settings();
    std::vector<Claimed> failed;
    std::optional<std::pair<std::string, std::int64_t>> last;
    try {
        auto c = connect(s, [stop] { return stop && stop->load(); });
        failed = Requests(*c, s.home_schema).take_failed_backups();
        if (!failed.empty()) last = last_restored(*c, s.home_schema);
    } catch (const std::exception& e) {
        log.warn("cannot read the failed backups Scalingo reported: " + log.redact(e.what()));
        return;
    }
    for (const auto& f : failed) {
        const std::string message = "Scalingo reports that backup " + (f.backup_id.empty() ? std::string("(unnamed)") : f.backup_id) +
                                    " failed: the copy stays at " + (last ? "backup " + last->first + ", restored by run " + std::to_string(last->second)
                                                                           : std::string("the last good copy"));
        log.warn(message, {{"request", f.id}});
        pipeline.notify("database_backup_failed", message, stop);
    }
}

// Why the pending request must wait ("" = it may be served now): another process's run holds
// the target, or the last run a request started is less than TRIGGER_MIN_INTERVAL ago.
std::string must_wait(common::PgConn& c, Requests& requests, const RunSettings& s) {
    if (c.scalar("SELECT " + lock_held_sql()) == std::optional<std::string>("t")) return "another run holds the target";
    if (auto at = requests.not_before(s.trigger_min_interval); !at.empty()) return "TRIGGER_MIN_INTERVAL: not before " + at;
    return "";
}

// Serves every pending request with one run (none when each names the backup already restored).
// Returns true when it ran the pipeline. Errors reaching the target are logged, not thrown: the
// cron schedule goes on.
bool serve_requests(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop) {
    const auto& s = pipeline.settings();
    auto stopping = [stop] { return stop && stop->load(); };
    std::vector<Claimed> claimed;
    std::optional<std::pair<std::string, std::int64_t>> last;
    try {
        auto c = connect(s, stopping);
        Requests requests(*c, s.home_schema);
        if (auto n = requests.take_up_orphans()) log.warn("requests left running by a process that died are pending again", {{"requests", n}});
        if (!requests.has_pending()) return false;
        if (auto why = must_wait(*c, requests, s); !why.empty()) {
            log.debug("the pending request waits: " + why);
            return false;
        }
        claimed = requests.claim();
        if (claimed.empty()) return false;
        last = last_restored(*c, s.home_schema);
        std::vector<std::int64_t> ids;
        bool all_fresh = last.has_value();
        for (const auto& r : claimed) ids.push_back(r.id), all_fresh = all_fresh && r.backup_id == last->first;
        if (all_fresh) {
            Requests(*c, s.home_schema).answer(ids, "fresh", last->second, "already fresh: backup " + last->first + " was restored");
            log.info("requests answered: already fresh", {{"requests", static_cast<std::int64_t>(ids.size())}, {"backup_id", last->first}});
            return false;
        }
    } catch (const std::exception& e) {
        log.warn("cannot read the runs asked for: " + log.redact(e.what()));
        return false;
    }
    std::vector<std::int64_t> ids;
    std::string list;
    for (const auto& r : claimed) ids.push_back(r.id), list += (list.empty() ? "" : ",") + std::to_string(r.id);
    log.info("serving the runs asked for", {{"requests", list}});
    try {
        auto c = connect(s, stopping);
        Requests(*c, s.home_schema).mark_started();
    } catch (const std::exception& e) {
        log.warn("cannot note when the requested run started: " + log.redact(e.what()));
    }
    const int code = pipeline.run(false, stop);
    // A connection of its own: one held through the run would be cut by a proxy for its silence.
    for (int attempt = 0; attempt < 3; ++attempt) {
        try {
            auto c = connect(s, nullptr);
            if (code == kExitLocked) {  // another process's run came first: served after it
                Requests(*c, s.home_schema).put_back(ids);
                log.info("another run holds the target: the requests wait for it", {{"requests", list}});
                return true;
            }
            auto id = c->scalar("SELECT max(id) FROM " + common::quote_ident(s.home_schema) + ".runs");
            Requests(*c, s.home_schema)
                .answer(ids, code == kExitOk ? "served" : "failed", id ? std::optional<std::int64_t>(std::stoll(*id)) : std::nullopt,
                        "exit code " + std::to_string(code));
            log.info("requests answered", {{"requests", list}, {"exit_code", static_cast<std::int64_t>(code)}});
            return true;
        } catch (const std::exception& e) {
            log.warn("cannot record how the runs asked for ended: " + log.redact(e.what()));
            if (!sleep_unless(std::chrono::seconds(2), stopping)) break;
        }
    }
    return true;
}

// SCHEDULE=on-backup: asks the source for its newest backup every BACKUP_POLL and requests a run
// when it is not the one last restored nor one already asked for.
void request_newer_backup(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop) {
    const auto& s = pipeline.settings();
    try {
        auto id = pipeline.newest_backup(stop);
        if (!id) return;
        auto c = connect(s, [stop] { return stop && stop->load(); });
        Home(*c, s.home_schema).ensure();
        auto last = last_restored(*c, s.home_schema);
        if (last && last->first == *id) return;
        // Asked for once: a backup whose run failed waits for a newer backup, or an explicit request.
        if (c->scalar("SELECT count(*) FROM " + common::quote_ident(s.home_schema) + ".requests WHERE backup_id = $1 AND state IN "
                      "('pending', 'running', 'served', 'failed', 'fresh', 'joined')", {*id}) != std::optional<std::string>("0"))
            return;
        if (!valid_backup_id(*id)) throw std::runtime_error("the source names its newest backup with an id that is not one");
        const auto rid = Requests(*c, s.home_schema).add("on-backup", "a newer backup is done", *id);
        log.info(rid.joined ? "a newer backup is done: joined the pending request" : "a newer backup is done: run requested",
                 {{"backup_id", *id}, {"request", rid.id}});
    } catch (const std::exception& e) {
        log.warn("cannot tell whether a newer backup is done: " + log.redact(e.what()));
    }
}

// No cron: the runs asked for, and those the source's newer backups ask for.
int run_on_backup(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop) {
    const auto& s = pipeline.settings();
    auto stopping = [stop] { return stop && stop->load(); };
    log.info("scheduler started", {{"schedule", std::string(kOnBackup)}, {"backup_poll_s", static_cast<std::int64_t>(s.backup_poll.count() / 1000)},
                                   {"trigger_poll_s", static_cast<std::int64_t>(s.trigger_poll.count() / 1000)}});
    auto next_probe = std::chrono::steady_clock::now();
    for (;;) {
        if (std::chrono::steady_clock::now() >= next_probe) {
            request_newer_backup(pipeline, log, stop);
            next_probe = std::chrono::steady_clock::now() + s.backup_poll;
        }
        report_failed_backups(pipeline, log, stop);
        serve_requests(pipeline, log, stop);
        if (!sleep_unless(std::min(s.trigger_poll, s.backup_poll), stopping)) {
            log.info("scheduler stopping: signal received");
            return kExitSigterm;
        }
    }
}

}  // namespace

int run_schedule(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop) {
    const auto& s = pipeline.settings();
    if (!s.schedule)
        throw StepError(ErrorKind::config, "schedule needs a cron expression: set SCHEDULE (e.g. \"10 5 * * *\")");
    if (s.trigger_poll < std::chrono::seconds(1)) throw StepError(ErrorKind::config, "TRIGGER_POLL must be at least 1s");
    if (s.backup_poll < std::chrono::seconds(1)) throw StepError(ErrorKind::config, "BACKUP_POLL must be at least 1s");
    if (*s.schedule == kOnBackup) return run_on_backup(pipeline, log, stop);
    const std::string tz = s.time_zone;
    CronExpr expr(*s.schedule);  // validate() already checked it and the zone
    auto stopping = [stop] { return stop && stop->load(); };
    log.info("scheduler started", {{"schedule", expr.text()}, {"time_zone", tz},
                                   {"trigger_poll_s", static_cast<std::int64_t>(s.trigger_poll.count() / 1000)}});
    std::time_t from = std::time(nullptr);
    for (;;) {
        auto next = expr.next(from, tz);
        if (!next) throw StepError(ErrorKind::config, "SCHEDULE '" + expr.text() + "' never fires");
        log.info("next run at " + format_utc(*next), {{"next_run", format_utc(*next)}, {"time_zone", tz}});
        // Until the tick, the runs asked for are looked for every trigger_poll.
        bool served = false;
        for (;;) {
            auto wait = Clock::from_time_t(*next) - Clock::now();
            if (wait <= Clock::duration::zero()) break;
            auto slice = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1), s.trigger_poll);
            if (!sleep_unless(slice, stopping)) {
                log.info("scheduler stopping: signal received");
                return kExitSigterm;
            }
            report_failed_backups(pipeline, log, stop);
            if (Clock::now() < Clock::from_time_t(*next) && serve_requests(pipeline, log, stop)) {
                served = true;
                break;
            }
        }
        if (stopping()) return kExitSigterm;
        if (served) {  // the tick is still ahead, or came during that run (then skipped below)
            std::time_t now = std::time(nullptr);
            if (*next > now) {
                from = now;
                continue;
            }
        } else {
            int code = pipeline.run(false, stop);
            if (stopping()) return code;
        }
        // Runs never overlap: ticks that came while this one was going are skipped, not queued.
        std::time_t now = std::time(nullptr);
        int skipped = 0;
        std::time_t first_skipped = 0;
        for (auto t = expr.next(*next, tz); t && *t <= now; t = expr.next(*t, tz)) {
            if (!skipped) first_skipped = *t;
            if (++skipped >= 1000) break;
        }
        if (skipped)
            log.warn("skipped " + std::to_string(skipped) + " tick(s) that came while a run was going",
                     {{"first_skipped", format_utc(first_skipped)}, {"skipped", static_cast<std::int64_t>(skipped)}});
        from = now;
    }
}

}  // namespace pixrep
