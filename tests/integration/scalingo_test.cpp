// scalingo-source against a fake Scalingo on loopback (tests/fake_scalingo) and a real
// PostgreSQL: `run --config config/production.toml`, as in production.
#include <csignal>
#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>

#include "fake_scalingo.hpp"
#include "replication_fixture.hpp"

using json = nlohmann::json;

namespace {

const std::string kProduction = std::string(PIXREP_SOURCE_DIR) + "/config/production.toml";
class Scalingo : public Replication {
protected:
    // An app with a Redis addon before its PostgreSQL addon, and backups whose newest done one
    // (bk-b) is neither first in the list nor last in string order.
    json state() {
        std::time_t now = std::time(nullptr);
        auto size = [](const fs::path& p) { return static_cast<long long>(fs::file_size(p)); };
        return {
            {"api_token", kToken},
            {"range", true},
            {"redirect", true},
            {"apps", {{"pix-api-production",
                       {{{"id", "ad-redis-1"}, {"app_id", "app-1"}, {"resource_id", "redis-1"}, {"status", "running"},
                         {"plan", {{"id", "p1"}, {"name", "redis-starter"}}}, {"addon_provider", {{"id", "redis"}, {"name", "Redis"}}}},
                        {{"id", "ad-pg-1"}, {"app_id", "app-1"}, {"resource_id", "pix_api_1234"}, {"status", "running"},
                         {"plan", {{"id", "p2"}, {"name", "postgresql-business-1024"}}},
                         {"addon_provider", {{"id", "postgresql"}, {"name", "PostgreSQL"}}}}}}}},
            {"backups", {{"ad-pg-1",
                          {{{"id", "bk-a"}, {"name", "a_pix_api_1234"}, {"status", "done"}, {"created_at", rfc3339(now - 3 * 3600, 120)},
                            {"started_at", nullptr}, {"size", size(sources().orig_tar)}, {"database_id", "db-1"}, {"method", "periodic"}},
                           {{"id", "bk-c"}, {"name", "c_pix_api_1234"}, {"status", "running"}, {"created_at", rfc3339(now - 600, 0)},
                            {"started_at", rfc3339(now - 600, 0)}, {"size", nullptr}, {"database_id", "db-1"}, {"method", "periodic"}},
                           {{"id", "bk-b"}, {"name", "b_pix_api_1234"}, {"status", "done"}, {"created_at", rfc3339(now - 3600, 0, ".123456")},
                            {"started_at", nullptr}, {"size", size(sources().pix_tar)}, {"database_id", "db-1"}, {"method", "manual"}}}}}},
            {"archives", {{"bk-a", sources().orig_tar.string()}, {"bk-b", sources().pix_tar.string()}}},
            {"faults", json::object()}};
    }
    // `schedule` with SCHEDULE=on-backup looking every second, once it answered its first request.
    std::unique_ptr<pixtest::Background> start_on_backup(const FakeScalingo& fake) {
        auto env = fake.env();
        env["SCHEDULE"] = "on-backup", env["BACKUP_POLL"] = "1s", env["TRIGGER_POLL"] = "1s", env["REPLICATION_CONFIG"] = kProduction;
        env["TRIGGER_MIN_INTERVAL"] = "0s";
        auto sched = start({"schedule"}, env);
        EXPECT_NE(sched->wait_for("\"msg\":\"requests answered\"", 60), "") << sched->output();
        return sched;
    }
    Result replicate_from(const FakeScalingo& fake, std::map<std::string, std::string> extra = {}, const std::string& app = "pix-api-production") {
        auto env = fake.env(app);
        for (auto& [k, v] : extra) env[k] = v;
        auto r = replicate("", env, {"run"}, kProduction);
        // Secrets never reach the output, at any level.
        EXPECT_EQ(r.out.find(kToken), std::string::npos) << r.out;
        EXPECT_EQ(r.out.find("X-Amz-Signature"), std::string::npos) << r.out;
        EXPECT_EQ(r.out.find("eyJ"), std::string::npos) << "a JWT leaked:\n" << r.out;
        return r;
    }
    void expect_pix_restored(const Result& r) {
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_EQ(count(target_, "SELECT count(*) FROM users"), 300);
        EXPECT_FALSE(has_table("test_table")) << "restored bk-a instead of the newest done backup";
        EXPECT_FALSE(has_table("keep_me"));
    }
};

}  // namespace

TEST_F(Scalingo, StreamsTheNewestDoneBackupByParsedTime) {
    FakeScalingo fake(state());
    auto r = replicate_from(fake, {{"LOG_LEVEL", "debug"}});
    expect_pix_restored(r);
    EXPECT_NE(r.out.find("\"backup_id\":\"bk-b\""), std::string::npos);
    EXPECT_NE(r.out.find("\"backup_name\":\"b_pix_api_1234\""), std::string::npos);
    EXPECT_NE(r.out.find("\"addon\":\"ad-pg-1\""), std::string::npos);
    EXPECT_NE(r.out.find("\"app\":\"pix-api-production\""), std::string::npos);
    EXPECT_NE(r.out.find("\"msg\":\"download progress\""), std::string::npos);
    EXPECT_NE(r.out.find("\"msg\":\"download done\""), std::string::npos);
    // The reference's auth rules, as the fake enforced them.
    EXPECT_EQ(fake.requests("exchange").at(0)["auth"], "basic");
    EXPECT_EQ(fake.requests("addons").at(0)["auth"], "bearer-user");
    EXPECT_EQ(fake.requests("addon_token").at(0)["auth"], "bearer-user");
    EXPECT_EQ(fake.requests("backups").at(0)["auth"], "bearer-addon");
    EXPECT_EQ(fake.requests("download").at(0)["auth"], "none");
    EXPECT_EQ(fake.requests("download").size(), 1u);
    // Streamed: no archive ever written to the work directory, and the dump removed after success.
    for (const auto& e : fs::directory_iterator(work_.path()))
        EXPECT_EQ(e.path().string().find(".tar.gz"), std::string::npos) << e.path();
}

TEST_F(Scalingo, RefusedTokenSaysSoAndIsNotRetried) {
    auto s = state();
    s["api_token"] = "tk-us-another";
    FakeScalingo fake(s);
    auto r = replicate_from(fake, {{"MAX_RETRY_COUNT", "3"}});
    expect_failed(r, 2, "Scalingo refused the API token (SCALINGO_API_TOKEN): HTTP 401: invalid credentials");
    EXPECT_EQ(fake.requests("exchange").size(), 1u);
}

TEST_F(Scalingo, UnknownAppNamesAppAndRegion) {
    FakeScalingo fake(state());
    auto r = replicate_from(fake, {}, "pix-api-prodution");
    expect_failed(r, 2, "Scalingo app 'pix-api-prodution' not found in region 'osc-fr1'");
}

TEST_F(Scalingo, MissingSettingsNameTheVariable) {
    FakeScalingo fake(state());
    auto r = replicate_from(fake, {{"SCALINGO_API_TOKEN", ""}});
    expect_failed(r, 2, "option 'api_token' is required: set SCALINGO_API_TOKEN");
    EXPECT_TRUE(fake.requests().empty());
}

TEST_F(Scalingo, NoPostgresAddonNoBackupNoDoneBackup) {
    auto s = state();
    s["apps"]["pix-api-production"].erase(1);
    {
        FakeScalingo fake(s);
        auto r = replicate_from(fake);
        expect_failed(r, 2, "app 'pix-api-production' has no PostgreSQL addon");
    }
    s = state();
    s["backups"]["ad-pg-1"] = json::array();
    {
        FakeScalingo fake(s);
        auto r = replicate_from(fake);
        expect_failed(r, 2, "the database has no backup at all");
    }
    s = state();
    for (auto& b : s["backups"]["ad-pg-1"]) b["status"] = b["id"] == "bk-c" ? "running" : "error";
    {
        FakeScalingo fake(s);
        auto r = replicate_from(fake);
        expect_failed(r, 1, "no backup is done yet (a_pix_api_1234 error, c_pix_api_1234 running, b_pix_api_1234 error)");
    }
}

TEST_F(Scalingo, TransientErrorsAreRetriedAndNonJsonBodiesHandled) {
    auto s = state();
    s["faults"] = {{"exchange", {503}}, {"addons", {429}}, {"backups", {502, 504}}, {"archive", {503}}};
    FakeScalingo fake(s);
    auto r = replicate_from(fake);
    expect_pix_restored(r);
    EXPECT_NE(r.out.find("Scalingo addon list failed (HTTP 429); retrying"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"retry_in_ms\":1000"), std::string::npos) << "Retry-After honoured";
    EXPECT_EQ(fake.requests("backups").size(), 3u);

    auto s2 = state();
    s2["faults"] = {{"addons", {"html"}}};
    FakeScalingo fake2(s2);
    auto r2 = replicate_from(fake2);
    EXPECT_EQ(r2.code, 1);
    EXPECT_NE(r2.out.find("Scalingo addon list answered HTTP 500: <html><body>Internal Server Error</body></html>"), std::string::npos) << r2.out;
}

TEST_F(Scalingo, ExpiredBearerIsRenewedOnce) {
    auto s = state();
    s["faults"] = {{"addon_token", {401}}};
    FakeScalingo fake(s);
    auto r = replicate_from(fake);
    expect_pix_restored(r);
    EXPECT_EQ(fake.requests("exchange").size(), 2u);
}

TEST_F(Scalingo, CutDownloadResumesWithRange) {
    auto s = state();
    s["faults"] = {{"download", {"cut"}}};
    FakeScalingo fake(s);
    auto r = replicate_from(fake);
    expect_pix_restored(r);
    auto downloads = fake.requests("download");
    ASSERT_EQ(downloads.size(), 2u);
    EXPECT_TRUE(downloads[0]["range"].is_null());
    EXPECT_EQ(downloads[1]["range"].get<std::string>().rfind("bytes=", 0), 0u);
    EXPECT_NE(r.out.find("download interrupted"), std::string::npos);
}

TEST_F(Scalingo, CutDownloadRestartsWhenRangeIsIgnored) {
    auto s = state();
    s["range"] = false;
    s["faults"] = {{"download", {"cut", "cut"}}};
    FakeScalingo fake(s);
    auto r = replicate_from(fake);
    expect_pix_restored(r);
    EXPECT_EQ(fake.requests("download").size(), 3u);
}

TEST_F(Scalingo, TooOldBackupWaitsForTheNightsOne) {
    FakeScalingo fake(state());
    auto r = replicate_from(fake, {{"MAX_BACKUP_AGE", "30m"}});
    expect_failed(r, 1, "older than max_backup_age: today's backup is not done yet");
    EXPECT_TRUE(fake.requests("download").empty());
}

TEST_F(Scalingo, RetryAfterARestoreFailureReusesTheDownload) {
    // The first CREATE TABLE of the first restore loses its connection, as in a server restart
    // (an event trigger owned by the superuser); the retry must restore from the dump already
    // downloaded.
    TempPostgres::instance().exec(db_, R"SQL(
        CREATE SEQUENCE fail_once;
        CREATE FUNCTION fail_once() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        BEGIN IF nextval('fail_once') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; END $$;
        CREATE EVENT TRIGGER fail_once ON ddl_command_start WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION fail_once();)SQL");
    FakeScalingo fake(state());
    auto r = replicate_from(fake, {{"MAX_RETRY_COUNT", "2"}});
    expect_pix_restored(r);
    EXPECT_NE(r.out.find("attempt 1 failed: building tonight's copy"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("reusing the backup downloaded by an earlier attempt"), std::string::npos) << r.out;
    EXPECT_EQ(fake.requests("download").size(), 1u);
    EXPECT_NE(r.out.find("\"attempts\":2"), std::string::npos);
}

TEST_F(Scalingo, FailedRunsAreRetriedWithExponentialBackoff) {
    auto s = state();
    s["faults"] = {{"backups", {500, 500}}};
    FakeScalingo fake(s);
    auto r = replicate_from(fake, {{"MAX_RETRY_COUNT", "3"}, {"RETRY_MIN_DELAY", "200ms"}, {"RETRY_MAX_DELAY", "300ms"},
                                   {"RETRIES_TIMEOUT_MINUTES", "0"}});
    expect_pix_restored(r);
    std::vector<json> failures;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        if (line.find("\"msg\":\"attempt ") != std::string::npos) failures.push_back(json::parse(line));
    ASSERT_EQ(failures.size(), 2u) << r.out;
    EXPECT_EQ(failures[0]["retry_in_ms"], 200);
    EXPECT_EQ(failures[1]["retry_in_ms"], 300);  // doubled, then capped
    EXPECT_NE(failures[0]["error"].get<std::string>().find("Scalingo backup list answered HTTP 500"), std::string::npos);
    EXPECT_NE(r.out.find("retries have lasted more than 0 minutes"), std::string::npos);
    EXPECT_NE(r.out.find("\"attempts\":3"), std::string::npos);
    EXPECT_EQ(fake.requests("backups").size(), 3u);
}

TEST_F(Scalingo, RetriesStopAtMaxRetryCount) {
    auto s = state();
    s["faults"] = {{"backups", {500, 500, 500}}};
    FakeScalingo fake(s);
    auto r = replicate_from(fake, {{"MAX_RETRY_COUNT", "1"}});
    expect_failed(r, 1, "replication failed: Scalingo backup list answered HTTP 500");
    EXPECT_EQ(fake.requests("backups").size(), 2u);
}

TEST_F(Scalingo, RunReportMatchesWhatHappened) {
    FakeScalingo fake(state());
    auto r = replicate_from(fake);
    expect_pix_restored(r);
    json report;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        if (line.find("\"msg\":\"run report\"") != std::string::npos) report = json::parse(line);
    ASSERT_FALSE(report.is_null()) << r.out;
    EXPECT_EQ(report["success"], true);
    EXPECT_EQ(report["bytes_downloaded"], static_cast<long long>(fs::file_size(sources().pix_tar)));
    EXPECT_EQ(report["rows.public.users"], 300);
    EXPECT_EQ(report["rows.public.assessments"], count(target_, "SELECT count(*) FROM assessments"));
    for (const char* step : {"scalingo-source (prepare)", "drop-objects (execute)", "pg-restore (execute)", "post-sql (execute)"})
        EXPECT_TRUE(report.contains(std::string("step_ms.") + step)) << step;
    ASSERT_TRUE(report.contains("restore_summed_ms.TABLE DATA")) << report.dump();
    EXPECT_GE(report["restore_summed_ms.TABLE DATA"].get<long long>(), report["restore_wall_ms.TABLE DATA"].get<long long>());
    EXPECT_LE(report["restore_wall_ms"].get<long long>(), report["duration_ms"].get<long long>());
    EXPECT_NE(r.out.find("run report (success"), std::string::npos);
    EXPECT_NE(r.out.find("restore by kind"), std::string::npos);
}

TEST_F(Scalingo, ProductionWaitsForTheNightsBackupInsteadOfRestoringYesterdaysAgain) {
    auto s = state();
    for (auto& b : s["backups"]["ad-pg-1"]) b["created_at"] = rfc3339(std::time(nullptr) - 21 * 3600, 0);  // all from yesterday
    FakeScalingo fake(s);
    auto r = replicate_from(fake, {{"MAX_RETRY_COUNT", "1"}, {"BACKUP_WAIT", "1s"}, {"RETRY_MIN_DELAY", "10ms"}});
    expect_failed(r, 1, "older than max_backup_age: today's backup is not done yet; looking again in 0 min (BACKUP_WAIT)");
    EXPECT_NE(r.out.find("\"retry_in_ms\":1000"), std::string::npos) << "waits BACKUP_WAIT, not the short backoff:\n" << r.out;
    EXPECT_TRUE(fake.requests("download").empty());
}

TEST_F(Scalingo, TheRegionComesFromScalingosOwnVariableAndIsNeverGuessed) {
    // Without base URL overrides, as in production.
    auto env = pixtest::tool_env({{"DATABASE_URL", target_}, {"SCALINGO_APP", "pix-api-production"}, {"SCALINGO_API_TOKEN", kToken}});
    auto r = pixtest::run_cmd({PIXREP_BINARY, "--config", std::string(PIXREP_SOURCE_DIR) + "/config/production.toml", "check"}, env);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("no Scalingo region: set SCALINGO_REGION (osc-fr1, osc-secnum-fr1); REGION_NAME, which Scalingo sets in its "
                         "containers, is not set either"), std::string::npos) << r.out;
    env["REGION_NAME"] = "osc-secnum-fr1";
    r = pixtest::run_cmd({PIXREP_BINARY, "--config", std::string(PIXREP_SOURCE_DIR) + "/config/production.toml", "check"}, env);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("region = osc-secnum-fr1"), std::string::npos) << r.out;
}

TEST_F(Scalingo, OnBackupRunsAsSoonAsANewerBackupIsDoneAndNotAgain) {
    auto s = state();
    s["backups"]["ad-pg-1"][2]["status"] = "running";  // bk-b, the newest, is not done yet
    FakeScalingo fake(s);
    auto sched = start_on_backup(fake);
    EXPECT_NE(sched->output().find("\"backup_id\":\"bk-a\""), std::string::npos) << sched->output();
    EXPECT_TRUE(has_table("test_table")) << "bk-a restored";
    s["backups"]["ad-pg-1"][2]["status"] = "done";
    fake.update(s);
    ASSERT_NE(sched->wait_for("\"msg\":\"requests answered\"", 60, 2), "") << sched->output();
    expect_pix_restored({0, sched->output()});
    // Further looks find the backup already restored: no third run.
    std::this_thread::sleep_for(std::chrono::seconds(4));
    const std::string out = sched->output();
    std::size_t runs = 0;
    for (std::size_t at = 0; (at = out.find("\"msg\":\"serving the runs asked for\"", at)) != std::string::npos; ++at) ++runs;
    EXPECT_EQ(runs, 2u) << out;
    EXPECT_EQ(out.find(kToken), std::string::npos) << "the API token was logged";
    sched->signal(SIGTERM);
    EXPECT_EQ(sched->wait_exit(30), 143);
}

TEST_F(Scalingo, OnBackupAsksOnceForABackupWhoseRunFailed) {
    auto s = state();
    TempDir d;
    pixtest::write_file(d / "broken.tar.gz", "not an archive at all");
    s["archives"]["bk-b"] = (d / "broken.tar.gz").string();
    s["backups"]["ad-pg-1"][2]["size"] = 21;
    FakeScalingo fake(s);
    auto sched = start_on_backup(fake);
    // Many looks later, the failed backup was not asked for again: the copy waits for a newer one.
    std::this_thread::sleep_for(std::chrono::seconds(5));
    const std::string out = sched->output();
    std::size_t runs = 0;
    for (std::size_t at = 0; (at = out.find("\"msg\":\"serving the runs asked for\"", at)) != std::string::npos; ++at) ++runs;
    EXPECT_EQ(runs, 1u) << out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pix_db_replication.requests WHERE backup_id = 'bk-b'"), 1);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pix_db_replication.requests WHERE state = 'failed'"), 1);
    sched->signal(SIGTERM);
    EXPECT_EQ(sched->wait_exit(30), 143);
}
