// Log records: bunyan fields, text mode, and redaction of secrets.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "logger.hpp"

using namespace pixrep;

TEST(HostLogger, WritesOneBunyanRecordPerLine) {
    std::ostringstream out;
    HostLogger log(out, HostLogger::Format::json, Level::info);
    ScopedLogger step(log, {{"step", std::string("pg-restore")}});
    step.info("restore done", {{"duration_ms", std::int64_t{1234}}});
    log.debug("hidden below the level");
    auto line = out.str();
    ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["name"], "pix-db-replication");
    EXPECT_TRUE(j["hostname"].is_string());
    EXPECT_TRUE(j["pid"].is_number_integer());
    EXPECT_EQ(j["level"], 30);
    EXPECT_EQ(j["msg"], "restore done");
    EXPECT_EQ(j["step"], "pg-restore");
    EXPECT_EQ(j["duration_ms"], 1234);
    EXPECT_EQ(j["v"], 0);
    std::string t = j["time"];
    EXPECT_EQ(t.size(), 24u);
    EXPECT_EQ(t.back(), 'Z');
}

TEST(HostLogger, RedactsRegisteredSecretsAndUrlPasswords) {
    std::ostringstream out;
    HostLogger log(out, HostLogger::Format::json, Level::info);
    log.add_secret("tk-us-SECRETTOKEN");
    log.warn("calling with tk-us-SECRETTOKEN", {{"url", std::string("postgres://u:hunter2@db:5432/x")},
                                                 {"hdr", std::string("Authorization: Bearer eyJhbGciOi.abc.def")}});
    auto s = out.str();
    EXPECT_EQ(s.find("SECRETTOKEN"), std::string::npos);
    EXPECT_EQ(s.find("hunter2"), std::string::npos);
    EXPECT_EQ(s.find("eyJhbGciOi"), std::string::npos);
    EXPECT_NE(s.find("postgres://u:***@db:5432/x"), std::string::npos);
    EXPECT_NE(s.find("Bearer ***"), std::string::npos);
}

TEST(HostLogger, TextModeIsReadable) {
    std::ostringstream out;
    HostLogger log(out, HostLogger::Format::text, Level::info);
    ScopedLogger step(log, {{"step", std::string("drop-objects")}});
    step.error("boom", {{"code", std::int64_t{2}}});
    auto s = out.str();
    EXPECT_NE(s.find("ERROR [drop-objects] boom  code=2"), std::string::npos) << s;
    EXPECT_EQ(s.find('{'), std::string::npos);
}

TEST(HostLogger, ShortSecretsAreRedactedWhereTheyStandAlone) {
    std::ostringstream out;
    HostLogger log(out, HostLogger::Format::json, Level::info);
    log.add_secret("pw");
    log.add_secret("x9");
    log.warn("password=pw; connecting to db with x9, pwd is a word");
    auto j = nlohmann::json::parse(out.str());
    EXPECT_EQ(j["msg"], "password=***; connecting to db with ***, pwd is a word");
}

TEST(HostLogger, TheRedactionListIsBoundedAndKeepsTheConfigurationsSecrets) {
    std::ostringstream out;
    HostLogger log(out, HostLogger::Format::json, Level::info);
    log.add_secret("database-password");
    for (int night = 0; night < 500; ++night)  // three bearers a scheduled run, for 500 nights
        for (int k = 0; k < 3; ++k) log.add_secret("bearer-" + std::to_string(night) + "-" + std::to_string(k));
    EXPECT_EQ(log.secret_count(), HostLogger::kPinnedSecrets + HostLogger::kRotatingSecrets);
    log.warn("database-password bearer-499-2");
    auto s = out.str();
    EXPECT_EQ(s.find("database-password"), std::string::npos) << s;
    EXPECT_EQ(s.find("bearer-499-2"), std::string::npos) << s;
}
