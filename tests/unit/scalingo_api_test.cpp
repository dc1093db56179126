// The Scalingo source's pure logic: time parsing and the choice of addon and backup.
#include <gtest/gtest.h>

#include <pixrep/step.hpp>

#include "scalingo_api.hpp"

using namespace pixrep;
using namespace pixrep::scalingo;
using json = nlohmann::json;

TEST(ParseRfc3339, HandlesOffsetsAndFractions) {
    EXPECT_EQ(parse_rfc3339("2026-11-24T00:30:00Z"), 1795480200.0);
    EXPECT_EQ(parse_rfc3339("2026-11-24T02:30:00+02:00"), 1795480200.0);
    EXPECT_EQ(parse_rfc3339("2026-11-23T20:30:00-04:00"), 1795480200.0);
    EXPECT_DOUBLE_EQ(*parse_rfc3339("2026-11-24T00:30:00.25Z"), 1795480200.25);
    EXPECT_FALSE(parse_rfc3339("2026-11-24 garbage"));
    EXPECT_FALSE(parse_rfc3339("2026-11-24T00:30:00"));  // no offset: ambiguous
    EXPECT_FALSE(parse_rfc3339("2026-13-24T00:30:00Z"));
}

TEST(PickBackup, NewestDoneByInstantNotByPositionOrString) {
    auto list = parse_backups(json::parse(R"({"database_backups": [
        {"id": "a", "name": "a", "status": "done", "created_at": "2026-11-24T02:10:00+02:00", "size": 10},
        {"id": "c", "name": "c", "status": "running", "created_at": "2026-11-24T03:00:00Z", "size": null},
        {"id": "b", "name": "b", "status": "done", "created_at": "2026-11-24T00:30:00.5Z", "size": null, "started_at": null}]})"));
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[1].size, -1);
    EXPECT_EQ(pick_backup(list, "").id, "b");
    EXPECT_EQ(pick_backup(list, "a").id, "a");
    try {
        pick_backup(list, "c");
        FAIL();
    } catch (const StepError& e) {
        EXPECT_EQ(e.kind(), ErrorKind::transient);
    }
    try {
        pick_backup(list, "zz");
        FAIL();
    } catch (const StepError& e) {
        EXPECT_EQ(std::string(e.what()), "no backup with id 'zz' (SCALINGO_BACKUP_ID)");
    }
}

TEST(PickBackup, MalformedListIsAnInputError) {
    try {
        parse_backups(json::parse(R"({"database_backups": [{"id": "a", "created_at": "yesterday"}]})"));
        FAIL();
    } catch (const StepError& e) {
        EXPECT_EQ(e.kind(), ErrorKind::input);
        EXPECT_NE(std::string(e.what()).find("unreadable created_at ('yesterday')"), std::string::npos);
    }
}

TEST(PickAddon, FindsEitherPostgresProvider) {
    auto addons = json::parse(R"({"addons": [
        {"id": "ad-r", "addon_provider": {"id": "redis"}},
        {"id": "ad-old", "addon_provider": {"id": "scalingo-postgresql", "name": "Scalingo PostgreSQL"}}]})");
    EXPECT_EQ(pick_addon(addons, "app", ""), "ad-old");
    addons["addons"].push_back(json::parse(R"({"id": "ad-new", "addon_provider": {"id": "postgresql"}})"));
    try {
        pick_addon(addons, "app", "");
        FAIL();
    } catch (const StepError& e) {
        EXPECT_EQ(std::string(e.what()), "app 'app' has 2 PostgreSQL addons (ad-old, ad-new); set SCALINGO_ADDON_ID to choose one");
    }
    EXPECT_EQ(pick_addon(addons, "app", "ad-new"), "ad-new");
}

TEST(ErrorText, JsonOrExcerpt) {
    EXPECT_EQ(error_text(R"({"resource": "app", "error": "not found"})"), "app not found");
    EXPECT_EQ(error_text(R"({"error": "invalid credentials"})"), "invalid credentials");
    EXPECT_EQ(error_text("Retry later\n"), "Retry later ");
    EXPECT_EQ(error_text(""), "(empty body)");
}
