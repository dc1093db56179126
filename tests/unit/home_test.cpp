// The tool's home, pure parts: access rules as SQL, and the status page people open.
#include <gtest/gtest.h>

#include "access_rules.hpp"
#include "home.hpp"
#include "status_page.hpp"

using namespace pixrep;

TEST(AccessRules, EachRuleBecomesTheGrantThatReappliesIt) {
    EXPECT_EQ(grant_sql({"table", "public", "users", "", "analyst", "SELECT", false}), "GRANT SELECT ON TABLE \"public\".\"users\" TO \"analyst\"");
    EXPECT_EQ(grant_sql({"sequence", "public", "users_id_seq", "", "app", "USAGE", true}),
              "GRANT USAGE ON SEQUENCE \"public\".\"users_id_seq\" TO \"app\" WITH GRANT OPTION");
    EXPECT_EQ(grant_sql({"schema", "public", "", "", "PUBLIC", "USAGE", false}), "GRANT USAGE ON SCHEMA \"public\" TO PUBLIC");
    EXPECT_EQ(grant_sql({"function", "public", "full-name", "u users", "metabase", "EXECUTE", false}),
              "GRANT EXECUTE ON FUNCTION \"public\".\"full-name\"(u users) TO \"metabase\"");
    EXPECT_EQ(grant_sql({"default", "public", "r", "", "analyst", "SELECT", false}),
              "ALTER DEFAULT PRIVILEGES IN SCHEMA \"public\" GRANT SELECT ON TABLES TO \"analyst\"");
    EXPECT_EQ(grant_sql({"default", "", "S", "", "analyst", "USAGE", false}), "ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO \"analyst\"");
    // Re-applied on the object the catalog names from its oid.
    EXPECT_EQ(grant_sql({"function", "public", "f", "integer); DROP TABLE users; --", "metabase", "EXECUTE", false}, "public.f(integer)"),
              "GRANT EXECUTE ON FUNCTION public.f(integer) TO \"metabase\"");
    EXPECT_EQ(grant_sql({"table", "public", "users", "", "analyst", "SELECT", false}, "users"), "GRANT SELECT ON TABLE users TO \"analyst\"");
    // A column grant, the usual way to hide personal data from analysts.
    EXPECT_EQ(grant_sql({"column", "public", "users", "createdAt", "analyst", "SELECT", false}),
              "GRANT SELECT (\"createdAt\") ON TABLE \"public\".\"users\" TO \"analyst\"");
}

TEST(AccessRules, StoredRulesAreCheckedBeforeAnyReachesSql) {
    EXPECT_EQ(rule_problem({"table", "public", "users", "", "analyst", "SELECT", false}), "");
    EXPECT_EQ(rule_problem({"column", "public", "users", "email", "analyst", "UPDATE", false}), "");
    EXPECT_EQ(rule_problem({"default", "public", "f", "", "analyst", "EXECUTE", false}), "");
    EXPECT_NE(rule_problem({"table", "public", "users", "", "analyst", "SELECT ON users TO x; DROP TABLE users; GRANT ALL", false}), "");
    EXPECT_NE(rule_problem({"table", "public", "users", "", "analyst", "select", false}), "") << "the catalog's spelling only";
    EXPECT_NE(rule_problem({"sequence", "public", "s", "", "a", "DELETE", false}), "");
    EXPECT_NE(rule_problem({"function", "public", "f", "", "a", "SELECT", false}), "");
    EXPECT_NE(rule_problem({"default", "", "x; DROP", "", "a", "SELECT", false}), "");
    EXPECT_NE(rule_problem({"database", "", "", "", "a", "CONNECT", false}), "");
    // Argument types go to PostgreSQL's parser as a parameter, never into the statement.
    const auto [sql, params] = resolve_sql({"function", "public", "f", "integer); DROP TABLE users; --", "a", "EXECUTE", false});
    EXPECT_EQ(sql.find("DROP"), std::string::npos);
    ASSERT_EQ(params.size(), 1u);
    EXPECT_EQ(params[0], "\"public\".\"f\"(integer); DROP TABLE users; --)");
    EXPECT_EQ(resolve_sql({"column", "public", "users", "email", "a", "SELECT", false}).second,
              (std::vector<std::string>{"\"public\".\"users\"", "email"}));
}

TEST(Home, ReadersReadTheRunsOnlyOfTheToolsSchema) {
    EXPECT_EQ(home_read_sql("pix_db_replication", "metabase"),
              (std::vector<std::string>{"GRANT USAGE ON SCHEMA \"pix_db_replication\" TO \"metabase\"",
                                        "GRANT SELECT ON \"pix_db_replication\".runs TO \"metabase\"",
                                        "REVOKE ALL ON \"pix_db_replication\".access_rules, \"pix_db_replication\".state, "
                                        "\"pix_db_replication\".requests FROM PUBLIC, \"metabase\""}));
}

TEST(AccessRules, ReadAccessForTheRolesNamed) {
    EXPECT_EQ(read_access_sql("metabase", {"public"}),
              (std::vector<std::string>{"GRANT USAGE ON SCHEMA \"public\" TO \"metabase\"",
                                        "GRANT SELECT ON ALL TABLES IN SCHEMA \"public\" TO \"metabase\"",
                                        "GRANT SELECT ON ALL SEQUENCES IN SCHEMA \"public\" TO \"metabase\""}));
    EXPECT_EQ(text_array({"public", "a\"b"}), "{\"public\",\"a\\\"b\"}");
}

TEST(Home, OneStatementMakesTheSchemaAndItsTables) {
    auto ddl = home_ddl("pix_db_replication");
    ASSERT_EQ(ddl.size(), 2u);
    EXPECT_EQ(ddl[0].rfind("CREATE SCHEMA \"pix_db_replication\" CREATE TABLE runs (", 0), 0u);
    EXPECT_NE(ddl[0].find(" CREATE TABLE access_rules ("), std::string::npos);
    EXPECT_NE(ddl[0].find(" CREATE TABLE state ("), std::string::npos);
}

TEST(StatusPage, ShowsTheLastRunTheRunsAndWhereTheTimeWent) {
    auto runs = nlohmann::json::parse(R"([
      {"id": 3, "started_at": "2026-11-25T05:10:00Z", "finished_at": null, "status": "interrupted", "error": null, "steps": {}},
      {"id": 2, "started_at": "2026-11-24T05:10:00Z", "finished_at": "2026-11-24T05:40:00Z", "status": "failure", "attempts": 11,
       "duration_s": 1800, "error": "pg_restore failed with 1 error(s): <script>alert(1)</script>",
       "steps": {"scalingo-source": 600, "pg-restore": 1200}},
      {"id": 1, "started_at": "2026-11-23T05:10:00Z", "finished_at": "2026-11-23T06:10:00Z", "status": "success", "attempts": 1,
       "duration_s": 3600, "backup_name": "20261123010000_pix", "backup_created_at": "2026-11-23T01:00:00+01:00",
       "steps": {"scalingo-source": 900, "drop-objects": 60, "pg-restore": 2640}}])");
    auto page = render_status_page(runs, 1795677000 /* 2026-11-26T07:10:00Z */);
    EXPECT_NE(page.find("Last run: <span class=\"bad\">interrupted</span>"), std::string::npos) << page;
    EXPECT_NE(page.find("The data comes from backup <b>20261123010000_pix</b>, made at 2026-11-23T01:00:00+01:00"), std::string::npos);
    EXPECT_NE(page.find("(3 days ago)"), std::string::npos) << page;
    EXPECT_EQ(page.find("<script>"), std::string::npos) << "errors are escaped";
    EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
    // Two nights with timings: one bar each, one segment per step.
    EXPECT_NE(page.find("<svg id=\"chart\""), std::string::npos);
    std::size_t segments = 0;
    for (auto p = page.find("class=\"segment\""); p != std::string::npos; p = page.find("class=\"segment\"", p + 1)) ++segments;
    EXPECT_EQ(segments, 5u);
    EXPECT_NE(page.find("data-run=\"1\" data-step=\"pg-restore\""), std::string::npos);
    std::size_t rows = 0;
    for (auto p = page.find("<tr class=\"run\">"); p != std::string::npos; p = page.find("<tr class=\"run\">", p + 1)) ++rows;
    EXPECT_EQ(rows, 3u);
    EXPECT_EQ(page.find("<script"), std::string::npos) << "no JavaScript";
    for (const char* external : {"src=", "<link", "@import", "url("}) EXPECT_EQ(page.find(external), std::string::npos) << external;
    EXPECT_NE(render_status_page(nlohmann::json::array(), 0).find("No run recorded yet"), std::string::npos);
}
