// What the trigger endpoints accept, without a server: tokens compared whole, bodies parsed
// strictly, Scalingo's events told apart.
#include <gtest/gtest.h>

#include "trigger.hpp"

using namespace pixrep;

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
        auto a = answer_trigger("POST", path, "Bearer abc", "{}", none);
        ASSERT_TRUE(a.has_value()) << path;
        EXPECT_EQ(a->status, 404) << path;
    }
    EXPECT_FALSE(answer_trigger("GET", "/status", "", "", none).has_value());
    TriggerSource s{"", "", "pix_db_replication", "a-token-of-sixteen+", "app"};
    EXPECT_EQ(answer_trigger("POST", "/runs", "Bearer nope", "{}", s)->status, 401);
    EXPECT_EQ(answer_trigger("POST", "/runs", "a-token-of-sixteen+", "{}", s)->status, 401) << "no Bearer scheme";
    EXPECT_EQ(answer_trigger("POST", "/runs", "Bearer a-token-of-sixteen+", "bad", s)->status, 400);
    EXPECT_EQ(answer_trigger("GET", "/runs/x1", "Bearer a-token-of-sixteen+", "", s)->status, 404);
    EXPECT_EQ(answer_trigger("POST", "/hooks/scalingo/a-token-of-sixteen", "", "{}", s)->status, 404);
    EXPECT_EQ(answer_trigger("POST", "/hooks/scalingo/a-token-of-sixteen+", "", "{}", s)->status, 400);
    EXPECT_EQ(answer_trigger("POST", "/runs", "Bearer a-token-of-sixteen+", "{}", s)->status, 503) << "no DATABASE_URL";
}
