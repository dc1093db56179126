// Incremental tables, their pure parts: BACKUP_MODE, the decision to append or reload and why,
// COPY text, what the emptying keeps, what waits for the new rows, and the report's notes.
#include <gtest/gtest.h>

#include "toc_entry.hpp"

#include "append_order.hpp"
#include "backup_mode.hpp"
#include "copy_text.hpp"
#include "drop_sql.hpp"
#include "incremental.hpp"
#include "report.hpp"

#include <pixrep/step.hpp>

using namespace pixrep;

namespace {

std::string config_error(const std::string& json) {
    try {
        answers::parse_backup_mode(json);
    } catch (const StepError& e) {
        EXPECT_EQ(e.kind(), ErrorKind::config);
        return e.what();
    }
    return "";
}

TocEntry entry(int id, std::string desc, std::string schema, std::string tag, std::vector<int> deps = {}) {
    TocEntry e = toc_entry(id, desc, schema, tag, deps);
    if (e.desc == "TABLE" || e.desc == "TABLE DATA") e.table = e.schema + "." + e.tag;
    return e;
}

}  // namespace

TEST(BackupMode, ReadsTheOriginalsJson) {
    auto m = answers::parse_backup_mode(R"({"answers": "incremental", "knowledge-elements": "none", "stats.events": "incremental"})");
    ASSERT_EQ(m.size(), 3u);
    std::map<std::string, answers::Mode> by(std::map<std::string, answers::Mode>{});
    for (const auto& t : m) by[t.table] = t.mode;
    EXPECT_EQ(by.at("public.answers"), answers::Mode::incremental);
    EXPECT_EQ(by.at("public.knowledge-elements"), answers::Mode::none);
    EXPECT_EQ(by.at("stats.events"), answers::Mode::incremental);
    EXPECT_TRUE(answers::parse_backup_mode("{}").empty());
}

TEST(BackupMode, ABadValueIsRefusedByName) {
    EXPECT_NE(config_error("answers=incremental").find("BACKUP_MODE is not JSON"), std::string::npos);
    EXPECT_NE(config_error(R"(["answers"])").find("BACKUP_MODE must be a JSON object"), std::string::npos);
    auto e = config_error(R"({"answers": "incremantal"})");
    EXPECT_NE(e.find("BACKUP_MODE gives table 'answers' the mode \"incremantal\"; allowed: \"incremental\", \"none\""), std::string::npos) << e;
    EXPECT_NE(config_error(R"({"answers": true})").find("the mode true"), std::string::npos);
    EXPECT_NE(config_error(R"({"": "none"})").find("empty table name"), std::string::npos);
}

TEST(Incremental, ColumnsAsPgDumpWritesThem) {
    const std::string sql =
        "CREATE TABLE public.answers (\n"
        "    id bigint NOT NULL,\n"
        "    value text,\n"
        "    \"challengeId\" character varying(255) NOT NULL,\n"
        "    \"createdAt\" timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,\n"
        "    mood public.mood,\n"
        "    \"odd \"\"name\" integer[] COLLATE pg_catalog.\"C\",\n"
        "    CONSTRAINT positive CHECK ((id > 0))\n"
        ");";
    EXPECT_EQ(answers::columns_of(sql),
              (std::vector<std::string>{"id bigint", "value text", "\"challengeId\" character varying(255)", "\"createdAt\" timestamp with time zone",
                                        "mood public.mood", "\"odd \"\"name\" integer[]"}));
}

TEST(Incremental, EachReasonToReloadInFullIsSaid) {
    const std::vector<std::string> cols = {"id bigint", "value text"};
    answers::TargetTable t{true, false, cols, 100};
    answers::BackupTable b{cols, 120};
    const std::time_t now = 1'800'000'000;
    const auto week = std::chrono::seconds(7 * 86400);
    auto d = answers::decide(t, b, now - 86400, now, week, "id");
    EXPECT_TRUE(d.incremental);
    EXPECT_EQ(d.reason, "appending the rows whose id is greater than 100");

    auto full = [&](answers::TargetTable tt, answers::BackupTable bb, std::optional<std::time_t> last) {
        auto r = answers::decide(tt, bb, last, now, week, "id");
        EXPECT_FALSE(r.incremental);
        return r.reason;
    };
    EXPECT_EQ(full({false, true, {}, {}}, b, now), "missing on the target");
    EXPECT_EQ(full({true, true, cols, {}}, b, now), "empty on the target");
    EXPECT_EQ(full({true, false, {"id bigint", "value character varying"}, 100}, b, now),
              "its columns differ from the backup's definition: column 2 is 'value character varying' on the target, 'value text' in the backup");
    EXPECT_EQ(full({true, false, {"id bigint"}, 100}, b, now),
              "its columns differ from the backup's definition: column 2 is '(none)' on the target, 'value text' in the backup");
    EXPECT_EQ(full(t, {cols, 90}, now),
              "the target holds keys beyond the backup's largest (id 100 on the target, 90 in the backup): an older backup, or a source that was reset");
    EXPECT_NE(full(t, {cols, std::nullopt}, now).find("no row in the backup"), std::string::npos);
    EXPECT_EQ(full(t, b, now - 8 * 86400), "a periodic full reload is due (last one 2027-01-07, every 7 day(s))");
    EXPECT_EQ(full(t, b, std::nullopt), "a periodic full reload is due (none recorded, every 7 day(s))");
    EXPECT_TRUE(answers::decide(t, b, std::nullopt, now, std::chrono::seconds(0), "id").incremental) << "0 = never due";
    EXPECT_TRUE(answers::decide(t, {cols, 100}, now, now, week, "id").incremental) << "no new row: nothing to append, still incremental";
}

TEST(CopyText, HeaderFieldsAndKeys) {
    EXPECT_EQ(common::copy_columns("COPY public.answers (id, \"challengeId\", \"a, \"\"b\"\"\") FROM stdin;"),
              (std::vector<std::string>{"id", "challengeId", "a, \"b\""}));
    EXPECT_TRUE(common::copy_columns("SET search_path = '';").empty());
    EXPECT_EQ(common::copy_field("12\tab\\tc\t\\N", 1), std::string_view("ab\\tc"));
    EXPECT_EQ(common::copy_field("12\tab\t\\N", 2), std::string_view("\\N"));
    EXPECT_FALSE(common::copy_field("12\tab", 2));
    EXPECT_EQ(common::integer_field("-42"), -42);
    EXPECT_EQ(common::integer_field("9223372036854775807"), INT64_MAX);
    EXPECT_FALSE(common::integer_field("\\N"));
    EXPECT_FALSE(common::integer_field("12a"));
    EXPECT_FALSE(common::integer_field(""));
    EXPECT_FALSE(common::integer_field("99999999999999999999")) << "out of range is not an integer key";
}

TEST(KeptTables, WhatTheyStandOnIsKeptAndNotDropped) {
    RestorePlan plan;
    plan.entries = {entry(1, "SCHEMA", "-", "stats"),           entry(2, "TYPE", "public", "mood"),
                    entry(3, "TABLE", "public", "answers"),      entry(4, "SEQUENCE", "public", "answers_id_seq"),
                    entry(5, "CONSTRAINT", "public", "answers answers_pkey"), entry(6, "INDEX", "public", "answers_user_idx"),
                    entry(7, "FUNCTION", "public", "score(integer)"), entry(8, "TABLE", "public", "users"),
                    entry(9, "FK CONSTRAINT", "public", "answers answers_userId_fkey"), entry(10, "INDEX", "public", "answers_new_idx"),
                    entry(11, "DOMAIN", "public", "positive"),    entry(12, "DEFAULT", "public", "answers id", {3}),
                    entry(13, "SEQUENCE OWNED BY", "public", "answers_id_seq", {4, 3}), entry(14, "DEFAULT", "public", "users id", {8})};
    plan.entries[2].fate = Fate::kept;
    plan.entries[11].table = plan.entries[12].table = "public.answers";
    plan.entries[13].table = "public.users";
    std::vector<drop::Object> support = {{"TABLE", "public", "answers", "", ""},       {"SCHEMA", "", "stats", "", ""},
                                         {"TYPE", "public", "mood", "", ""},           {"SEQUENCE", "public", "answers_id_seq", "", ""},
                                         {"CONSTRAINT", "public", "answers_pkey", "answers", ""}, {"INDEX", "public", "answers_user_idx", "", ""},
                                         {"FUNCTION", "public", "score", "", ""},      {"DOMAIN", "public", "positive", "", ""}};
    std::vector<int> ids;
    for (DumpId id : drop::kept_entries(plan, support)) ids.push_back(raw(id));
    EXPECT_EQ(ids, (std::vector<int>{1, 2, 4, 5, 6, 7, 11, 12, 13})) << "an index the backup adds, a foreign key, another table: restored";

    std::vector<drop::Object> owned = {{"VIEW", "public", "answers_view", "", "pix"}, {"TABLE", "public", "answers", "", "pix"},
                                       {"TABLE", "public", "users", "", "pix"},       {"SEQUENCE", "public", "answers_id_seq", "", "pix"},
                                       {"FUNCTION", "public", "score", "integer", "pix"}, {"TYPE", "public", "mood", "", "pix"},
                                       {"DOMAIN", "public", "positive", "", "pix"},  {"SCHEMA", "", "stats", "", "pix"},
                                       {"SCHEMA", "", "scratch", "", "pix"}};
    std::vector<std::string> dropped;
    for (const auto& o : drop::without_kept(owned, support)) dropped.push_back(o.kind + " " + o.name);
    EXPECT_EQ(dropped, (std::vector<std::string>{"VIEW answers_view", "TABLE users", "SCHEMA scratch"}));
}

TEST(KeptTables, ForeignKeysAndTriggersWaitForTheNewRows) {
    RestorePlan plan;
    plan.entries = {entry(1, "TABLE", "public", "answers"), entry(2, "TABLE", "public", "users"), entry(3, "TABLE", "public", "details"),
                    entry(4, "FK CONSTRAINT", "public", "answers answers_userId_fkey", {1, 2}),
                    entry(5, "FK CONSTRAINT", "public", "details details_answerId_fkey", {3, 1}),
                    entry(6, "FK CONSTRAINT", "public", "details details_userId_fkey", {3, 2}),
                    entry(7, "TRIGGER", "public", "answers audit", {1}), entry(8, "TRIGGER", "public", "users audit", {2}),
                    entry(9, "INDEX", "public", "answers_new_idx", {1})};
    plan.entries[0].fate = Fate::kept;
    plan.entries[3].table = plan.entries[6].table = "public.answers";
    std::vector<Append> appends = {{DumpId{20}, "public.answers", "id", 100, "answers-kes"}};
    std::vector<int> ids;
    for (DumpId id : restore::after_appends(plan, appends)) ids.push_back(raw(id));
    EXPECT_EQ(ids, (std::vector<int>{4, 5, 7}));
    EXPECT_TRUE(restore::after_appends(plan, {}).empty());
}

TEST(Report, DecisionsAreListed) {
    RunReport r;
    r.notes = {{"answers-kes", "public.answers: incremental, appending the rows whose id is greater than 100"},
               {"pg-restore", "public.answers: 7 new row(s) appended"}};
    RunOutcome o;
    o.success = true;
    auto text = format_report(r, o).text;
    EXPECT_NE(text.find("  decisions:\n    answers-kes: public.answers: incremental, appending the rows whose id is greater than 100\n"
                        "    pg-restore: public.answers: 7 new row(s) appended\n"),
              std::string::npos)
        << text;
}

TEST(KeptSupport, EnumLabelsAddedInPlaceAnythingElseReloads) {
    using namespace pixrep::answers;
    EXPECT_EQ(*enum_labels("CREATE TYPE public.\"answer-status\" AS ENUM (\n    'new',\n    'it''s',\n    'seen'\n);\n"),
              (std::vector<std::string>{"new", "it's", "seen"}));
    EXPECT_FALSE(enum_labels("CREATE DOMAIN public.d AS integer;"));
    auto added = compare_enum("public.\"s\"", {"new", "seen"}, {"fresh", "new", "paused", "seen", "done"});
    EXPECT_TRUE(added.same);
    EXPECT_EQ(added.statements, (std::vector<std::string>{"ALTER TYPE public.\"s\" ADD VALUE IF NOT EXISTS 'fresh' BEFORE 'new'",
                                                          "ALTER TYPE public.\"s\" ADD VALUE IF NOT EXISTS 'paused' AFTER 'new'",
                                                          "ALTER TYPE public.\"s\" ADD VALUE IF NOT EXISTS 'done' AFTER 'seen'"}));
    EXPECT_TRUE(compare_enum("t", {"a", "b"}, {"a", "b"}).statements.empty());
    auto renamed = compare_enum("public.\"s\"", {"new", "archived"}, {"new", "stored"});
    EXPECT_FALSE(renamed.same);
    EXPECT_EQ(renamed.reason, "type public.\"s\" lost or reordered label 'archived' in the backup");
    EXPECT_FALSE(compare_enum("t", {"a", "b"}, {"b", "a"}).same);
}

TEST(KeptSupport, DomainsAndFunctionsComparedByDefinition) {
    using namespace pixrep::answers;
    const std::string domain = "CREATE DOMAIN public.score AS integer NOT NULL\n\tCONSTRAINT score_check CHECK (((VALUE >= 0) AND (VALUE <= 100)));\n";
    EXPECT_TRUE(compare_domain(domain, "integer", true, {"CHECK (((VALUE >= 0) AND (VALUE <= 100)))"}).same);
    EXPECT_EQ(compare_domain(domain, "integer", true, {"CHECK (((VALUE >= 0) AND (VALUE <= 10)))"}).reason,
              "its constraint CHECK (((VALUE >= 0) AND (VALUE <= 10))) changed");
    EXPECT_EQ(compare_domain(domain, "bigint", true, {}).reason, "its base type is no longer bigint");
    EXPECT_EQ(compare_domain(domain, "integer", false, {"CHECK (((VALUE >= 0) AND (VALUE <= 100)))"}).reason, "its NOT NULL changed");
    const std::string fn = "CREATE FUNCTION public.next_code() RETURNS text\n    LANGUAGE sql\n    AS $$ SELECT 'A' || nextval('s') $$;\n";
    EXPECT_TRUE(compare_function(fn, " SELECT 'A' || nextval('s') ").same);
    EXPECT_EQ(compare_function(fn, " SELECT 'B' || nextval('s') ").reason, "its body changed");
}
