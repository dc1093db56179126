#include "run_context.hpp"

#include <algorithm>

#include "boundary.hpp"

#include <pixrep/step.hpp>

#include "build_names.hpp"
#include "plan_edit.hpp"
#include "wait.hpp"

namespace pixrep {

bool HostEnv::sleep_for(std::chrono::milliseconds d) const { return sleep_unless(d, stopping_); }

std::string HostEnv::build_schema(const std::string& schema) const {
    return beside_ ? beside::build_schema_name(home_schema_, schema) : schema;
}

HostRun::HostRun(const HostEnv& env, Logger& log, const State* recalled)
    : env_(env), log_(&log), root_log_(log), recalled_(recalled) {}

void HostRun::set_step(const std::string& name, Logger* log) {
    step_ = name;
    log_ = log;
}

void HostRun::adopt(Backup backup, RestorePlan plan) {
    if (!source_.empty() && source_ != step_)
        throw StepError(ErrorKind::config, "steps '" + source_ + "' and '" + step_ +
                                               "' both provide a backup: keep one source step in the config");
    source_ = step_;
    backup_ = std::move(backup);
    plan_ = std::move(plan);
}

namespace {

// The source's live database as the other steps call it: what the source's code throws comes
// back as a StepError made by the host (see boundary.hpp).
class GuardedLive final : public LiveSource {
public:
    GuardedLive(std::shared_ptr<LiveSource> live, std::string source) : live_(std::move(live)), prefix_(std::move(source) + ": ") {}
    std::int64_t copy(const TocEntry& data, const std::string& where, const std::function<void(std::string_view)>& on_row,
                      const std::function<bool()>& stop) override {
        return guarded(prefix_, ErrorKind::fatal, [&] { return live_->copy(data, where, on_row, stop); });
    }
    std::optional<std::string> query(const std::string& sql) override {
        return guarded(prefix_, ErrorKind::fatal, [&] { return live_->query(sql); });
    }
    std::vector<std::string> split(const TocEntry& data, int parts) override {
        return guarded(prefix_, ErrorKind::fatal, [&] { return live_->split(data, parts); });
    }

private:
    std::shared_ptr<LiveSource> live_;
    std::string prefix_;
};

}  // namespace

void HostRun::serve(std::shared_ptr<LiveSource> live) {
    if (source_ != step_ || !live)
        throw StepError(ErrorKind::config, "step '" + step_ + "' serves rows without having handed over a plan (adopt() first)");
    live_ = std::make_shared<GuardedLive>(std::move(live), step_);
}

void HostRun::stream(std::function<void(Arrival&)> body, const RunEnv& env) {
    if (transfer_) throw StepError(ErrorKind::config, "step '" + step_ + "' streams a second dump in one attempt");
    transfer_ = std::make_unique<Transfer>(
        step_, env, root_log_, std::move(body), [this](Backup b, RestorePlan p) { adopt(std::move(b), std::move(p)); },
        [this](const std::string& name, double value, Unit unit) { add_figure(name, value, unit); },
        [this](DumpId id) {
            std::lock_guard<std::mutex> lock(appends_mu_);
            return std::any_of(appends_.begin(), appends_.end(), [id](const Append& a) { return a.data == id; });
        });
    // Only a build beside may start before the whole dump is verified: in place, the target is
    // emptied first; a dry run shows the counted rows.
    if (env_.beside() && !env_.dry_run()) transfer_->wait_toc();
    else await_transfer();
}

void HostRun::await_transfer() {
    if (!transfer_) return;
    transfer_->wait_done();
    // No step runs now: what the blocks' checks found joins the plan.
    const auto arrivals = transfer_->arrivals();
    for (auto& e : plan_.entries) {
        auto it = arrivals.find(e.id);
        if (it != arrivals.end()) e.take(it->second);
    }
    transfer_.reset();
}

std::optional<std::pair<std::string, StepError>> HostRun::transfer_failure() const {
    if (!transfer_) return std::nullopt;
    auto e = transfer_->failure();
    if (!e) return std::nullopt;
    return std::make_pair(transfer_->source(), *e);
}

Arrived HostRun::arrived(DumpId id) const {
    if (transfer_)
        if (auto a = transfer_->wait_for(id, [this] { return env_.stopping(); })) return *a;
    const TocEntry* e = plan_.find(id);
    return e ? e->arrival() : Arrived{};
}

void HostRun::check_open(const char* verb) const {
    if (!sealed_by_.empty())
        throw StepError(ErrorKind::config, "step '" + step_ + "' calls " + verb + "() after '" + sealed_by_ +
                                               "' sealed the restore plan: list '" + step_ + "' before '" + sealed_by_ +
                                               "' in the config");
}

std::size_t HostRun::exclude(const std::function<bool(const TocEntry&)>& match, const std::string& reason) {
    check_open("exclude");
    return exclude_entries(plan_, match, step_, reason);
}

bool HostRun::defer(DumpId id, Deferred work, const std::string& reason) {
    check_open("defer");
    if (!defer_entry(plan_, id, step_, reason)) return false;
    work.replaces = id;
    add_work(std::move(work));
    return true;
}

void HostRun::add_work(Deferred work) {
    work.by = step_;
    work_.push_back(std::move(work));
}

bool HostRun::keep(DumpId id, const std::string& reason) {
    check_open("keep");
    return keep_entry(plan_, id, step_, reason);
}

bool HostRun::append(Append a, const std::string& reason) {
    check_open("append");
    if (!keep_entry(plan_, a.data, step_, reason)) return false;
    a.by = step_;
    std::lock_guard<std::mutex> lock(appends_mu_);  // the transfer asks while the steps prepare
    appends_.push_back(std::move(a));
    return true;
}

void HostRun::filter_rows(const std::string& table, RowFilterSpec spec) {
    check_open("filter_rows");
    if (!spec.make) throw StepError(ErrorKind::config, "step '" + step_ + "' asks to filter the rows of " + table + " with no filter");
    auto it = filters_.find(table);
    if (it != filters_.end())
        throw StepError(ErrorKind::config, "steps '" + it->second.by + "' and '" + step_ + "' both rewrite the rows of " + table + "; keep one");
    spec.by = step_;
    filters_.emplace(table, std::move(spec));
}

const RowFilterSpec* HostRun::row_filter(const std::string& table) const {
    auto it = filters_.find(table);
    return it == filters_.end() ? nullptr : &it->second;
}

std::optional<std::string> HostRun::recall(const std::string& key) const {
    if (!recalled_) return std::nullopt;
    auto step = recalled_->find(step_);
    if (step == recalled_->end()) return std::nullopt;
    auto it = step->second.find(key);
    if (it == step->second.end()) return std::nullopt;
    return it->second;
}

void HostRun::remember(const std::string& key, const std::string& value) {
    std::lock_guard<std::mutex> lock(mu_);
    remembered_[step_][key] = value;
}

const RestorePlan& HostRun::seal_plan() {
    if (sealed_by_.empty()) {
        sealed_by_ = step_;
        drop_orphan_appends(appends_, plan_);
        for (const auto& label : drop_orphans(work_, plan_))
            log_->debug("deferred work dropped with what it depends on", {{"work", label}});
    }
    return plan_;
}

void HostRun::end_prepare() {
    if (sealed_by_.empty()) seal_plan();
}

void HostRun::add_step_seconds(const std::string& label, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    report_.step_seconds.emplace_back(label, seconds);
}

void HostRun::add_figure(const std::string& name, double value, Unit unit) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& f = report_.figures[name];
    f.value += value;
    f.unit = unit;
}

void HostRun::add_timing(const std::string& kind, const std::string& name, std::chrono::steady_clock::time_point start,
                         double seconds) {
    double start_s = std::chrono::duration<double>(start - t0_).count();
    std::lock_guard<std::mutex> lock(mu_);
    report_.timings.push_back({kind, name, start_s, seconds});
}

void HostRun::add_note(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    report_.notes.emplace_back(step_, text);
}

RunReport HostRun::report() const {
    std::lock_guard<std::mutex> lock(mu_);
    return report_;
}

EnvWithoutPassword::EnvWithoutPassword(const RunEnv& env) : env_(env) {
    target_.conninfo_public = env.target().conninfo_public;
    target_.label = env.target().label;
}

}  // namespace pixrep
