// What the trigger endpoints accept, without a server: tokens compared whole, bodies parsed
// strictly, Scalingo's events told apart.
#include <gtest/gtest.h>

#include <algorithm>

#include "access.hpp"
#include "trigger.hpp"
#include "web.hpp"

using namespace pixrep;

TEST(Web, AnyoneSeesWhetherThereIsACopyOfWhichBackupAndWhenNothingMore) {
    const auto runs = nlohmann::json::parse(R"([
        {"id": 3, "status": "running", "started_at": "2026-12-04T05:00:00Z", "error": null},
        {"id": 2, "status": "failure", "started_at": "2026-12-03T05:00:00Z", "finished_at": "2026-12-03T05:20:00Z", "error": "ERROR: x", "rows": {"public.users": 9}},
        {"id": 1, "status": "success", "started_at": "2026-12-02T05:00:00Z", "finished_at": "2026-12-02T05:30:00Z", "backup_id": "bk-1",
         "backup_name": "pix-prod-2026", "backup_created_at": "2026-12-02T01:00:00Z", "rows": {"public.users": 9}, "notes": [{"note": "n"}]}])");
    const auto f = public_facts(runs);
    EXPECT_EQ(f["copy"], true);
    EXPECT_EQ(f["backup_created_at"], "2026-12-02T01:00:00Z");
    EXPECT_EQ(f["restored_at"], "2026-12-02T05:30:00Z");
    EXPECT_EQ(f["running"], true);
    const auto text = f.dump();
    for (const char* hidden : {"ERROR", "public.users", "bk-1", "pix-prod", "\"n\""}) EXPECT_EQ(text.find(hidden), std::string::npos) << hidden;
    EXPECT_EQ(public_facts(nlohmann::json::array())["copy"], false);
}

TEST(Trigger, SecretsAreComparedWhole) {
    EXPECT_TRUE(same_secret("abcdefghijklmnop", "abcdefghijklmnop"));
    EXPECT_FALSE(same_secret("abcdefghijklmnop", "abcdefghijklmnoq"));
    EXPECT_FALSE(same_secret("abcdefghijklmnop", "abcdefghijklmno"));
    EXPECT_FALSE(same_secret("", "x"));
    EXPECT_FALSE(same_secret(std::string("abc\0def", 7), "abc"));
}

TEST(Trigger, ARunIsAskedWithAnEmptyBodyOrKnownStringKeysOnly) {
    EXPECT_EQ(parse_run_ask("").reason, "");
    EXPECT_EQ(parse_run_ask(" \n").reason, "");
    auto a = parse_run_ask(R"({"reason": "hotfix 1234", "requested_by": "alice"})");
    EXPECT_EQ(a.reason, "hotfix 1234");
    EXPECT_EQ(a.requested_by, "alice");
    for (const std::string bad : std::vector<std::string>{"nope", "[]", R"({"reason": 1})", R"({"why": "x"})", "{\"reason\": \"" + std::string(501, 'x') + "\"}"})
        EXPECT_THROW(parse_run_ask(bad), std::invalid_argument) << bad;
}

TEST(Trigger, ScalingoEventsForTheAppAndTheOthers) {
    auto e = parse_hook(R"({"type": "database_backup_succeeded", "app_name": "pix-api-production", "type_data": {"backup_id": "bk-7"}})",
                        "pix-api-production");
    EXPECT_EQ(e.kind, HookEvent::Kind::backup_done);
    EXPECT_TRUE(e.ours);
    EXPECT_EQ(e.backup_id, "bk-7");
    e = parse_hook(R"({"event": {"type": "database_backup_failed", "app_name": "pix-api-production"}})", "pix-api-production");
    EXPECT_EQ(e.kind, HookEvent::Kind::backup_failed);
    e = parse_hook(R"({"type": "database_backup_succeeded", "app_name": "other"})", "pix-api-production");
    EXPECT_FALSE(e.ours);
    e = parse_hook(R"({"type": "database_backup_succeeded", "app_name": "pix-api-production"})", "");
    EXPECT_FALSE(e.ours) << "no SCALINGO_APP: no app is ours";
    EXPECT_EQ(parse_hook(R"({"type": "app_deployed", "app_name": "x"})", "x").kind, HookEvent::Kind::other);
    for (const std::string bad : {"", "{}", R"({"type": 3})", "[1]"}) EXPECT_THROW(parse_hook(bad, "x"), std::invalid_argument) << bad;
}

TEST(Trigger, WithoutATokenTheEndpointsDoNotExist) {
    TriggerSource none;
    for (const char* path : {"/runs", "/runs/1", "/hooks/scalingo/abc"}) {
        auto a = answer_trigger("POST", path, Access::trigger, "{}", none);
        ASSERT_TRUE(a.has_value()) << path;
        EXPECT_EQ(a->status, 404) << path;
    }
    EXPECT_FALSE(answer_trigger("GET", "/status", Access::anyone, "", none).has_value());
    TriggerSource s;
    s.schema = "pix_db_replication", s.runs = true, s.hook_token = "a-hook-token-of-sixteen", s.app = "app";
    EXPECT_EQ(answer_trigger("POST", "/runs", Access::anyone, "{}", s)->status, 401);
    EXPECT_EQ(answer_trigger("POST", "/runs", Access::reader, "{}", s)->status, 401) << "STATUS_TOKEN reads, never asks for runs";
    EXPECT_EQ(answer_trigger("POST", "/runs", Access::trigger, "bad", s)->status, 400);
    EXPECT_EQ(answer_trigger("GET", "/runs/1", Access::anyone, "", s)->status, 401);
    EXPECT_EQ(answer_trigger("GET", "/runs/x1", Access::reader, "", s)->status, 404);
    EXPECT_EQ(answer_trigger("POST", "/hooks/scalingo/a-hook-token-of-sixtee", Access::anyone, "{}", s)->status, 404);
    EXPECT_EQ(answer_trigger("POST", "/hooks/scalingo/a-hook-token-of-sixteen", Access::anyone, "{}", s)->status, 400);
    EXPECT_EQ(answer_trigger("POST", "/runs", Access::trigger, "{}", s)->status, 503) << "no DATABASE_URL";
    // A hook's backup id is an id, not a place to store text.
    EXPECT_THROW(parse_hook(R"({"type": "database_backup_succeeded", "app_name": "a", "type_data": {"backup_id": ")" + std::string(201, 'x') + "\"}}", "a"),
                 std::invalid_argument);
    EXPECT_THROW(parse_hook("{\"type\": \"database_backup_succeeded\", \"app_name\": \"a\", \"type_data\": {\"backup_id\": \"bk\\n1\"}}", "a"),
                 std::invalid_argument);
}

TEST(Trigger, WritesBeyondTheRateAreRefusedWithWhenToComeBack) {
    RateLimit writes(2);
    TriggerSource s;
    s.schema = "pix_db_replication", s.runs = true, s.writes = &writes;
    EXPECT_EQ(answer_trigger("POST", "/runs", Access::trigger, "{}", s)->status, 503);
    EXPECT_EQ(answer_trigger("POST", "/runs", Access::trigger, "{}", s)->status, 503);
    auto third = answer_trigger("POST", "/runs", Access::trigger, "{}", s);
    EXPECT_EQ(third->status, 429);
    EXPECT_GE(third->retry_after, 1);
    EXPECT_LE(third->retry_after, 61);
}

TEST(Access, TokensOpenTheirOwnDoorsOnly) {
    Tokens t{"status-token-0123456789", "trigger-token-0123456789", "hook-token-0123456789"};
    EXPECT_EQ(tokens_problem(t), "");
    EXPECT_EQ(bearer_access("Bearer status-token-0123456789", t), Access::reader);
    EXPECT_EQ(bearer_access("Bearer trigger-token-0123456789", t), Access::trigger);
    EXPECT_EQ(bearer_access("Bearer hook-token-0123456789", t), Access::anyone) << "the hook's token travels in a URL";
    EXPECT_EQ(bearer_access("status-token-0123456789", t), Access::anyone);
    EXPECT_EQ(bearer_access("Bearer ", Tokens{}), Access::anyone);
    EXPECT_NE(tokens_problem({"short", "", ""}), "");
    EXPECT_NE(tokens_problem({"", "same-token-0123456789", "same-token-0123456789"}), "");
}

TEST(Access, CookiesFormsAndSessions) {
    EXPECT_EQ(cookie_value("a=1; pixrep_session=abc; b=2", "pixrep_session"), "abc");
    EXPECT_EQ(cookie_value("xpixrep_session=abc", "pixrep_session"), "");
    EXPECT_EQ(form_value("token=a%2Bb+c&x=1", "token"), "a+b c");
    EXPECT_EQ(form_value("x=1", "token"), "");
    Sessions s(std::chrono::seconds(60), 2);
    const auto t0 = std::chrono::steady_clock::now();
    const auto a = s.open(t0);
    EXPECT_EQ(a.size(), 64u);
    EXPECT_TRUE(s.valid(a, t0));
    EXPECT_FALSE(s.valid(a, t0 + std::chrono::seconds(61))) << "sessions end";
    EXPECT_FALSE(s.valid(std::string(64, '0'), t0));
    const auto b = s.open(t0 + std::chrono::seconds(1)), c = s.open(t0 + std::chrono::seconds(2));
    EXPECT_NE(b, c);
    EXPECT_FALSE(s.valid(a, t0)) << "the oldest goes beyond the capacity";
    s.close(c);
    EXPECT_FALSE(s.valid(c, t0));
}

TEST(Access, TheSourcesNamesAreScrubbedAsWholeWords) {
    auto words = source_words("postgres://pix_reader:pw@pix-prod-1234.postgresql.a.osc-fr1.scalingo-dbs.com:30123/pix_prod_1234?sslmode=require");
    EXPECT_EQ(words.size(), 3u);
    EXPECT_EQ(std::find(words.begin(), words.end(), "pw"), words.end()) << "the password is a secret the logger knows";
    const std::string text = "connection to server at \"pix-prod-1234.postgresql.a.osc-fr1.scalingo-dbs.com\" failed for user pix_reader on "
                             "pix_prod_1234. Table pix_prod_1234_archive stays.";
    const auto out = scrub(text, words);
    EXPECT_EQ(out.find("scalingo-dbs"), std::string::npos) << out;
    EXPECT_EQ(out.find("pix_reader"), std::string::npos) << out;
    EXPECT_NE(out.find("on [source]."), std::string::npos) << out;
    EXPECT_NE(out.find("pix_prod_1234_archive"), std::string::npos) << "not inside a longer name: " << out;
    EXPECT_TRUE(source_words("").empty());
}
