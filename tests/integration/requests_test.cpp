// Runs asked for (issue 20): a `schedule` process with a yearly cron and a `serve` process on the
// same target; requests made over HTTP (bearer, Scalingo's notifier) or by `request` are served
// by the schedule process within TRIGGER_POLL, one run for all those made during a run.
#include <chrono>
#include <csignal>
#include <thread>

#include "fake_scalingo.hpp"
#include "replication_fixture.hpp"
#include "target.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

const std::string kTriggerToken = "trigger-token-5f2a9c41d7";
const std::string kHookToken = "hook-token-93be0c1a55e4";
const std::string kYearly = "0 0 1 1 *";

int status_of(const std::string& response) {
    auto sp = response.find(' ');
    return sp == std::string::npos ? 0 : std::atoi(response.c_str() + sp + 1);
}

nlohmann::json body_of(const std::string& response) {
    auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? nlohmann::json() : nlohmann::json::parse(response.substr(at + 4), nullptr, false);
}

class Requests : public Replication {
protected:
    std::string post_run(int port, const std::string& body = R"({"reason": "fix in production"})", const std::string& token = kTriggerToken) {
        return pixtest::http_request(port, "POST", "/runs", {"Authorization: Bearer " + token, "Content-Type: application/json"}, body);
    }
    nlohmann::json get_run(int port, long long id) {
        return body_of(pixtest::http_request(port, "GET", "/runs/" + std::to_string(id), {"Authorization: Bearer " + kTriggerToken}, ""));
    }
    // The request's state once it is no longer pending nor running, within `seconds`.
    nlohmann::json wait_answered(int port, long long id, double seconds = 60) {
        nlohmann::json r;
        for (auto t = Clock::now(); since(t) < seconds; std::this_thread::sleep_for(std::chrono::milliseconds(200))) {
            r = get_run(port, id);
            if (r.is_object() && r.value("state", "") != "pending" && r.value("state", "") != "running") return r;
        }
        return r;
    }
    long long requests_made() {
        if (count(target_, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('pix_db_replication.requests')") == 0) return 0;
        return count(target_, "SELECT count(*) FROM pix_db_replication.requests");
    }
    std::string hook_event(const std::string& type, const std::string& app, const std::string& backup) {
        return nlohmann::json{{"id", "ev-1"}, {"type", type}, {"app_name", app}, {"created_at", "2026-12-02T01:02:03Z"},
                              {"type_data", {{"backup_id", backup}, {"addon_id", "ad-pg"}}}}
            .dump();
    }
    std::map<std::string, std::string> web_env() {
        return {{"TRIGGER_TOKEN", kTriggerToken}, {"HOOK_TOKEN", kHookToken}, {"SCALINGO_APP", "pix-api-production"}, {"TRIGGER_MIN_INTERVAL", "0s"}};
    }
    std::map<std::string, std::string> schedule_env() { return {{"SCHEDULE", kYearly}, {"TRIGGER_POLL", "1s"}, {"TRIGGER_MIN_INTERVAL", "0s"}}; }
};

}  // namespace

TEST_F(Requests, APostedRequestIsServedWithinAMinuteAndTheRequestSaysByWhichRun) {
    auto [web, port] = serve(web_env());
    ASSERT_GT(port, 0) << web->output();
    auto sched = start({"schedule"}, schedule_env());
    ASSERT_NE(sched->wait_for("\"msg\":\"scheduler started\"", 20), "") << sched->output();
    auto t0 = Clock::now();
    auto res = post_run(port);
    ASSERT_EQ(status_of(res), 202) << res;
    const long long id = body_of(res)["id"].get<long long>();
    auto r = wait_answered(port, id);
    ASSERT_EQ(r.value("state", ""), "served") << r.dump() << "\n" << sched->output();
    std::printf("REQUEST posted -> served in %.1f s\n", since(t0));
    EXPECT_LT(since(t0), 60.0);
    EXPECT_EQ(r["reason"], "fix in production");
    ASSERT_TRUE(r["run_id"].is_number()) << r.dump();
    EXPECT_EQ(r["run"]["status"], "success") << r.dump();
    EXPECT_EQ(r["run"]["exit_code"], 0);
    EXPECT_FALSE(has_table("keep_me")) << "the target was restored";
    EXPECT_TRUE(has_table("users"));
    // `request` from a one-off container does the same.
    auto cli = pixtest::run_tool({"--config", kLocal, "request", "--reason", "from a one-off"}, {{"DATABASE_URL", target_}});
    ASSERT_EQ(cli.code, 0) << cli.out;
    const long long id2 = std::stoll(cli.out.substr(cli.out.rfind('\n', cli.out.size() - 2) + 1));
    auto r2 = wait_answered(port, id2);
    EXPECT_EQ(r2.value("state", ""), "served") << r2.dump() << "\n" << cli.out;
    EXPECT_GT(r2["run_id"].get<long long>(), r["run_id"].get<long long>());
    // The page shows which run served which request.
    auto page = read_as_operator(port, "/");
    EXPECT_EQ(pixtest::http_get(port, "/").find("from a one-off"), std::string::npos) << "who asked and why: for those with a token";
    EXPECT_NE(page.find("Requested runs"), std::string::npos);
    EXPECT_NE(page.find("from a one-off"), std::string::npos);
    EXPECT_NE(page.find("run " + std::to_string(r["run_id"].get<long long>())), std::string::npos);
    EXPECT_EQ(web->output().find(kTriggerToken), std::string::npos) << "the token was logged";
    EXPECT_EQ(sched->output().find(kTriggerToken), std::string::npos);
    sched->signal(SIGTERM);
    EXPECT_EQ(sched->wait_exit(30), 143);
}

TEST_F(Requests, WrongOrMissingTokensAndBadBodiesMakeNoRequestAndNoRun) {
    {
        auto [web, port] = serve();  // no TRIGGER_TOKEN: the endpoints do not exist
        ASSERT_GT(port, 0);
        EXPECT_EQ(status_of(post_run(port)), 404);
        EXPECT_EQ(status_of(pixtest::http_request(port, "POST", "/hooks/scalingo/" + kHookToken, {}, hook_event("database_backup_succeeded",
                                                                                                            "pix-api-production", "bk-1"))),
                  404);
    }
    auto [web, port] = serve(web_env());
    ASSERT_GT(port, 0);
    EXPECT_EQ(status_of(post_run(port, "{}", "wrong-token-0000000000")), 401);
    EXPECT_EQ(status_of(pixtest::http_request(port, "POST", "/runs", {}, "{}")), 401);
    EXPECT_EQ(status_of(pixtest::http_request(port, "GET", "/runs/1", {}, "")), 401);
    EXPECT_EQ(status_of(pixtest::http_request(port, "POST", "/hooks/scalingo/wrong-token-0000000000", {},
                                              hook_event("database_backup_succeeded", "pix-api-production", "bk-1"))),
              404);
    EXPECT_EQ(status_of(post_run(port, "not json")), 400);
    EXPECT_EQ(status_of(post_run(port, R"({"reason": 42})")), 400);
    EXPECT_EQ(status_of(post_run(port, R"({"reason": "x", "backup": "y"})")), 400);
    EXPECT_EQ(status_of(post_run(port, "[1, 2]")), 400);
    EXPECT_EQ(status_of(post_run(port, std::string(20000, ' '))), 413);
    EXPECT_EQ(status_of(pixtest::http_request(port, "POST", "/hooks/scalingo/" + kHookToken, {}, "{\"no\": \"type\"}")), 400);
    EXPECT_EQ(requests_made(), 0) << "no request made";
    EXPECT_TRUE(has_table("keep_me")) << "no run";
    EXPECT_EQ(web->output().find(kTriggerToken), std::string::npos) << "the token was logged";
    // The hook's token opens the hook only: whoever sees the notifier's URL cannot ask for runs.
    EXPECT_EQ(status_of(post_run(port, "{}", kHookToken)), 401);
    EXPECT_EQ(status_of(pixtest::http_request(port, "POST", "/hooks/scalingo/" + kTriggerToken, {},
                                              hook_event("database_backup_succeeded", "pix-api-production", "bk-1"))),
              404);
    EXPECT_EQ(status_of(pixtest::http_request(port, "POST", "/hooks/scalingo/" + kHookToken, {},
                                              hook_event("database_backup_succeeded", "pix-api-production", std::string(300, 'b')))),
              400) << "a backup id is capped";
    EXPECT_EQ(requests_made(), 0);
}

TEST_F(Requests, OnePendingRequestAtATimeRunsAMinimumIntervalApartAndARateLimit) {
    auto env = web_env();
    env["TRIGGER_MIN_INTERVAL"] = "1h";
    auto [web, port] = serve(env);
    ASSERT_GT(port, 0);
    auto sched_env = schedule_env();
    sched_env["TRIGGER_MIN_INTERVAL"] = "1h";
    auto sched = start({"schedule"}, sched_env);
    const auto first = body_of(post_run(port));
    ASSERT_EQ(wait_answered(port, first["id"].get<long long>()).value("state", ""), "served") << sched->output();
    // Within the hour: recorded, joined, told when, and not served.
    auto later = post_run(port);
    ASSERT_EQ(status_of(later), 202) << later;
    const auto again = body_of(post_run(port));
    EXPECT_EQ(again["id"], body_of(later)["id"]);
    EXPECT_EQ(again["joined"], true);
    ASSERT_TRUE(body_of(later).contains("not_before")) << later;
    EXPECT_EQ(body_of(later)["not_before"].get<std::string>().rfind("20", 0), 0u) << later;
    std::this_thread::sleep_for(std::chrono::seconds(3));  // three looks of the schedule process
    EXPECT_EQ(get_run(port, body_of(later)["id"].get<long long>())["state"], "pending");
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pix_db_replication.runs"), 1) << "one run for the hour";
    // Beyond ten writes a minute: 429, and when to come back.
    std::string refused;
    for (int i = 0; i < 12 && refused.empty(); ++i)
        if (auto r = post_run(port); status_of(r) == 429) refused = r;
    ASSERT_NE(refused, "");
    EXPECT_NE(refused.find("Retry-After: "), std::string::npos) << refused;
    EXPECT_EQ(requests_made(), 2) << "every one joined the pending request";
    sched->signal(SIGTERM);
    sched->wait_exit(30);
}

TEST_F(Requests, ARequestLeftRunningByADeadProcessIsTakenUpAndOneMeetingAnotherRunWaitsForIt) {
    auto [web, port] = serve(web_env());
    ASSERT_GT(port, 0);
    // A request a killed scheduler had taken, five minutes ago; nobody holds the target.
    const long long orphan = body_of(post_run(port))["id"].get<long long>();
    TempPostgres::instance().exec(db_, "UPDATE pix_db_replication.requests SET state = 'running', claimed_at = now() - interval '5 minutes' "
                                       "WHERE id = " + std::to_string(orphan));
    auto sched = start({"schedule"}, schedule_env());
    ASSERT_NE(sched->wait_for("requests left running by a process that died are pending again", 30), "") << sched->output();
    auto r = wait_answered(port, orphan);
    EXPECT_EQ(r.value("state", ""), "served") << r.dump() << sched->output();
    // Another process holds the target, as another run does: the request waits, then is served.
    pqxx::connection other(target_);
    pqxx::nontransaction(other).exec("SELECT pg_advisory_lock(" + std::to_string(pixrep::kLockKey) + ")");
    const long long waiting = body_of(post_run(port))["id"].get<long long>();
    std::this_thread::sleep_for(std::chrono::seconds(3));  // three looks of the schedule process
    EXPECT_EQ(get_run(port, waiting)["state"], "pending") << "it waits while another run holds the target";
    EXPECT_EQ(sched->output().find("\"msg\":\"replication failed"), std::string::npos) << "never answered 'failed' with someone else's run";
    pqxx::nontransaction(other).exec("SELECT pg_advisory_unlock_all()");
    r = wait_answered(port, waiting);
    EXPECT_EQ(r.value("state", ""), "served") << r.dump() << sched->output();
    sched->signal(SIGTERM);
    sched->wait_exit(30);
}

TEST_F(Requests, ScalingosNotifierAsksForTheBackupItNamesAndAnAlreadyRestoredOneIsFresh) {
    auto [web, port] = serve(web_env());
    ASSERT_GT(port, 0);
    auto hook = [&](const std::string& type, const std::string& app, const std::string& backup) {
        return pixtest::http_request(port, "POST", "/hooks/scalingo/" + kHookToken, {"Content-Type: application/json"}, hook_event(type, app, backup));
    };
    auto other = hook("database_backup_succeeded", "another-app", "bk-9");
    EXPECT_EQ(status_of(other), 200) << other;
    EXPECT_EQ(body_of(other)["ignored"], true);
    auto failed = hook("database_backup_failed", "pix-api-production", "bk-8");
    EXPECT_EQ(status_of(failed), 200) << failed;
    EXPECT_EQ(status_of(hook("app_deployed", "pix-api-production", "")), 200);
    EXPECT_EQ(requests_made(), 1) << "the failed backup is recorded, and asks for no run";
    EXPECT_NE(web->wait_for("backup of pix-api-production failed", 5), "") << web->output();

    auto res = hook("database_backup_succeeded", "pix-api-production", "bk-1");
    ASSERT_EQ(status_of(res), 202) << res;
    const long long id = body_of(res)["id"].get<long long>();
    // The schedule process reports the failed backup through the webhook step, outside any run.
    FakeScalingo receiver(nlohmann::json{{"api_token", "x"}, {"apps", nlohmann::json::object()}});
    auto cfg = work_.path() / "hooks.toml";
    pixtest::write_file(cfg, pixtest::read_file(kLocal) + "\n[[steps]]\nplugin = \"webhook\"\nurls = [\"" + receiver.base() + "/hooks/ops\"]\n");
    auto env = schedule_env();
    env["REPLICATION_CONFIG"] = cfg.string();
    auto sched = start({"schedule"}, env);
    auto r = wait_answered(port, id);
    ASSERT_EQ(r.value("state", ""), "served") << r.dump() << "\n" << sched->output();
    EXPECT_EQ(r["backup_id"], "bk-1");
    EXPECT_EQ(r["requested_by"], "scalingo notifier");
    // The backup the last run restored, named again: answered without a run.
    const std::string restored = r["run"]["backup_id"].get<std::string>();
    const long long runs = count(target_, "SELECT count(*) FROM pix_db_replication.runs");
    res = hook("database_backup_succeeded", "pix-api-production", restored);
    ASSERT_EQ(status_of(res), 202) << res;
    auto fresh = wait_answered(port, body_of(res)["id"].get<long long>());
    EXPECT_EQ(fresh.value("state", ""), "fresh") << fresh.dump();
    EXPECT_NE(fresh.value("outcome", "").find("already fresh"), std::string::npos) << fresh.dump();
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pix_db_replication.runs"), runs) << "no run for a backup already restored";
    nlohmann::json notice;
    for (const auto& h : receiver.requests("hook"))
        if (h["body"].value("status", "") == "notice") notice = h["body"];
    EXPECT_EQ(notice.value("event", ""), "database_backup_failed") << sched->output();
    EXPECT_NE(notice.value("message", "").find("backup bk-8 failed"), std::string::npos) << notice.dump();
    sched->signal(SIGTERM);
    sched->wait_exit(30);
}

TEST_F(Requests, RequestsMadeDuringARunAreServedByOneRunAfterIt) {
    auto [web, port] = serve(web_env());
    ASSERT_GT(port, 0);
    slow_restore(2);
    auto sched = start({"schedule"}, schedule_env());
    auto first = post_run(port);
    ASSERT_EQ(status_of(first), 202) << first;
    ASSERT_NE(sched->wait_for("\"msg\":\"serving the runs asked for\"", 30), "") << sched->output();
    const auto second = body_of(post_run(port)), third = body_of(post_run(port));
    const long long a = second["id"].get<long long>(), b = third["id"].get<long long>();
    EXPECT_EQ(a, b) << "one pending request at a time: the third joins the second";
    EXPECT_EQ(second["joined"], false);
    EXPECT_EQ(third["joined"], true);
    auto r1 = wait_answered(port, body_of(first)["id"].get<long long>(), 90);
    auto ra = wait_answered(port, a, 90), rb = wait_answered(port, b, 90);
    ASSERT_EQ(r1.value("state", ""), "served") << r1.dump() << sched->output();
    ASSERT_EQ(ra.value("state", ""), "served") << ra.dump();
    ASSERT_EQ(rb.value("state", ""), "served") << rb.dump();
    EXPECT_EQ(ra["run_id"], rb["run_id"]) << "one run for both";
    EXPECT_NE(ra["run_id"], r1["run_id"]);
    const std::string out = sched->output();
    std::size_t served = 0;
    for (std::size_t at = 0; (at = out.find("\"msg\":\"serving the runs asked for\"", at)) != std::string::npos; ++at) ++served;
    EXPECT_EQ(served, 2u) << out;
    sched->signal(SIGTERM);
    sched->wait_exit(30);
}
