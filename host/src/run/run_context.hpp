#pragma once
// The host's side of RunEnv and RunContext: what steps see of a run, and the verbs they use.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include <pixrep/context.hpp>

#include "idle_connections.hpp"
#include "transfer.hpp"

namespace pixrep {

/// The environment of one run, shared by its attempts and its steps.
class HostEnv final : public RunEnv {
public:
    Target target_;
    std::filesystem::path work_dir_;
    bool dry_run_ = false;
    int attempt_ = 1;
    Tool pg_restore_;
    std::string home_schema_;
    bool beside_ = true;
    std::function<bool()> stopping_;
    /// Set while an attempt ends early, so that a transfer still going stops.
    std::atomic<bool> ending_{false};

    const Target& target() const override { return target_; }
    const std::filesystem::path& work_dir() const override { return work_dir_; }
    bool dry_run() const override { return dry_run_; }
    bool stopping() const override { return ending_ || (stopping_ && stopping_()); }
    int attempt() const override { return attempt_; }
    bool sleep_for(std::chrono::milliseconds d) const override;
    const Tool& pg_restore() const override { return pg_restore_; }
    const std::string& home_schema() const override { return home_schema_; }
    bool beside() const override { return beside_; }
    std::string build_schema(const std::string& schema) const override;
    ::pg_conn* reuse_target_connection() const override { return idle_.take(); }
    void keep_target_connection(::pg_conn* conn) const override { idle_.keep(conn); }

    /// The connections sessions handed back, closed when the run ends.
    mutable common::IdleConnections idle_;
};

/// One attempt of a run: the backup, the plan, the deferred work and the report so far.
class HostRun final : public RestoreContext {
public:
    /// What steps remembered in earlier runs, by step.
    using State = std::map<std::string, std::map<std::string, std::string>>;

    HostRun(const HostEnv& env, Logger& log, const State* recalled = nullptr);
    /// What steps asked to remember during this attempt, by step.
    const State& remembered() const { return remembered_; }

    /// Makes the following calls on behalf of step `name`, logging to `log`.
    void set_step(const std::string& name, Logger* log);
    /// Seals the plan if no step did, so that nothing changes it after the prepare phase.
    void end_prepare();
    /// Records a step's phase duration.
    void add_step_seconds(const std::string& label, double seconds);
    /// Starts a source's transfer seen through `env` (see RunContext::stream()).
    void stream(std::function<void(Arrival&)> body, const RunEnv& env);
    /// Waits for the transfer, if any, to end; then its arrivals complete the plan. Throws its error.
    void await_transfer();
    /// The transfer's error, once it failed, and the source that streamed it.
    std::optional<std::pair<std::string, StepError>> transfer_failure() const;
    /// Joins the transfer; make env().stopping() true first when it must not run to its end.
    void end_transfer() { transfer_.reset(); }
    /// When the attempt started.
    std::chrono::steady_clock::time_point started() const { return t0_; }

    const RunEnv& env() const override { return env_; }
    Logger& log() const override { return *log_; }
    void adopt(Backup backup, RestorePlan plan) override;
    void stream(std::function<void(Arrival&)> body) override { stream(std::move(body), env_); }
    Arrived arrived(DumpId id) const override;
    void serve(std::shared_ptr<LiveSource> live) override;
    LiveSource* live() const override { return live_.get(); }
    const Backup* backup() const override { return backup_ ? &*backup_ : nullptr; }
    const RestorePlan& plan() const override { return plan_; }
    std::size_t exclude(const std::function<bool(const TocEntry&)>& match, const std::string& reason) override;
    bool defer(DumpId id, Deferred work, const std::string& reason) override;
    void add_work(Deferred work) override;
    bool keep(DumpId id, const std::string& reason) override;
    bool append(Append append, const std::string& reason) override;
    const std::vector<Append>& appends() const override { return appends_; }
    void filter_rows(const std::string& table, RowFilterSpec spec) override;
    const RowFilterSpec* row_filter(const std::string& table) const override;
    const std::vector<Deferred>& deferred() const override { return work_; }
    const RestorePlan& seal_plan() override;
    void add_figure(const std::string& name, double value, Unit unit = Unit::count) override;
    void add_timing(const std::string& kind, const std::string& name, std::chrono::steady_clock::time_point start,
                    double seconds) override;
    void add_note(const std::string& text) override;
    RunReport report() const override;
    std::optional<std::string> recall(const std::string& key) const override;
    void remember(const std::string& key, const std::string& value) override;

private:
    void check_open(const char* verb) const;

    const RunEnv& env_;
    Logger* log_;
    Logger& root_log_;
    std::string step_, source_, sealed_by_;
    std::optional<Backup> backup_;
    RestorePlan plan_;
    std::vector<Deferred> work_;
    std::vector<Append> appends_;
    mutable std::mutex appends_mu_;  // append() against the transfer's thread; sealed before execute
    std::map<std::string, RowFilterSpec> filters_;  // by table
    const State* recalled_;
    State remembered_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
    mutable std::mutex mu_;  // the report: steps record figures and timings from their own threads
    RunReport report_;
    std::shared_ptr<LiveSource> live_;    // the host's wrapper of the source's
    std::unique_ptr<Transfer> transfer_;  // last: joined before anything it uses goes
};

/// The environment a step that does not connect to the target sees: the run's, with the
/// target's password (and the connection string holding it) left out.
class EnvWithoutPassword final : public RunEnv {
public:
    explicit EnvWithoutPassword(const RunEnv& env);
    const Target& target() const override { return target_; }
    const std::filesystem::path& work_dir() const override { return env_.work_dir(); }
    bool dry_run() const override { return env_.dry_run(); }
    bool stopping() const override { return env_.stopping(); }
    int attempt() const override { return env_.attempt(); }
    bool sleep_for(std::chrono::milliseconds d) const override { return env_.sleep_for(d); }
    const Tool& pg_restore() const override { return env_.pg_restore(); }
    const std::string& home_schema() const override { return env_.home_schema(); }
    bool beside() const override { return env_.beside(); }
    std::string build_schema(const std::string& schema) const override { return env_.build_schema(schema); }
    // Such a step has no business with the target's connections.
    ::pg_conn* reuse_target_connection() const override { return nullptr; }
    void keep_target_connection(::pg_conn* conn) const override { PQfinish(conn); }

private:
    const RunEnv& env_;
    Target target_;
};

/// What a step other than the restorer is given: the run's verbs without the restorer's, over
/// the environment the host chose for it.
class StepView final : public RunContext {
public:
    StepView(HostRun& run, const RunEnv& env) : run_(run), env_(env) {}
    const RunEnv& env() const override { return env_; }
    Logger& log() const override { return run_.log(); }
    void adopt(Backup backup, RestorePlan plan) override { run_.adopt(std::move(backup), std::move(plan)); }
    void stream(std::function<void(Arrival&)> body) override { run_.stream(std::move(body), env_); }
    Arrived arrived(DumpId id) const override { return run_.arrived(id); }
    void serve(std::shared_ptr<LiveSource> live) override { run_.serve(std::move(live)); }
    LiveSource* live() const override { return run_.live(); }
    const Backup* backup() const override { return run_.backup(); }
    const RestorePlan& plan() const override { return run_.plan(); }
    std::size_t exclude(const std::function<bool(const TocEntry&)>& match, const std::string& reason) override {
        return run_.exclude(match, reason);
    }
    bool defer(DumpId id, Deferred work, const std::string& reason) override { return run_.defer(id, std::move(work), reason); }
    void add_work(Deferred work) override { run_.add_work(std::move(work)); }
    bool keep(DumpId id, const std::string& reason) override { return run_.keep(id, reason); }
    bool append(Append append, const std::string& reason) override { return run_.append(std::move(append), reason); }
    const std::vector<Append>& appends() const override { return run_.appends(); }
    void filter_rows(const std::string& table, RowFilterSpec spec) override { run_.filter_rows(table, std::move(spec)); }
    const RowFilterSpec* row_filter(const std::string& table) const override { return run_.row_filter(table); }
    void add_figure(const std::string& name, double value, Unit unit = Unit::count) override { run_.add_figure(name, value, unit); }
    void add_timing(const std::string& kind, const std::string& name, std::chrono::steady_clock::time_point start,
                    double seconds) override {
        run_.add_timing(kind, name, start, seconds);
    }
    void add_note(const std::string& text) override { run_.add_note(text); }
    RunReport report() const override { return run_.report(); }
    std::optional<std::string> recall(const std::string& key) const override { return run_.recall(key); }
    void remember(const std::string& key, const std::string& value) override { run_.remember(key, value); }

private:
    HostRun& run_;
    const RunEnv& env_;
};

}  // namespace pixrep
