// drop-objects' pure parts: what collides with another role's objects, what the backup must not
// bring, and the statements.
#include <gtest/gtest.h>

#include "toc_entry.hpp"

#include "drop_sql.hpp"

using namespace pixrep;
using namespace pixrep::drop;

namespace {
TocEntry entry(std::string desc, std::string schema, std::string tag) { return toc_entry(0, desc, schema, tag); }
}  // namespace

TEST(DropSql, CollisionsAreWhatTheRestoreWouldCreateAgain) {
    RestorePlan plan;
    plan.entries = {entry("TABLE", "public", "users"), entry("INDEX", "public", "users_email_idx"), entry("FUNCTION", "public", "full-name(public.users)"),
                    entry("TYPE", "public", "assessment-state"), entry("SCHEMA", "-", "analytics"), entry("EXTENSION", "-", "pgcrypto"),
                    entry("TABLE", "public", "answers")};
    plan.entries.back().fate = Fate::excluded;
    std::vector<Object> others = {{"TABLE", "public", "users", "", "postgres"},          {"VIEW", "public", "users_email_idx", "", "x"},
                                  {"FUNCTION", "public", "full-name", "u users", "x"}, {"TYPE", "public", "other", "", "x"},
                                  {"SCHEMA", "", "analytics", "", "x"},                 {"TABLE", "public", "answers", "", "x"},
                                  {"FUNCTION", "public", "gen_random_uuid", "", "postgres"}};
    auto c = collisions(plan, others);
    std::vector<std::string> names;
    for (const auto& o : c) names.push_back(o.kind + " " + o.name);
    EXPECT_EQ(names, (std::vector<std::string>{"TABLE users", "VIEW users_email_idx", "FUNCTION full-name", "SCHEMA analytics"}))
        << "an excluded table, or an extension's functions, collide with nothing";
}

TEST(DropSql, TheBackupMustNotBringTheToolsSchema) {
    RestorePlan plan;
    plan.entries = {entry("SCHEMA", "-", "pix_db_replication"), entry("TABLE", "pix_db_replication", "runs"), entry("TABLE", "public", "users")};
    EXPECT_EQ(in_schema(plan, "pix_db_replication"), (std::vector<std::string>{"SCHEMA pix_db_replication", "TABLE pix_db_replication.runs"}));
    EXPECT_TRUE(in_schema(plan, "other").empty());
}

TEST(DropSql, StatementsDropByKindIfTheyStillExist) {
    EXPECT_EQ(drop_statement({"VIEW", "public", "students", "", "r"}), "DROP VIEW IF EXISTS public.students CASCADE");
    EXPECT_EQ(drop_statement({"FUNCTION", "public", "full-name", "u users", "r"}), "DROP ROUTINE IF EXISTS public.\"full-name\"(u users) CASCADE");
    EXPECT_EQ(drop_statement({"SCHEMA", "", "analytics", "", "r"}), "DROP SCHEMA IF EXISTS analytics CASCADE");
    EXPECT_EQ(drop_statement({"OPERATOR", "public", "=@=", "text, text", "r"}), "DROP OPERATOR IF EXISTS public.=@= (text, text) CASCADE");
    EXPECT_EQ(drop_statement({"OPERATOR CLASS", "Odd", "ops", "btree", "r"}), "DROP OPERATOR CLASS IF EXISTS \"Odd\".ops USING btree CASCADE");
    EXPECT_EQ(drop_statement({"TEXT SEARCH CONFIGURATION", "public", "fr", "", "r"}), "DROP TEXT SEARCH CONFIGURATION IF EXISTS public.fr CASCADE");
    auto sql = owned_objects_sql("pix_db_replication");
    EXPECT_NE(sql.find("'pix_db_replication'"), std::string::npos);
    EXPECT_NE(sql.find("deptype = 'e'"), std::string::npos) << "extension members are never dropped one by one";
}
