#include <chrono>

#include "cron.hpp"
#include "pipeline.hpp"
#include "wait.hpp"

namespace pixrep {

int run_schedule(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop) {
    const auto& s = pipeline.settings();
    if (!s.schedule)
        throw StepError(ErrorKind::config, "schedule needs a cron expression: set SCHEDULE (e.g. \"10 5 * * *\")");
    const std::string tz = s.time_zone;
    CronExpr expr(*s.schedule);  // validate() already checked it and the zone
    auto stopping = [stop] { return stop && stop->load(); };
    log.info("scheduler started", {{"schedule", expr.text()}, {"time_zone", tz}});
    std::time_t from = std::time(nullptr);
    for (;;) {
        auto next = expr.next(from, tz);
        if (!next) throw StepError(ErrorKind::config, "SCHEDULE '" + expr.text() + "' never fires");
        log.info("next run at " + format_utc(*next), {{"next_run", format_utc(*next)}, {"time_zone", tz}});
        auto wait = std::chrono::system_clock::from_time_t(*next) - std::chrono::system_clock::now();
        if (!sleep_unless(std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1), stopping)) {
            log.info("scheduler stopping: signal received");
            return kExitSigterm;
        }
        int code = pipeline.run(false, stop);
        if (stopping()) return code;
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
