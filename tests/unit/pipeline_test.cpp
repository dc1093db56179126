// The pipeline in process, with fake steps and a fake hold on the target: phase order, finish()
// after a failure, retries, exit codes, the sealed plan, a lost lock. No plugin, no database.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "harness.hpp"
#include "pipeline.hpp"
#include "run_context.hpp"

using namespace pixrep;

namespace {

struct Journal {
    std::vector<std::string> calls;
    int locks = 0;
    bool busy = false;
    std::atomic<bool> lose{false};
    std::string joined() const {
        std::string s;
        for (const auto& c : calls) s += (s.empty() ? "" : " ") + c;
        return s;
    }
};

class FakeSession final : public TargetSession {
public:
    explicit FakeSession(Journal& j) : j_(j) {}
    void lock(std::chrono::milliseconds) override {
        if (j_.busy) throw LockBusy("another replication holds the lock on the target database");
        ++j_.locks;
    }
    bool lost() const override { return j_.lose; }
    std::string lost_reason() const override { return "lost the session holding the run's lock on the target (test)"; }
    std::int64_t begin() override {
        j_.calls.push_back("home.begin");
        return 7;
    }
    std::size_t save_access(const std::vector<std::string>&) override {
        j_.calls.push_back("home.save_access");
        return 0;
    }
    std::vector<std::string> reapply_access(const std::vector<std::string>&, const beside::BuildNames*) override {
        j_.calls.push_back("home.reapply_access");
        return {};
    }
    std::map<std::string, std::map<std::string, std::string>> recall_all() override { return {{"a", {{"seen", "yes"}}}}; }
    void remember(const std::map<std::string, std::map<std::string, std::string>>& by_step) override {
        for (const auto& [step, values] : by_step)
            for (const auto& [k, v] : values) j_.calls.push_back("home.remember(" + step + "." + k + "=" + v + ")");
    }
    void end(std::int64_t id, const nlohmann::json& outcome, Logger&) override {
        j_.calls.push_back("home.end(" + std::to_string(id) + "," + outcome["status"].get<std::string>() + ")");
    }

private:
    Journal& j_;
};

// A step that journals its calls and does what the test asks in a phase.
class FakeStep final : public Step {
public:
    using Act = std::function<void(RunContext&)>;
    FakeStep(std::string name, Journal& j, std::map<std::string, Act> acts = {}) : name_(std::move(name)), j_(j), acts_(std::move(acts)) {}
    // "restorer" is the restorer; "db" and the restorer connect to the target; "_swapper" swaps
    // tonight's copy in (run() lists it before the restorer) and keeps no journal.
    StepInfo info() const override {
        return {name_, "1.0.0", "a fake step", name_ == "db" || name_ == "restorer", name_ == "restorer", name_ == "_swapper"};
    }
    void declare(OptionTable& t) override { t.add("flag", flag_, "a flag"); }
    void prepare(RunContext& ctx) override { act("prepare", ctx); }
    void execute(RunContext& ctx) override { act("execute", ctx); }
    void commit(RunContext& ctx) override {
        if (acts_.count("commit")) act("commit", ctx);
    }
    void finish(RunContext&, const RunOutcome& o) override {
        if (name_[0] != '_') j_.calls.push_back(name_ + ".finish(" + (o.success ? "ok" : "failed:" + o.failed_step) + ")");
    }

private:
    void act(const std::string& phase, RunContext& ctx) {
        if (name_[0] != '_') j_.calls.push_back(name_ + "." + phase);
        if (acts_.count(phase)) acts_[phase](ctx);
    }
    std::string name_;
    Journal& j_;
    std::map<std::string, Act> acts_;
    bool flag_ = false;
};

class PipelineTest : public ::testing::Test {
protected:
    int run(std::vector<std::pair<std::string, std::map<std::string, FakeStep::Act>>> steps, bool dry_run = false,
            RawTable extra_run = {}) {
        PipelineConfig cfg;
        cfg.file = "test.toml";
        cfg.run = {{"database_url", std::string("postgresql://u:pw@127.0.0.1:1/db"), 2},
                   {"work_dir", dir_.path().string(), 3},
                   {"max_retry_count", std::int64_t{2}, 4},
                   {"retry_min_delay", std::string("1ms"), 5},
                   {"retry_max_delay", std::string("2ms"), 6}};
        cfg.run.insert(cfg.run.end(), extra_run.begin(), extra_run.end());
        Pipeline p(cfg, log_, [](const std::string&) { return std::nullopt; });
        for (auto& [name, acts] : steps) {
            if (name == "restorer") p.add_step("_swapper", adopt_step(std::make_unique<FakeStep>("_swapper", j_)));
            p.add_step(name, adopt_step(std::make_unique<FakeStep>(name, j_, acts)));
        }
        p.set_pg_restore(Tool{"/bin/true", "17.0", 17});
        p.set_sessions([this](const Target&, const HomeSettings&, std::chrono::milliseconds, std::function<bool()>, Logger&, common::IdleConnections&) {
            return std::unique_ptr<TargetSession>(new FakeSession(j_));
        });
        p.validate();
        return p.run(dry_run, &stop_);
    }
    std::string logs() const { return out_.str(); }

    Journal j_;
    std::ostringstream out_;
    HostLogger log_{out_, HostLogger::Format::json, Level::debug};
    pixtest::TempDir dir_;
    std::atomic<bool> stop_{false};
};

FakeStep::Act thrower(ErrorKind kind, const std::string& msg, int times = 1000) {
    auto left = std::make_shared<int>(times);
    return [=](RunContext&) {
        if ((*left)-- > 0) throw StepError(kind, msg);
    };
}

RestorePlan two_tables() {
    RestorePlan p;
    for (int id : {1, 2}) {
        TocEntry e;
        e.id = DumpId{id};
        e.desc = "TABLE";
        e.schema = "public";
        e.tag = id == 1 ? "users" : "answers";
        e.table = "public." + e.tag;
        p.entries.push_back(e);
    }
    return p;
}

}  // namespace

TEST_F(PipelineTest, PhasesRunInOrderUnderTheLockThenFinish) {
    EXPECT_EQ(run({{"a", {}}, {"b", {}}}), kExitOk);
    // The run is recorded as running before anything, access rules are saved before the first
    // execute and re-applied after the last, the outcome recorded at the end.
    EXPECT_EQ(j_.joined(), "home.begin a.prepare b.prepare home.save_access a.execute b.execute home.reapply_access a.finish(ok) "
                           "b.finish(ok) home.end(7,success)");
    EXPECT_EQ(j_.locks, 1);
    EXPECT_NE(logs().find("\"msg\":\"replication succeeded\""), std::string::npos);
}

TEST_F(PipelineTest, FinishRunsAfterAFailureAndTheKindDecidesTheExitCode) {
    EXPECT_EQ(run({{"a", {}}, {"b", {{"execute", thrower(ErrorKind::fatal, "disk on fire")}}}, {"c", {}}}), kExitRunFailed);
    EXPECT_EQ(j_.joined(), "home.begin a.prepare b.prepare c.prepare home.save_access a.execute b.execute a.finish(failed:b) "
                           "b.finish(failed:b) c.finish(failed:b) home.end(7,failure)");
    EXPECT_NE(logs().find("replication failed: disk on fire"), std::string::npos);
    j_.calls.clear();
    EXPECT_EQ(run({{"a", {{"prepare", thrower(ErrorKind::config, "bad option")}}}, {"b", {}}}), kExitInvalid);
    EXPECT_EQ(j_.joined(), "home.begin a.prepare a.finish(failed:a) b.finish(failed:a) home.end(7,failure)")
        << "nothing executes after a configuration error";
    j_.calls.clear();
    EXPECT_EQ(run({{"a", {{"prepare", thrower(ErrorKind::input, "corrupt archive")}}}}), kExitInvalid);
}

TEST_F(PipelineTest, TransientFailuresAreRetriedThenTheRunSucceeds) {
    EXPECT_EQ(run({{"a", {{"execute", thrower(ErrorKind::transient, "network down", 2)}}}}), kExitOk);
    EXPECT_EQ(j_.joined(), "home.begin a.prepare home.save_access a.execute a.prepare home.save_access a.execute a.prepare "
                           "home.save_access a.execute home.reapply_access a.finish(ok) home.end(7,success)");
    EXPECT_NE(logs().find("\"msg\":\"attempt 1 failed: network down\""), std::string::npos);
    EXPECT_NE(logs().find("\"msg\":\"attempt 2 failed: network down\""), std::string::npos);
    EXPECT_NE(logs().find("\"attempts\":3"), std::string::npos);
    EXPECT_EQ(j_.locks, 1) << "the lock is held across attempts";
}

TEST_F(PipelineTest, RetriesStopAtMaxRetryCountAndOnlyWhatCanHealIsRetried) {
    EXPECT_EQ(run({{"a", {{"prepare", [](RunContext&) { throw std::runtime_error("server closed the connection unexpectedly"); }}}}}),
              kExitRunFailed);
    EXPECT_EQ(std::count(j_.calls.begin(), j_.calls.end(), "a.prepare"), 3);
    EXPECT_NE(logs().find("replication failed: server closed the connection unexpectedly"), std::string::npos);
    j_.calls.clear();
    // A bug, a syntax error, a bad value: the same again at every attempt.
    EXPECT_EQ(run({{"a", {{"prepare", [](RunContext&) { throw std::logic_error("surprise"); }}}}}), kExitRunFailed);
    EXPECT_EQ(std::count(j_.calls.begin(), j_.calls.end(), "a.prepare"), 1);
    j_.calls.clear();
    EXPECT_EQ(run({{"a", {{"execute", [](RunContext&) { throw std::runtime_error("ERROR:  syntax error at or near \"SELEC\""); }}}}}),
              kExitRunFailed);
    EXPECT_EQ(std::count(j_.calls.begin(), j_.calls.end(), "a.execute"), 1) << j_.joined();
}

TEST_F(PipelineTest, Exit2OnlyWhenNothingWasTouched) {
    // In place, an input error found once the target may have changed (a row, after the drop)
    // is a failed run, exit 1, not "invalid input, nothing touched"; and it is not retried.
    auto bad_row = thrower(ErrorKind::input, "a row of the dump does not parse");
    EXPECT_EQ(run({{"db", {{"execute", bad_row}}}}, false, {{"refresh", std::string("in-place"), 7}}), kExitRunFailed);
    EXPECT_EQ(std::count(j_.calls.begin(), j_.calls.end(), "db.execute"), 1) << j_.joined();
    // Built beside, the live copy is untouched until the swap, unless a kept table takes new rows.
    j_.calls.clear();
    EXPECT_EQ(run({{"db", {{"execute", bad_row}}}}), kExitInvalid);
    j_.calls.clear();
    auto keeps = [](RunContext& ctx) {
        ctx.adopt(Backup{}, two_tables());
        ctx.keep(DumpId{2}, "incremental");
    };
    EXPECT_EQ(run({{"db", {{"prepare", keeps}, {"execute", bad_row}}}}), kExitRunFailed);
    // A check in the execute of a step that never connects to the target (masking's rules),
    // before any step that does: nothing was touched, even in place or with kept tables.
    j_.calls.clear();
    auto refused = thrower(ErrorKind::config, "the masking rules do not fit tonight's backup");
    EXPECT_EQ(run({{"a", {{"prepare", keeps}, {"execute", refused}}}, {"db", {}}}), kExitInvalid);
    EXPECT_EQ(std::count(j_.calls.begin(), j_.calls.end(), "db.execute"), 0) << j_.joined();
    j_.calls.clear();
    EXPECT_EQ(run({{"a", {{"execute", refused}}}, {"db", {}}}, false, {{"refresh", std::string("in-place"), 7}}), kExitInvalid);
    j_.calls.clear();
    EXPECT_EQ(run({{"a", {{"prepare", thrower(ErrorKind::input, "corrupt archive")}}}}), kExitInvalid);
}

TEST_F(PipelineTest, AnotherRunHoldingTheLockMeansExit3BeforeAnythingRuns) {
    j_.busy = true;
    EXPECT_EQ(run({{"a", {}}}), kExitLocked);
    EXPECT_EQ(j_.joined(), "a.finish(failed:)");
}

TEST_F(PipelineTest, ADryRunPreparesOnlyAndTakesNoLock) {
    EXPECT_EQ(run({{"a", {}}, {"b", {}}}, true), kExitOk);
    EXPECT_EQ(j_.joined(), "a.prepare b.prepare a.finish(ok) b.finish(ok)");
    EXPECT_EQ(j_.locks, 0);
}

TEST_F(PipelineTest, NoStepChangesThePlanAfterTheRestorerSealedIt) {
    auto source = [](RunContext& ctx) { ctx.adopt(Backup{}, two_tables()); };
    auto restorer = [](RunContext& ctx) { EXPECT_EQ(restore_context(ctx).seal_plan().restored_count(), 1u); };
    auto shaper = [](RunContext& ctx) { ctx.exclude([](const TocEntry& e) { return e.tag == "answers"; }, "not wanted"); };
    EXPECT_EQ(run({{"source", {{"prepare", source}}}, {"shaper", {{"prepare", shaper}}}, {"restorer", {{"prepare", restorer}}}}), kExitOk);
    j_.calls.clear();
    EXPECT_EQ(run({{"source", {{"prepare", source}}}, {"restorer", {{"prepare", [](RunContext& ctx) { restore_context(ctx).seal_plan(); }}}},
                   {"late", {{"prepare", shaper}}}}),
              kExitInvalid);
    EXPECT_NE(logs().find("step 'late' calls exclude() after 'restorer' sealed the restore plan: list 'late' before 'restorer'"),
              std::string::npos)
        << logs();
    EXPECT_EQ(std::count(j_.calls.begin(), j_.calls.end(), "late.execute"), 0);
}

TEST_F(PipelineTest, ALostLockStopsTheRunWithItsReason) {
    auto restore = [this](RunContext& ctx) {
        j_.lose = true;
        while (!ctx.env().stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        throw StepError(ErrorKind::fatal, "restore interrupted by a stop request");
    };
    EXPECT_EQ(run({{"a", {{"execute", restore}}}}, false, {{"max_retry_count", std::int64_t{0}, 9}}), kExitRunFailed);
    EXPECT_NE(logs().find("replication failed: lost the session holding the run's lock on the target (test)"), std::string::npos) << logs();
}

TEST_F(PipelineTest, DeferredWorkKnowsWhoAskedAndOrphansAreDropped) {
    std::vector<Deferred> seen;
    auto source = [](RunContext& ctx) { ctx.adopt(Backup{}, two_tables()); };
    auto shaper = [](RunContext& ctx) {
        ctx.add_work({"answers index", "INDEX", {"CREATE INDEX ..."}, "public.answers", {DumpId{2}}});
        ctx.add_work({"users index", "INDEX", {"CREATE INDEX ..."}, "public.users", {DumpId{1}}});
        ctx.exclude([](const TocEntry& e) { return e.tag == "answers"; }, "not wanted");
    };
    auto restorer = [&seen](RunContext& ctx) {
        restore_context(ctx).seal_plan();
        seen = restore_context(ctx).deferred();
    };
    EXPECT_EQ(run({{"source", {{"prepare", source}}}, {"shaper", {{"prepare", shaper}}}, {"restorer", {{"prepare", restorer}}}}), kExitOk);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].label, "users index");
    EXPECT_EQ(seen[0].by, "shaper");
}

TEST_F(PipelineTest, StepsRememberWhatTheyLearntOnlyWhenTheRunSucceeds) {
    auto learn = [this](RunContext& ctx) {
        j_.calls.push_back("recalled " + ctx.recall("seen").value_or("nothing"));
        ctx.remember("last_full_reload", "2026-11-26");
    };
    EXPECT_EQ(run({{"a", {{"prepare", learn}}}}), kExitOk);
    EXPECT_NE(j_.joined().find("recalled yes"), std::string::npos) << j_.joined();
    EXPECT_NE(j_.joined().find("home.reapply_access home.remember(a.last_full_reload=2026-11-26)"), std::string::npos) << j_.joined();
    j_.calls.clear();
    EXPECT_EQ(run({{"a", {{"prepare", learn}, {"execute", thrower(ErrorKind::fatal, "late failure")}}}}), kExitRunFailed);
    EXPECT_EQ(j_.joined().find("home.remember"), std::string::npos) << j_.joined();
}

TEST_F(PipelineTest, OnlyTheRestorerHasTheRestorersVerbsAndOnlyStepsThatConnectHaveThePassword) {
    std::map<std::string, std::string> seen;
    auto look = [&seen](const char* who) {
        return [&seen, who](RunContext& ctx) {
            seen[who] = ctx.env().target().password + "|" + ctx.env().target().conninfo.substr(0, 4) + "|" +
                        ctx.env().target().conninfo_public.substr(0, 4);
        };
    };
    EXPECT_EQ(run({{"source", {{"prepare", look("source")}}}, {"db", {{"prepare", look("db")}}}, {"restorer", {{"prepare", look("restorer")}}}}),
              kExitOk);
    EXPECT_EQ(seen["source"], "||conn") << "a step that does not connect sees no password";
    EXPECT_EQ(seen["db"], "pw|conn|conn");
    EXPECT_EQ(seen["restorer"], "pw|conn|conn");
    j_.calls.clear();
    EXPECT_EQ(run({{"shaper", {{"prepare", [](RunContext& ctx) { restore_context(ctx).seal_plan(); }}}}}), kExitInvalid);
    EXPECT_NE(logs().find("this step uses the restorer's verbs but its StepInfo does not say restorer"), std::string::npos) << logs();
}

TEST(HostRun, FiguresAndTimingsMayComeFromManyThreads) {
    // pg-restore records timings from its progress reader and from its pool's threads at once.
    HostEnv env;
    std::ostringstream out;
    HostLogger log(out, HostLogger::Format::json, Level::info);
    HostRun run(env, log);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&run] {
            for (int i = 0; i < 500; ++i) {
                run.add_timing("INDEX", "idx", std::chrono::steady_clock::now(), 0.001);
                run.add_figure("rows.public.t", 1);
            }
        });
    for (auto& t : threads) t.join();
    auto r = run.report();
    EXPECT_EQ(r.timings.size(), 2000u);
    EXPECT_EQ(r.figures["rows.public.t"].value, 2000);
}

namespace {

// A source whose dump arrives on the host's thread: the table of contents at once, entry 2's
// block only once `release` is set, and then the end, or `fail_with` once released.
FakeStep::Act streaming_source(std::atomic<bool>& release, std::atomic<bool>& ended, std::optional<ErrorKind> fail_with = {}) {
    return [&release, &ended, fail_with](RunContext& ctx) {
        ctx.stream([&release, &ended, fail_with](Arrival& arrival) {
            auto plan = two_tables();
            plan.entries[1].desc = "TABLE DATA";
            arrival.toc(Backup{}, plan);
            while (!release && !arrival.env().stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
            if (arrival.env().stopping()) throw StepError(ErrorKind::fatal, "stopped");
            if (fail_with) throw StepError(*fail_with, "the dump ends in the middle of the data of answers");
            arrival.arrived(DumpId{2}, {42, 7, 1000});
            ended = true;
        });
    };
}

}  // namespace

TEST_F(PipelineTest, BuiltBesideTheStepsStartWhileTheDumpArrivesAndTheSwapWaitsForItsEnd) {
    std::atomic<bool> release{false}, ended{false};
    std::int64_t rows_seen = -2, rows_at_commit = -2;
    bool ended_before_execute = true, ended_at_commit = false;
    auto restorer = [&](RunContext& ctx) {
        ended_before_execute = ended;
        release = true;  // the block arrives only now: execute() began before the dump was whole
        rows_seen = ctx.arrived(DumpId{2}).rows;
    };
    auto commit = [&](RunContext& ctx) {
        ended_at_commit = ended;
        rows_at_commit = ctx.plan().find(DumpId{2})->rows;
    };
    EXPECT_EQ(run({{"source", {{"prepare", streaming_source(release, ended)}}}, {"restorer", {{"execute", restorer}, {"commit", commit}}}}),
              kExitOk)
        << logs();
    EXPECT_FALSE(ended_before_execute);
    EXPECT_EQ(rows_seen, 42);
    EXPECT_TRUE(ended_at_commit);
    EXPECT_EQ(rows_at_commit, 42) << "the arrivals join the plan before the commit phase";
}

TEST_F(PipelineTest, InPlaceTheDumpIsWholeBeforeTheNextStepPrepares) {
    std::atomic<bool> release{true}, ended{false};
    bool whole = false;
    std::int64_t rows = -2;
    auto next = [&](RunContext& ctx) { whole = ended, rows = ctx.plan().find(DumpId{2})->rows; };
    EXPECT_EQ(run({{"source", {{"prepare", streaming_source(release, ended)}}}, {"restorer", {{"prepare", next}}}}, false,
                  {{"refresh", std::string("in-place"), 7}}),
              kExitOk);
    EXPECT_TRUE(whole);
    EXPECT_EQ(rows, 42);
}

TEST_F(PipelineTest, ADumpFoundBadAfterTheBuildBeganFailsTheRunBeforeTheSwapNamingTheSource) {
    std::atomic<bool> release{false}, ended{false};
    bool committed = false;
    std::string message;
    auto restorer = [&](RunContext& ctx) {
        release = true;
        try {
            ctx.arrived(DumpId{2});
        } catch (const StepError& e) {
            message = e.what();
            throw;
        }
    };
    EXPECT_EQ(run({{"source", {{"prepare", streaming_source(release, ended, ErrorKind::input)}}},
                   {"restorer", {{"execute", restorer}, {"commit", [&](RunContext&) { committed = true; }}}}}),
              kExitInvalid)
        << "built beside with nothing kept, yesterday's copy is untouched: exit 2\n" << logs();
    EXPECT_FALSE(committed);
    EXPECT_EQ(message, "the dump ends in the middle of the data of answers");
    EXPECT_NE(j_.joined().find("restorer.finish(failed:source)"), std::string::npos) << j_.joined();
    EXPECT_EQ(std::count(j_.calls.begin(), j_.calls.end(), "restorer.execute"), 1) << "an input error is not retried";
}

TEST_F(PipelineTest, AnAttemptThatFailsStopsItsTransferBeforeTheRetry) {
    std::atomic<bool> release{false}, ended{false};
    int attempts = 0;
    auto restorer = [&](RunContext&) {
        if (++attempts == 1) throw StepError(ErrorKind::transient, "connection lost");
        release = true;
    };
    // The first attempt's transfer never gets its block: it ends only because the attempt does.
    EXPECT_EQ(run({{"source", {{"prepare", streaming_source(release, ended)}}}, {"restorer", {{"execute", restorer}}}}), kExitOk)
        << logs();
    EXPECT_EQ(attempts, 2);
    EXPECT_TRUE(ended);
}

TEST(StepOrder, BuiltBesideTheSwapComesBeforeTheRestorerAndEachOnce) {
    using pixrep::StepRole;
    const StepRole source{"local-file", "c.toml:5"}, drop{"drop-objects", "c.toml:9", false, true}, restore{"pg-restore", "c.toml:12", true, false};
    EXPECT_EQ(pixrep::step_order_problem({source, drop, restore}), "");
    EXPECT_EQ(pixrep::step_order_problem({source}), "") << "no restore, nothing to swap";
    EXPECT_EQ(pixrep::step_order_problem({source, restore, drop}),
              "c.toml:9: step 'drop-objects' swaps tonight's copy in and must be listed before 'pg-restore' (c.toml:12), whose work on the "
              "live names follows the swap");
    EXPECT_EQ(pixrep::step_order_problem({source, restore}),
              "c.toml:12: with REFRESH=beside, tonight's copy is built beside and swapped in by a step such as drop-objects, which this "
              "config does not list before 'pg-restore' (or set REFRESH=in-place)");
    EXPECT_NE(pixrep::step_order_problem({source, drop, restore, restore}).find("one restorer at most"), std::string::npos);
    EXPECT_NE(pixrep::step_order_problem({source, drop, drop, restore}).find("and so does 'drop-objects'"), std::string::npos);
}
