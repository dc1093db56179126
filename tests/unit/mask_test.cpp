// The masking transforms, the rules file and the row masker: determinism, injectivity, valid
// output for each type, and every refusal naming the file and line.
#include <gtest/gtest.h>

#include <regex>
#include <unordered_set>

#include "copy_text.hpp"
#include "facts.hpp"
#include "row_masker.hpp"
#include "rules.hpp"
#include "transforms.hpp"

using namespace pixrep::mask;

namespace {

const std::string kSecret = "a-masking-key-of-at-least-32-characters!";

}  // namespace

TEST(Mask, AKeyShorterThan32CharactersIsRefusedAndTheFingerprintIsNotTheKey) {
    EXPECT_THROW(Keys("short"), std::invalid_argument);
    Keys a(kSecret), b(kSecret), c(kSecret + "x");
    EXPECT_EQ(a.fingerprint(), b.fingerprint());
    EXPECT_NE(a.fingerprint(), c.fingerprint());
    EXPECT_EQ(a.fingerprint().size(), 64u);
    EXPECT_EQ(a.fingerprint().find("masking-key"), std::string::npos);
}

TEST(Mask, EveryTransformIsDeterministicAndAnotherKeyGivesOtherValues) {
    Keys k1(kSecret), k2(kSecret + "2");
    Masker m1(k1), again(k1), m2(k2);
    for (auto [t, kind, v] : std::vector<std::tuple<Transform, Kind, std::string>>{{Transform::hash, Kind::text, "Dupont"},
                                                                                 {Transform::hash, Kind::int64, "123456789"},
                                                                                 {Transform::hash, Kind::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
                                                                                 {Transform::email, Kind::text, "jeanne.dupont@example.net"}}) {
        EXPECT_EQ(m1.apply(t, kind, v), again.apply(t, kind, v)) << name_of(t);
        EXPECT_NE(m1.apply(t, kind, v), m2.apply(t, kind, v)) << name_of(t);
        EXPECT_NE(*m1.apply(t, kind, v), v) << name_of(t);
    }
    EXPECT_EQ(m1.apply(Transform::first_name, Kind::text, "Jeanne"), again.apply(Transform::first_name, Kind::text, "Jeanne"));
    EXPECT_EQ(m1.apply(Transform::null, Kind::text, "x"), std::nullopt);
    EXPECT_EQ(m1.apply(Transform::keep, Kind::text, "x"), "x");
}

TEST(Mask, HashOfIntegersStaysInItsTypeAndIsAPermutation) {
    Keys keys(kSecret);
    Masker m(keys);
    // Every smallint: each one once.
    std::unordered_set<std::string> seen;
    for (int v = -32768; v <= 32767; ++v) {
        auto out = *m.apply(Transform::hash, Kind::int16, std::to_string(v));
        const int x = std::stoi(out);
        ASSERT_GE(x, -32768);
        ASSERT_LE(x, 32767);
        seen.insert(out);
    }
    EXPECT_EQ(seen.size(), 65536u) << "a permutation of the smallints";
    const long long i4 = std::stoll(*m.apply(Transform::hash, Kind::int32, "2147483647"));
    EXPECT_TRUE(i4 >= -2147483648LL && i4 <= 2147483647LL);
    EXPECT_NO_THROW(std::stoll(*m.apply(Transform::hash, Kind::int64, "-9223372036854775808")));
    EXPECT_THROW(m.apply(Transform::hash, Kind::int32, "12a"), std::invalid_argument);
}

TEST(Mask, AMillionDistinctValuesNeverCollide) {
    Keys keys(kSecret);
    Masker m(keys);
    std::unordered_set<std::string> emails, texts, ints;
    emails.reserve(1000000), ints.reserve(1000000);
    for (int i = 0; i < 1000000; ++i) {
        emails.insert(*m.apply(Transform::email, Kind::text, "user" + std::to_string(i) + "@example.net"));
        ints.insert(*m.apply(Transform::hash, Kind::int32, std::to_string(i)));
        if (i < 200000) texts.insert(*m.apply(Transform::hash, Kind::text, "name-" + std::to_string(i)));
    }
    EXPECT_EQ(emails.size(), 1000000u);
    EXPECT_EQ(ints.size(), 1000000u);
    EXPECT_EQ(texts.size(), 200000u);
}

TEST(Mask, EmailsAreValidAddressesAtAReservedDomain) {
    Keys keys(kSecret);
    Masker m(keys);
    const std::regex address(R"(^[A-Za-z0-9_-]{1,64}@masked\.invalid$|^x@([a-z2-7]{1,63}\.)+masked\.invalid$)");
    for (const std::string& v : std::vector<std::string>{"a@b.c", "jeanne.dupont@example.net", "", std::string(40, 'z') + "@a-very-long-domain-name.example.org",
                                std::string("é\tà@x.fr")}) {
        const auto out = *m.apply(Transform::email, Kind::text, v);
        EXPECT_TRUE(std::regex_match(out, address)) << out;
        EXPECT_LE(out.size(), 254u);
    }
    EXPECT_NE(*m.apply(Transform::email, Kind::text, "A@b.c"), *m.apply(Transform::email, Kind::text, "a@b.c")) << "case is kept apart";
}

TEST(Mask, DatesKeepTheYearAndMonthAtMidnightAsPixDoes) {
    EXPECT_EQ(generalise_date("2010-07-23", Kind::date, false), "2010-07-01");
    EXPECT_EQ(generalise_date("2010-07-23", Kind::date, true), "2010-01-01");
    EXPECT_EQ(generalise_date("2024-03-15 10:22:33.123456", Kind::timestamp, false), "2024-03-01 00:00:00");
    EXPECT_EQ(generalise_date("2024-03-15 10:22:33.5+01", Kind::timestamptz, false), "2024-03-01 00:00:00+01");
    EXPECT_EQ(generalise_date("2024-03-15 10:22:33-03:30", Kind::timestamptz, true), "2024-01-01 00:00:00-03:30");
    EXPECT_EQ(generalise_date("0044-03-15 BC", Kind::date, false), "0044-03-01 BC");
    EXPECT_EQ(generalise_date("infinity", Kind::timestamp, false), "infinity");
    EXPECT_THROW(generalise_date("15/03/2024", Kind::date, false), std::invalid_argument);
}

TEST(Mask, TypesATransformCannotFitAreNamed) {
    EXPECT_EQ(unfit(Transform::hash, "text", false), "");
    EXPECT_EQ(unfit(Transform::hash, "bigint", true), "");
    EXPECT_NE(unfit(Transform::hash, "character varying(255)", false), "");
    EXPECT_NE(unfit(Transform::hash, "jsonb", false).find("not jsonb"), std::string::npos);
    EXPECT_EQ(unfit(Transform::email, "character varying(255)", true), "");
    EXPECT_NE(unfit(Transform::email, "character varying(100)", true), "");
    EXPECT_NE(unfit(Transform::null, "text", true).find("NOT NULL"), std::string::npos);
    EXPECT_NE(unfit(Transform::year_month, "text", false), "");
    EXPECT_EQ(unfit(Transform::year_month, "timestamp with time zone", true), "");
    EXPECT_EQ(unfit(Transform::first_name, "character varying(255)", false), "");
    EXPECT_TRUE(injective(Transform::hash) && injective(Transform::email) && !injective(Transform::first_name));
}

TEST(MaskRules, ARulesFileIsReadAndEveryMistakeNamesItsLine) {
    auto r = parse_rules("[tables.\"public.users\"]\nemail = \"email\"\nfirstName = \"first_name\"\n\"*\" = \"keep\"\n\n[tables.campaigns]\n\"*\" = \"keep\"\n",
                         "masking.toml");
    ASSERT_EQ(r.tables.size(), 2u);
    EXPECT_EQ(r.tables.at("public.users").rule("email")->transform, Transform::email);
    EXPECT_EQ(r.tables.at("public.users").rule("email")->line, 2);
    EXPECT_EQ(r.tables.at("public.users").rule("id")->transform, Transform::keep) << "the star";
    EXPECT_TRUE(r.tables.count("public.campaigns")) << "a bare name is in public";
    auto refused = [](const std::string& text) {
        try {
            parse_rules(text, "m.toml");
        } catch (const RulesError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(refused("[tables.users]\nemail = \"scramble\"\n"),
              "m.toml:2: public.users.email: unknown transform 'scramble' (known: keep, null, hash, email, first_name, last_name, year_month, year)");
    EXPECT_EQ(refused("[tables.users]\nemail = 3\n").rfind("m.toml:2: public.users.email: a transform is a string", 0), 0u);
    EXPECT_EQ(refused("[users]\nemail = \"email\"\n").rfind("m.toml:1: 'users' is not known", 0), 0u);
    EXPECT_EQ(refused("[tables.users\n").rfind("m.toml:1: ", 0), 0u);
    EXPECT_NE(r.fingerprint(), parse_rules("[tables.users]\nemail = \"hash\"\n", "x").fingerprint());
    EXPECT_EQ(r.fingerprint(), parse_rules("[tables.campaigns]\n\"*\" = \"keep\"\n# a comment\n[tables.users]\n\"*\" = \"keep\"\n"
                                           "firstName = \"first_name\"\nemail = \"email\"\n",
                                           "y")
                                   .fingerprint())
        << "the same rules in another order";
}

TEST(MaskRules, PrivacyByDefaultEveryTableAndColumnCoveredAndEachRuleFits) {
    auto r = parse_rules("[tables.users]\nemail = \"first_name\"\nbirthdate = \"year_month\"\nnickname = \"hash\"\nid = \"keep\"\n"
                         "[tables.answers]\n\"*\" = \"keep\"\n",
                         "masking.toml");
    std::vector<TableFacts> tonight{
        {"public.users",
         {{"id", "integer", true, true}, {"email", "character varying(255)", true, true}, {"birthdate", "text", false, false}, {"phone", "text", false, false}}},
        {"public.answers", {{"id", "bigint", true, true}}},
        {"public.badges", {{"id", "integer", true, true}}}};
    auto p = problems(r, tonight);
    std::vector<std::string> want{
        "masking.toml:2: public.users.email: first_name can give two rows one value, and the column is unique (use hash or email)",
        "masking.toml:3: public.users.birthdate: year_month: year_month masks dates and timestamps, not text",
        "column public.users.phone (text) has no masking rule in masking.toml",
        "masking.toml:4: public.users has no column 'nickname'",
        "table public.badges has no masking rules in masking.toml (add [tables.\"public.badges\"])"};
    EXPECT_EQ(p, want);
    auto star = parse_rules("[tables.users]\nemail = \"email\"\n\"*\" = \"keep\"\n", "m.toml");
    EXPECT_EQ(problems(star, {{"public.users", {{"email", "text", false, false}}}}),
              std::vector<std::string>{"m.toml:3: public.users: \"*\" beside masked columns would keep a column added later unseen; name every "
                                       "column of a table that has masked ones"});
}

TEST(MaskRules, RowsAreMaskedFieldByFieldEscapesAndNullsKept) {
    auto r = parse_rules("[tables.users]\nemail = \"email\"\nlastName = \"last_name\"\nnote = \"hash\"\n\"*\" = \"keep\"\n", "m");
    Keys keys(kSecret);
    RowMasker rows(keys, r.tables.at("public.users"), {"id", "email", "lastName", "note"},
                   {{"id", "integer"}, {"email", "text"}, {"lastName", "text"}, {"note", "text"}});
    ASSERT_TRUE(rows.masks());
    const std::string out(rows.apply("7\tjeanne@example.net\tDu\\tpont\t\\N"));
    auto fields = [](const std::string& row) {
        std::vector<std::string> f;
        for (std::size_t i = 0; auto v = pixrep::common::copy_field(row, i); ++i) f.emplace_back(*v);
        return f;
    };
    auto f = fields(out);
    ASSERT_EQ(f.size(), 4u) << out;
    EXPECT_EQ(f[0], "7");
    EXPECT_NE(f[1].find("@masked.invalid"), std::string::npos);
    EXPECT_EQ(f[3], "\\N") << "NULL stays NULL";
    Masker m(keys);
    EXPECT_EQ(f[2], *m.apply(Transform::last_name, Kind::text, "Du\tpont")) << "the value is unescaped first";
    EXPECT_EQ(f[1], *m.apply(Transform::email, Kind::text, "jeanne@example.net")) << "the same value as anywhere else";
    EXPECT_EQ(rows.counts().at("email"), 1);
    EXPECT_EQ(rows.counts().at("note"), 0);
    EXPECT_THROW(rows.apply("8"), std::invalid_argument);
    EXPECT_EQ(pixrep::common::unescape_field("a\\\\b\\n\\101\\x41"), "a\\b\nAA");
    EXPECT_EQ(pixrep::common::escape_field("a\\b\n\t"), "a\\\\b\\n\\t");
}

TEST(MaskFacts, ColumnsTypesAndUniqueColumnsAsPgDumpWritesThem) {
    auto columns = pixrep::mask::columns_of(
        "CREATE TABLE public.users (\n    id integer NOT NULL,\n    \"firstName\" text NOT NULL,\n    email character varying(255),\n"
        "    \"createdAt\" timestamp with time zone DEFAULT now() NOT NULL\n);");
    ASSERT_EQ(columns.size(), 4u);
    EXPECT_EQ(columns[1].name, "firstName");
    EXPECT_TRUE(columns[1].not_null);
    EXPECT_EQ(columns[2].type, "character varying(255)");
    EXPECT_FALSE(columns[2].not_null);
    EXPECT_EQ(columns[3].type, "timestamp with time zone");
    EXPECT_TRUE(columns[3].not_null);
    EXPECT_EQ(pixrep::mask::unique_columns("ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_email_key UNIQUE (email);"),
              std::vector<std::string>{"email"});
    EXPECT_EQ(pixrep::mask::unique_columns("ALTER TABLE ONLY public.x\n    ADD CONSTRAINT x_pkey PRIMARY KEY (\"userId\", day);"),
              (std::vector<std::string>{"userId", "day"}));
    EXPECT_EQ(pixrep::mask::unique_columns("CREATE UNIQUE INDEX u ON public.users USING btree (lower(email));"), std::vector<std::string>{});
    EXPECT_EQ(pixrep::mask::unique_columns("CREATE UNIQUE INDEX u ON public.users USING btree (\"lastName\");"),
              std::vector<std::string>{"lastName"});
    EXPECT_TRUE(pixrep::mask::unique_columns("CREATE INDEX u ON public.users USING btree (email);").empty());
}

TEST(MaskFacts, ColumnsReferencingAMaskedKeyAreMaskedTheSameWayThroughChains) {
    using namespace pixrep::mask;
    auto k = foreign_key("public.sr", "ALTER TABLE ONLY public.sr\n    ADD CONSTRAINT sr_fk FOREIGN KEY (\"userId\") REFERENCES public.users(id);");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->column, "userId");
    EXPECT_EQ(k->references, "public.users");
    EXPECT_EQ(k->referenced, "id");
    EXPECT_FALSE(foreign_key("public.x", "ALTER TABLE ONLY public.x\n    ADD CONSTRAINT f FOREIGN KEY (a, b) REFERENCES public.y(a, b);"));
    auto quoted = foreign_key("public.x", "ALTER TABLE ONLY public.x ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES \"my schema\".\"user-s\"(\"Id\");");
    ASSERT_TRUE(quoted);
    EXPECT_EQ(quoted->references, "my schema.user-s");
    EXPECT_EQ(quoted->referenced, "Id");
    auto rules = parse_rules("[tables.users]\nid = \"hash\"\n[tables.sr]\n\"*\" = \"keep\"\n[tables.stats]\n\"*\" = \"keep\"\n"
                             "[tables.audit]\nuserId = \"keep\"\n",
                             "m.toml");
    std::vector<std::string> problems;
    auto inherited = inherit(rules,
                             {{"public.sr", "userId", "public.users", "id"},
                              {"public.stats", "srUserId", "public.sr", "userId"},
                              {"public.audit", "userId", "public.users", "id"}},
                             problems);
    ASSERT_EQ(inherited.size(), 2u);
    EXPECT_EQ(inherited[0].table + "." + inherited[0].column + " " + inherited[0].from, "public.sr.userId public.users.id");
    EXPECT_EQ(inherited[1].table + "." + inherited[1].column + " " + inherited[1].from, "public.stats.srUserId public.sr.userId") << "a chain";
    EXPECT_EQ(inherited[1].transform, Transform::hash);
    EXPECT_EQ(problems, std::vector<std::string>{"m.toml:8: public.audit.userId: keep, but it references public.users.id, masked with hash: joins "
                                                 "on it would break; give it the same transform"});
}

TEST(MaskFacts, AnonymizersLabelsAreToldFromOthers) {
    pixrep::TocEntry e;
    e.desc = "SECURITY LABEL";
    e.sql = "SECURITY LABEL FOR anon ON COLUMN public.users.email IS 'MASKED WITH FUNCTION anon.fake_email()';";
    EXPECT_TRUE(pixrep::mask::anonymizer_label(e));
    e.sql = "SECURITY LABEL FOR selinux ON TABLE public.users IS 'system_u:object_r:sepgsql_table_t:s0';";
    EXPECT_FALSE(pixrep::mask::anonymizer_label(e));
    e.desc = "COMMENT";
    e.sql = "SECURITY LABEL FOR anon ON COLUMN x IS 'y';";
    EXPECT_FALSE(pixrep::mask::anonymizer_label(e));
}

TEST(MaskFacts, TheTemplateKeepsEverythingAndFlagsWhatLooksPersonal) {
    using namespace pixrep::mask;
    EXPECT_TRUE(looks_personal({"firstName", "text"}));
    EXPECT_TRUE(looks_personal({"email", "text"}));
    EXPECT_TRUE(looks_personal({"ip_address", "text"}));
    EXPECT_TRUE(looks_personal({"lastSeenFrom", "inet"}));
    EXPECT_TRUE(looks_personal({"nationalStudentId", "text"}));
    EXPECT_FALSE(looks_personal({"relationship", "text"}));
    EXPECT_FALSE(looks_personal({"createdAt", "timestamp with time zone"}));
    EXPECT_FALSE(looks_personal({"description", "text"}));
    const auto text = rules_template({{"public.users", {{"id", "integer", true, true}, {"email", "character varying(255)", false, true},
                                                         {"my col", "date", false, false}}}});
    EXPECT_NE(text.find("[tables.\"public.users\"]\nid = \"keep\"\nemail = \"keep\"   # personal? character varying(255), unique: email\n"
                        "\"my col\" = \"keep\"\n"),
              std::string::npos)
        << text;
    EXPECT_NO_THROW(parse_rules(text, "template")) << "the template is a rules file as it is";
}
