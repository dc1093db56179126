// The real binary's commands, exit codes and messages for bad configuration (no database needed).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using pixtest::run_tool;

namespace {

const std::string kLocal = std::string(PIXREP_SOURCE_DIR) + "/config/local.toml";
const std::map<std::string, std::string> kDb{{"DATABASE_URL", "postgres://u:topsecretpw@127.0.0.1:1/db"}};

std::string config_with(const pixtest::TempDir& d, const std::string& steps) {
    auto p = d / "c.toml";
    pixtest::write_file(p, "[run]\ndatabase_url = \"${DATABASE_URL}\"\n" + steps);
    return p.string();
}

// Invalid configuration or input: exit code 2 and a message naming the culprit.
pixtest::Result expect_invalid(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                               const std::string& message) {
    auto r = run_tool(args, env);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << r.out;
    return r;
}

}  // namespace

TEST(Cli, HelpListsCommandsAndExitCodes) {
    auto r = run_tool({"--help"});
    EXPECT_EQ(r.code, 0);
    for (const char* s : {"run", "plan", "schedule", "check", "plugins", "--config", "REPLICATION_CONFIG", "Exit codes"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s;
    EXPECT_EQ(run_tool({"run", "--help"}).code, 0);
    EXPECT_NE(run_tool({"run", "--help"}).out.find("--dry-run"), std::string::npos);
}

TEST(Cli, CheckValidatesEverythingAndPrintsTheOrder) {
    auto r = run_tool({"--config", kLocal, "check"}, kDb);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("1. local-file"), std::string::npos);
    EXPECT_NE(r.out.find("2. masking"), std::string::npos);
    EXPECT_NE(r.out.find("7. pg-restore"), std::string::npos);  // listed in the order the steps act
    EXPECT_NE(r.out.find("configuration valid"), std::string::npos);
    EXPECT_EQ(r.out.find("topsecretpw"), std::string::npos);
}

TEST(Cli, ConfigComesFromTheEnvironmentToo) {
    auto env = kDb;
    env["REPLICATION_CONFIG"] = kLocal;
    EXPECT_EQ(run_tool({"check"}, env).code, 0);
}

TEST(Cli, MissingDatabaseUrlIsAConfigurationError) {
    expect_invalid({"--config", kLocal, "check"}, {}, "option 'database_url' is required: set DATABASE_URL");
}

TEST(Cli, UnknownOptionIsRejectedBeforeAnythingRuns) {
    pixtest::TempDir d;
    auto cfg = config_with(d, "[[steps]]\nplugin = \"local-file\"\npath = \"x\"\n[[steps]]\nplugin = \"pg-restore\"\njbos = 4\n");
    auto r = run_tool({"--config", cfg, "run"}, kDb);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("step 'pg-restore' (" + (d / "c.toml").string() + ":6): unknown option 'jbos'; allowed: jobs, drop_comments"),
              std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("replication started"), std::string::npos) << "nothing may run";
}

TEST(Cli, WrongTypeAndBadEnvironmentValues) {
    pixtest::TempDir d;
    auto cfg = config_with(d, "[[steps]]\nplugin = \"pg-restore\"\njobs = true\n");
    auto r = expect_invalid({"--config", cfg, "check"}, kDb, "option 'jobs' must be an integer, got boolean");
    auto env = kDb;
    env["PG_RESTORE_JOBS"] = "lots";
    r = expect_invalid({"--config", kLocal, "check"}, env, "option 'jobs' must be an integer, got 'lots'");
    env = kDb;
    env["MAX_RETRY_COUNT"] = "ten";
    r = expect_invalid({"--config", kLocal, "check"}, env, "option 'max_retry_count' must be an integer, got 'ten'");
}

TEST(Cli, NonTrueFlagValueWarns) {
    auto env = kDb;
    env["RESTORE_FK_CONSTRAINTS"] = "yes";
    auto r = run_tool({"--config", kLocal, "check"}, env);
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("is 'yes', not 'true': treated as false"), std::string::npos) << r.out;
}

TEST(Cli, UnknownPluginSuggestsTheNearestName) {
    pixtest::TempDir d;
    auto cfg = config_with(d, "[[steps]]\nplugin = \"drop-object\"\n");
    auto r = expect_invalid({"--config", cfg, "check"}, kDb, "step plugin 'drop-object' not found");
    EXPECT_NE(r.out.find("did you mean 'drop-objects'?"), std::string::npos) << r.out;
}

TEST(Cli, MissingConfigFile) {
    expect_invalid({"--config", "/nonexistent/x.toml", "check"}, kDb, "config file '/nonexistent/x.toml' not found");
}

TEST(Cli, PluginsListsOptionsWithTypesDefaultsAndVariables) {
    auto r = run_tool({"--config", kLocal, "plugins"});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("pg-restore 1.0.0"), std::string::npos);
    EXPECT_NE(r.out.find("- jobs (integer), default 0, env PG_RESTORE_JOBS"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("- restore (boolean), default false, env RESTORE_FK_CONSTRAINTS"), std::string::npos);
    EXPECT_NE(r.out.find("- path (string), required, env BACKUP_FILE"), std::string::npos);
}

TEST(Cli, LogsAreBunyanJsonLines) {
    auto r = run_tool({"--config", kLocal, "check"});
    bool seen = false;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] != '{') continue;
        auto j = nlohmann::json::parse(line);
        for (const char* k : {"name", "hostname", "pid", "level", "msg", "time", "v"}) EXPECT_TRUE(j.contains(k)) << k;
        EXPECT_EQ(j["level"], 60);
        seen = true;
    }
    EXPECT_TRUE(seen) << r.out;
}

TEST(Harness, ResetsEveryVariableTheOptionTablesDeclare) {
    // A developer's FK_NOT_VALID=false once made the restore tests fail: the harness now derives
    // what it resets from the host's, the plugins' and the configs' own declarations.
    setenv("FK_NOT_VALID", "false", 1);
    auto env = pixtest::tool_env({});
    unsetenv("FK_NOT_VALID");
    for (const char* v : {"FK_NOT_VALID", "FK_VALIDATE", "DROP_COMMENTS", "RESTORE_PGOPTIONS", "SCALINGO_REGION", "SCALINGO_DB_URL",
                          "WEBHOOK_URLS", "LOCK_TIMEOUT", "PG_RESTORE_BIN", "SCHEDULE", "BACKUP_FILE", "REPLICATION_WORK_DIR"}) {
        ASSERT_TRUE(env.count(v)) << v;
        EXPECT_EQ(env[v], "") << v;
    }
    EXPECT_EQ(env["MAX_RETRY_COUNT"], "0");
}
