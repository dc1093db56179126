// PostgreSQL Anonymizer's labels read as masking rules (MASKING_FROM_LABELS): which labels are
// read, which of Anonymizer's functions have a transform here, and how they meet a rules file.
#include <gtest/gtest.h>

#include "labels.hpp"

using namespace pixrep::mask;

namespace {

pixrep::TocEntry label(const std::string& sql, const std::string& desc = "SECURITY LABEL") {
    pixrep::TocEntry e;
    e.desc = desc;
    e.sql = sql;
    return e;
}

const std::vector<TableFacts> kTables{
    {"public.users", {{"id", "integer", true, true}, {"email", "text", false, true}, {"firstName", "text"}, {"phone", "text"}}},
    {"public.badges", {{"id", "integer", true, true}, {"key", "text"}}},
};

pixrep::RestorePlan plan_of(const std::vector<std::string>& labels) {
    pixrep::RestorePlan plan;
    for (const auto& sql : labels) plan.entries.push_back(label(sql));
    return plan;
}

}  // namespace

TEST(MaskLabels, AColumnsAnonLabelIsReadWithItsQuotedNames) {
    // As pg_dump writes them: a table's column labels in one entry.
    auto l = column_labels(label("SECURITY LABEL FOR anon ON COLUMN public.\"my-users\".\"eMail\" IS 'MASKED WITH FUNCTION anon.fake_email()';\n"
                                 "SECURITY LABEL FOR selinux ON COLUMN public.\"my-users\".id IS 'x';\n"
                                 "SECURITY LABEL FOR anon ON COLUMN public.\"my-users\".name IS 'it''s';\n"));
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0].table, "public.my-users");
    EXPECT_EQ(l[0].column, "eMail");
    EXPECT_EQ(l[0].text, "MASKED WITH FUNCTION anon.fake_email()");
    EXPECT_EQ(l[1].column + " " + l[1].text, "name it's");
    // Another provider, a role's or a table's label, another kind of entry: not a column's rule.
    EXPECT_TRUE(column_labels(label("SECURITY LABEL FOR anon ON ROLE analyst IS 'MASKED';")).empty());
    EXPECT_TRUE(column_labels(label("SECURITY LABEL FOR anon ON TABLE public.t IS 'TABLESAMPLE BERNOULLI(10)';")).empty());
    EXPECT_TRUE(column_labels(label("SECURITY LABEL FOR anon ON COLUMN public.t.c IS 'x';", "COMMENT")).empty());
}

TEST(MaskLabels, AnonymizersFunctionsMapToTheTransformsThatDoTheSame) {
    EXPECT_EQ(transform_of("MASKED WITH FUNCTION anon.fake_email()"), Transform::email);
    EXPECT_EQ(transform_of("masked with function anon.pseudo_email(\"userId\")"), Transform::email);
    EXPECT_EQ(transform_of("MASKED WITH FUNCTION anon.fake_first_name()"), Transform::first_name);
    EXPECT_EQ(transform_of("MASKED WITH FUNCTION anon.pseudo_last_name(id, 'salt')"), Transform::last_name);
    EXPECT_EQ(transform_of("MASKED WITH FUNCTION anon.hash(email)"), Transform::hash);
    EXPECT_EQ(transform_of("MASKED WITH FUNCTION date_trunc('month', \"birthdate\")"), Transform::year_month);
    EXPECT_EQ(transform_of("MASKED WITH FUNCTION pg_catalog.date_trunc('year', birthdate)"), Transform::year);
    EXPECT_EQ(transform_of("MASKED WITH VALUE NULL"), Transform::null);
    // Nothing here does these: refused, never kept in clear.
    EXPECT_FALSE(transform_of("MASKED WITH FUNCTION anon.partial(phone, 2, $$******$$, 2)"));
    EXPECT_FALSE(transform_of("MASKED WITH VALUE 'CONFIDENTIAL'"));
    EXPECT_FALSE(transform_of("MASKED WITH FUNCTION date_trunc('day', birthdate)"));
    EXPECT_FALSE(transform_of("MASKED WITH FUNCTION anon.fake_email("));
    EXPECT_FALSE(transform_of("NOT MASKED"));
}

TEST(MaskLabels, LabelsBecomeRulesTheRulesFileWinsAndALabelWithNoTransformIsAProblem) {
    const auto plan = plan_of({"SECURITY LABEL FOR anon ON COLUMN public.users.email IS 'MASKED WITH FUNCTION anon.fake_email()';",
                               "SECURITY LABEL FOR anon ON COLUMN public.users.\"firstName\" IS 'MASKED WITH FUNCTION anon.fake_first_name()';",
                               "SECURITY LABEL FOR anon ON COLUMN public.users.phone IS 'MASKED WITH FUNCTION anon.partial(phone,2,$$*$$,2)';"});
    // Labels alone: the labelled table keeps its other columns, the others need nothing.
    std::vector<std::string> problems;
    Rules alone = with_labels(std::nullopt, plan, kTables, problems);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("public.users.phone ('MASKED WITH FUNCTION anon.partial(phone,2,$$*$$,2)'): no transform here"), std::string::npos)
        << problems[0];
    EXPECT_EQ(alone.tables.at("public.users").rule("email")->transform, Transform::email);
    EXPECT_EQ(alone.tables.at("public.users").rule("id")->transform, Transform::keep);
    EXPECT_EQ(alone.tables.at("public.badges").rule("key")->transform, Transform::keep) << "an unlabelled table is kept";
    EXPECT_TRUE(pixrep::mask::problems(alone, kTables).empty()) << "badges has no label and needs no rule";
    // With a rules file: its own rule for a column wins, and every table still needs rules.
    Rules file = parse_rules("[tables.\"public.users\"]\nid = \"keep\"\nphone = \"null\"\nfirstName = \"keep\"\n", "m.toml");
    problems.clear();
    Rules both = with_labels(file, plan, kTables, problems);
    EXPECT_TRUE(problems.empty()) << "the file names phone";
    EXPECT_EQ(both.tables.at("public.users").rule("phone")->transform, Transform::null);
    EXPECT_EQ(both.tables.at("public.users").rule("firstName")->transform, Transform::keep) << "the file's rule wins";
    EXPECT_EQ(both.tables.at("public.users").rule("email")->transform, Transform::email);
    const auto left = pixrep::mask::problems(both, kTables);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0], "table public.badges has no masking rules in m.toml (add [tables.\"public.badges\"])");
}

TEST(MaskLabels, ALabelsTransformThatDoesNotFitItsColumnIsRefusedNamingTheLabel) {
    const auto plan = plan_of({"SECURITY LABEL FOR anon ON COLUMN public.users.id IS 'MASKED WITH FUNCTION anon.fake_first_name()';"});
    std::vector<std::string> problems;
    Rules r = with_labels(std::nullopt, plan, kTables, problems);
    const auto found = pixrep::mask::problems(r, kTables);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].rfind("SECURITY LABEL 'MASKED WITH FUNCTION anon.fake_first_name()': public.users.id: first_name", 0), 0u) << found[0];
}

TEST(MaskLabels, AnUnlabelledColumnReferencingAMaskedKeyTakesItsTransform) {
    // users.id is masked by its label; sr.userId (no label) and stats.userId (a table without
    // labels) reference it: as with a rules file, they are masked the same way, so joins hold.
    const auto plan = plan_of({"SECURITY LABEL FOR anon ON COLUMN public.users.id IS 'MASKED WITH FUNCTION anon.hash(id)';"});
    const std::vector<TableFacts> tables{{"public.users", {{"id", "text", true, true}, {"email", "text"}}},
                                         {"public.sr", {{"id", "integer", true, true}, {"userId", "text"}}},
                                         {"public.stats", {{"userId", "text"}, {"n", "integer"}}}};
    std::vector<std::string> problems;
    Rules r = with_labels(std::nullopt, plan, tables, problems);
    const auto inherited = inherit(r, {{"public.sr", "userId", "public.users", "id"}, {"public.stats", "userId", "public.users", "id"}}, problems);
    EXPECT_TRUE(problems.empty()) << problems.front();
    ASSERT_EQ(inherited.size(), 2u);
    EXPECT_EQ(inherited[0].table + "." + inherited[0].column, "public.sr.userId");
    EXPECT_EQ(inherited[1].table + "." + inherited[1].column, "public.stats.userId");
    EXPECT_EQ(inherited[1].transform, Transform::hash);
    EXPECT_TRUE(pixrep::mask::problems(r, tables).empty()) << "an unlabelled rest beside a label is Anonymizer's rule, not a refused star";
}
