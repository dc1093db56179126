// What makes the tool a job to leave alone: schedule, one run at a time, clean stops, webhooks,
// the web endpoint. Real replications into the real PostgreSQL.
#include <csignal>
#include <regex>
#include <thread>

#include "fake_scalingo.hpp"
#include "replication_fixture.hpp"

namespace {
using Unattended = Replication;
}  // namespace

TEST_F(Unattended, ScheduleRunsRealReplicationsAndStopsOnSigterm) {
    auto p = start({"schedule"}, {{"SCHEDULE", "*/3 * * * * *"}});
    ASSERT_NE(p->wait_for("\"msg\":\"next run at ", 10), "") << p->output();
    ASSERT_NE(p->wait_for("\"msg\":\"replication succeeded\"", 30, 2), "") << p->output();
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait_exit(10), 143) << p->output();
    EXPECT_NE(p->output().find("scheduler stopping: signal received"), std::string::npos) << p->output();
}

TEST_F(Unattended, TicksDuringARunAreSkippedNotQueued) {
    slow_restore(1);
    auto p = start({"schedule"}, {{"SCHEDULE", "* * * * * *"}});
    ASSERT_NE(p->wait_for("\"msg\":\"replication succeeded\"", 60), "") << p->output();
    auto skipped = p->wait_for("tick(s) that came while a run was going", 5);
    EXPECT_NE(skipped, "") << p->output();
    EXPECT_NE(skipped.find("\"level\":40"), std::string::npos);
    p->signal(SIGTERM);
    EXPECT_NE(p->wait_exit(15), -1);
    // Never two at once: every "replication started" is followed by its end before the next.
    auto out = p->output();
    int depth = 0;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (line.find("\"msg\":\"replication started\"") != std::string::npos) EXPECT_EQ(++depth, 1) << out;
        if (line.find("\"msg\":\"replication succeeded\"") != std::string::npos || line.find("\"msg\":\"replication failed") != std::string::npos) --depth;
    }
}

TEST_F(Unattended, InvalidScheduleIsRefusedAtStart) {
    auto r = pixtest::run_cmd({PIXREP_BINARY, "schedule"}, env({{"SCHEDULE", "61 5 * * *"}}));
    expect_failed(r, 2, "SCHEDULE: cron expression '61 5 * * *': minute field '61' at character 1: 61 is out of range 0-59");
    r = pixtest::run_cmd({PIXREP_BINARY, "schedule"}, env({{"SCHEDULE", "10 5 * * *"}, {"SCHEDULE_TIME_ZONE", "Europe/Pariss"}}));
    expect_failed(r, 2, "unknown time zone 'Europe/Pariss'");
    r = pixtest::run_cmd({PIXREP_BINARY, "schedule"}, env());
    expect_failed(r, 2, "set SCHEDULE");
}

TEST_F(Unattended, ScheduleInATimeZoneSaysWhenTheNextRunIs) {
    auto p = start({"schedule"}, {{"SCHEDULE", "10 5 * * *"}, {"SCHEDULE_TIME_ZONE", "Europe/Paris"}});
    auto line = p->wait_for("\"msg\":\"next run at ", 10);
    ASSERT_NE(line, "") << p->output();
    // 05:10 in Paris is 04:10 or 03:10 UTC depending on the season.
    EXPECT_TRUE(std::regex_search(line, std::regex("next run at 20[0-9-]+T0[34]:10:00Z"))) << line;
    p->signal(SIGINT);
    EXPECT_EQ(p->wait_exit(10), 130);
}

TEST_F(Unattended, TwoRunsNeverRestoreIntoTheSameTargetTogether) {
    slow_restore(1);
    auto first = start({"run"});
    ASSERT_NE(first->wait_for("\"msg\":\"restore started\"", 30), "") << first->output();
    auto second = pixtest::run_cmd({PIXREP_BINARY, "run"}, env({{"LOCK_TIMEOUT", "0s"}}));
    EXPECT_EQ(second.code, 3) << second.out;
    EXPECT_NE(second.out.find("another replication holds the lock on the target database"), std::string::npos) << second.out;
    EXPECT_EQ(second.out.find("dropped every object"), std::string::npos);
    // A second run allowed to wait goes once the first is done.
    auto waiting = start({"run"}, {{"LOCK_TIMEOUT", "2m"}});
    EXPECT_EQ(first->wait_exit(120), 0) << first->output();
    EXPECT_EQ(waiting->wait_exit(120), 0) << waiting->output();
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
}

TEST_F(Unattended, SigtermDuringRestoreLeavesNoChildNoLockNoPartialFile) {
    slow_restore(30);
    auto p = start({"run"}, {{"REFRESH", "in-place"}});  // pg_restore as a child (beside: BesideFaults)
    ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_TRUE(pg_restore_running_for(work_.path()));
    auto t0 = std::chrono::steady_clock::now();
    p->signal(SIGTERM);
    int code = p->wait_exit(12);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(code, 143) << p->output();
    EXPECT_LT(took, 10.0);
    EXPECT_NE(p->output().find("restore interrupted by a stop request; pg_restore terminated"), std::string::npos) << p->output();
    EXPECT_FALSE(pg_restore_running_for(work_.path()));
    long long locks = 1;
    for (int i = 0; i < 50 && (locks = advisory_locks()) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(locks, 0);
    for (const auto& e : fs::recursive_directory_iterator(work_.path()))
        EXPECT_NE(e.path().extension(), ".pgsql") << "the stopped run's dump is left: " << e.path();
}

TEST_F(Unattended, WebhooksReceiveTheOutcomeAndNeverFailARun) {
    FakeScalingo receiver(json{{"api_token", kToken}, {"apps", json::object()}});
    auto cfg = work_ / "hooks.toml";
    pixtest::write_file(cfg, pixtest::read_file(kLocal) +
                                 "\n[[steps]]\nplugin = \"webhook\"\nurls = [\"" + receiver.base() + "/hooks/ok\", \"" + receiver.base() +
                                 "/hooks/broken\"]\nauthorization = \"${HOOK_AUTH}\"\n");
    auto e = env({{"REPLICATION_CONFIG", cfg.string()}, {"HOOK_AUTH", "Token s3cr3t-hook-value"}});
    auto ok = pixtest::run_cmd({PIXREP_BINARY, "run"}, e);
    EXPECT_EQ(ok.code, 0) << ok.out;
    EXPECT_NE(ok.out.find("webhook #2 failed: HTTP 500"), std::string::npos) << ok.out;
    e["BACKUP_FILE"] = "/nonexistent.tar.gz";
    auto failed = pixtest::run_cmd({PIXREP_BINARY, "run"}, e);
    EXPECT_EQ(failed.code, 2);
    for (const auto* r : {&ok, &failed}) {
        EXPECT_EQ(r->out.find("s3cr3t-hook-value"), std::string::npos) << r->out;
        EXPECT_EQ(r->out.find("/hooks/ok"), std::string::npos) << r->out;
    }
    auto hooks = receiver.requests("hook");
    ASSERT_EQ(hooks.size(), 4u);
    EXPECT_EQ(hooks[0]["path"], "/hooks/ok");
    EXPECT_EQ(hooks[0]["authorization"], "Token s3cr3t-hook-value");
    EXPECT_EQ(hooks[0]["body"]["status"], "success");
    EXPECT_EQ(hooks[0]["body"]["backup"]["name"], "orig.tar.gz");
    EXPECT_EQ(hooks[0]["body"]["attempts"], 1);
    EXPECT_TRUE(hooks[0]["body"]["step_seconds"].contains("pg-restore (execute)"));
    EXPECT_EQ(hooks[2]["body"]["status"], "failure");
    EXPECT_NE(hooks[2]["body"]["error"].get<std::string>().find("backup file '/nonexistent.tar.gz' not found"), std::string::npos);
    EXPECT_EQ(hooks[2]["body"]["failed_step"], "local-file");
}

TEST_F(Unattended, WebEndpointServesHealthAndTheLastRun) {
    auto r = pixtest::run_cmd({PIXREP_BINARY, "run"}, env());
    ASSERT_EQ(r.code, 0) << r.out;
    auto [web, port] = serve();
    ASSERT_NE(port, 0) << web->output();
    auto health = pixtest::http_get(port, "/health");
    EXPECT_NE(health.find("HTTP/1.1 200"), std::string::npos) << health;
    EXPECT_NE(health.find("{\"status\":\"ok\"}"), std::string::npos) << health;
    auto status = read_as_operator(port, "/status");
    auto body = nlohmann::json::parse(status.substr(status.find("\r\n\r\n") + 4));
    EXPECT_EQ(body["last_run"]["status"], "success") << status;
    EXPECT_EQ(body["last_run"]["backup_name"], "orig.tar.gz");
    // Without a token: the public facts only.
    auto open = pixtest::http_get(port, "/status");
    auto facts = nlohmann::json::parse(open.substr(open.find("\r\n\r\n") + 4));
    EXPECT_EQ(facts["copy"], true) << open;
    EXPECT_TRUE(facts["restored_at"].is_string()) << open;
    EXPECT_FALSE(facts.contains("runs")) << open;
    EXPECT_EQ(open.find("orig.tar.gz"), std::string::npos) << open;
    EXPECT_TRUE(body["last_run"]["duration_s"].is_number());
    EXPECT_NE(pixtest::http_get(port, "/nope").find("404"), std::string::npos);
    web->signal(SIGTERM);
    EXPECT_EQ(web->wait_exit(5), 143);
}

TEST_F(Unattended, TwoRunsStartedTogetherNeverBothFail) {
    // Same machine, same work directory, same target: one restores, the other says at once that
    // the target is busy (exit 3); or, allowed to wait, both succeed one after the other.
    slow_restore(1);  // so that they overlap
    auto first = start({"run"});
    auto second = start({"run"});
    int a = first->wait_exit(120), b = second->wait_exit(120);
    auto both = first->output() + second->output();
    EXPECT_TRUE((a == 0 && b == 3) || (a == 3 && b == 0)) << a << " " << b << "\n" << both;
    EXPECT_NE(both.find("another replication holds the lock on the target database"), std::string::npos) << both;
    for (const char* clash : {"cannot rename", "is not a readable pg_dump archive", "truncated or corrupt"})
        EXPECT_EQ(both.find(clash), std::string::npos) << clash << "\n" << both;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
    first = start({"run"}, {{"LOCK_TIMEOUT", "2m"}});
    second = start({"run"}, {{"LOCK_TIMEOUT", "2m"}});
    EXPECT_EQ(first->wait_exit(120), 0) << first->output();
    EXPECT_EQ(second->wait_exit(120), 0) << second->output();

    // Two targets, one work directory: each run works in its own folder, both succeed.
    auto other = TempPostgres::instance().create_target(db_ + "_b", "replica_b_" + db_, "s3cr3t-pw");
    first = start({"run"});
    second = start({"run"}, {{"DATABASE_URL", other}});
    EXPECT_EQ(first->wait_exit(120), 0) << first->output();
    EXPECT_EQ(second->wait_exit(120), 0) << second->output();
    EXPECT_EQ(count(other, "SELECT count(*) FROM test_table"), 100000);
    for (const auto& e : fs::directory_iterator(work_.path()))
        EXPECT_EQ(e.path().filename().string().rfind("run-", 0), std::string::npos) << "left behind: " << e.path();
}

TEST_F(Unattended, AKilledRunsFolderIsSweptByTheNext) {
    fs::create_directories(work_ / "run-Xkilled");
    pixtest::write_file(work_ / "run-Xkilled" / "20261124010203_pix.pgsql", std::string(1 << 20, 'x'));
    pixtest::write_file(work_ / "run-Xkilled" / ".lock", "");
    auto r = pixtest::run_cmd({PIXREP_BINARY, "run"}, env());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_FALSE(fs::exists(work_ / "run-Xkilled"));
}
