// The pure parts of building beside: the names, the SQL rewriting, the build's plan, the swap's statements.
#include <gtest/gtest.h>

#include "build_names.hpp"
#include "build_plan.hpp"
#include "object_kinds.hpp"
#include "sql_rewrite.hpp"
#include "swap_sql.hpp"
#include "toc_entry.hpp"

using namespace pixrep;

namespace {

beside::BuildNames names() {
    beside::BuildNames n;
    n.schemas = {{"public", "pix_build_public"}, {"Odd Schema", "pix_build_Odd Schema"}};
    n.objects = {{"public", "users"}, {"public", "users_id_seq"}, {"public", "mood"}, {"public", "f"}, {"Odd Schema", "Mixed Case"}};
    return n;
}

}  // namespace

TEST(BuildNames, DerivedFromTheHomeAndShortenedPast63Bytes) {
    EXPECT_EQ(beside::build_schema_name("pix_db_replication", "public"), "pix_db_replication_build_public");
    EXPECT_EQ(beside::previous_schema_name("pix_db_replication", "public"), "pix_db_replication_prev_public");
    const std::string a = beside::build_schema_name("pix_db_replication", std::string(60, 'a') + "1");
    const std::string b = beside::build_schema_name("pix_db_replication", std::string(60, 'a') + "2");
    EXPECT_EQ(a.size(), 63u);
    EXPECT_NE(a, b);
    EXPECT_TRUE(beside::is_tool_schema("pix_db_replication", a));
    EXPECT_TRUE(beside::is_tool_schema("pix_db_replication", "pix_db_replication_prev_x"));
    EXPECT_FALSE(beside::is_tool_schema("pix_db_replication", "public"));
    EXPECT_EQ(beside::build_schema_pattern("pix_db_replication"), "pix\\_db\\_replication\\_build\\_%");
}

TEST(BuildNames, AStepMarksTheIndexesItMakesByTheirStatement) {
    const std::string mark = beside::step_index_comment("post-sql", std::string(64, 'a'));
    EXPECT_EQ(mark, "made by pix-db-replication step post-sql, statement " + std::string(64, 'a'));
    EXPECT_TRUE(beside::is_step_index_comment(mark));
    EXPECT_FALSE(beside::is_step_index_comment("")) << "an index of the backup's, uncommented";
    EXPECT_FALSE(beside::is_step_index_comment("index on users' creation date")) << "a comment of the backup's";
}

TEST(SqlRewrite, NamesOfWhatIsBuiltGoToTheBuildSchema) {
    const auto n = names();
    EXPECT_EQ(beside::rewrite_for_build("CREATE TABLE public.users (id integer, feeling public.mood, x public.other);", n),
              "CREATE TABLE pix_build_public.users (id integer, feeling pix_build_public.mood, x public.other);");
    EXPECT_EQ(beside::rewrite_for_build("ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);", n),
              "ALTER TABLE ONLY pix_build_public.users ALTER COLUMN id SET DEFAULT nextval('pix_build_public.users_id_seq'::regclass);");
    EXPECT_EQ(beside::rewrite_for_build("SELECT pg_catalog.setval('public.users_id_seq', 42, true);", n),
              "SELECT pg_catalog.setval('pix_build_public.users_id_seq', 42, true);");
    EXPECT_EQ(beside::rewrite_for_build(R"(COPY "Odd Schema"."Mixed Case" ("Key") FROM stdin;)", n),
              R"(COPY "pix_build_Odd Schema"."Mixed Case" ("Key") FROM stdin;)");
    EXPECT_EQ(beside::rewrite_for_build("SELECT 'happy'::public.mood, ARRAY[]::public.mood[]", n),
              "SELECT 'happy'::pix_build_public.mood, ARRAY[]::pix_build_public.mood[]");
}

TEST(SqlRewrite, BodiesCommentsExtensionsAndOtherTextStayAsTheyAre) {
    const auto n = names();
    // A PL/pgSQL body runs under the live names once swapped in; an extension's member is the target's.
    const std::string body = "CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $_$ BEGIN PERFORM public.users; END $_$;";
    EXPECT_EQ(beside::rewrite_for_build(body, n),
              "CREATE FUNCTION pix_build_public.f() RETURNS trigger LANGUAGE plpgsql AS $_$ BEGIN PERFORM public.users; END $_$;");
    EXPECT_EQ(beside::rewrite_for_build("CREATE INDEX i ON public.users USING gin (name public.gin_trgm_ops);", n),
              "CREATE INDEX i ON pix_build_public.users USING gin (name public.gin_trgm_ops);");
    EXPECT_EQ(beside::rewrite_for_build("COMMENT ON TABLE public.users IS 'see public.users -- not a comment';", n),
              "COMMENT ON TABLE pix_build_public.users IS 'see public.users -- not a comment';");
    EXPECT_EQ(beside::rewrite_for_build("-- public.users\nSELECT E'public.users', \"public\".users /* public.users */", n),
              "-- public.users\nSELECT E'public.users', pix_build_public.users /* public.users */");
    EXPECT_EQ(beside::rewrite_for_build("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;", n),
              "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;");
    // BEGIN ATOMIC bodies are SQL, parsed at creation: their names go to the build schema, and
    // come back as the live ones once moved.
    EXPECT_EQ(beside::rewrite_for_build("CREATE FUNCTION public.f() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM public.users; END;", n),
              "CREATE FUNCTION pix_build_public.f() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM pix_build_public.users; END;");
}

TEST(SqlRewrite, TheNamesComeFromThePlanLeavingOutKeptAndExcludedEntries) {
    RestorePlan plan;
    plan.entries = {toc_entry(1, "TABLE", "public", "users"), toc_entry(2, "TABLE", "public", "answers"),
                    toc_entry(3, "FUNCTION", "public", "f(integer)"), toc_entry(4, "TABLE", "public", "secret"),
                    toc_entry(5, "CONSTRAINT", "public", "users users_pkey", {1}), toc_entry(6, "EXTENSION", "-", "pg_trgm")};
    plan.entries[0].table = "public.users";
    plan.entries[4].table = "public.users";
    plan.entries[1].fate = Fate::kept;
    plan.entries[3].fate = Fate::excluded;
    auto n = beside::build_names(plan, [](const std::string& s) { return "b_" + s; });
    EXPECT_TRUE(n.built("public", "users"));
    EXPECT_TRUE(n.built("public", "f"));
    EXPECT_TRUE(n.built("public", "users_pkey"));  // the key's index, named by ATTACH PARTITION
    EXPECT_FALSE(n.built("public", "answers"));
    EXPECT_FALSE(n.built("public", "secret"));
    EXPECT_EQ(n.schema_of("public"), "b_public");
    EXPECT_EQ(n.schemas.size(), 1u);
    EXPECT_EQ(beside::build_search_path(n), "SET search_path = b_public, public");
}

TEST(BuildPlan, SchemaThenLoadsThenWorkAndWhatHangsOnKeptTablesAfterTheSwap) {
    RestorePlan plan;
    plan.entries = {toc_entry(1, "SCHEMA", "-", "analytics"), toc_entry(2, "TABLE", "public", "users"),
                    toc_entry(3, "TABLE DATA", "public", "users", {2}), toc_entry(4, "INDEX", "public", "users_idx", {2}),
                    toc_entry(5, "COMMENT", "public", "INDEX users_idx", {4}), toc_entry(6, "TABLE", "public", "answers"),
                    toc_entry(7, "FK CONSTRAINT", "public", "answers answers_user_fkey", {6, 2}),
                    toc_entry(8, "MATERIALIZED VIEW DATA", "public", "stats", {2}), toc_entry(9, "COMMENT", "-", "SCHEMA analytics", {1}),
                    toc_entry(10, "TABLE DATA", "public", "small", {}), toc_entry(11, "ACL", "public", "TABLE users", {2})};
    for (int i : {1, 2, 3}) plan.entries[i].table = "public.users";
    plan.entries[5].table = plan.entries[6].table = "public.answers";
    plan.entries[9].table = "public.small";
    plan.entries[1].sql = "CREATE TABLE public.users (id integer);";
    plan.entries[2].copy = "COPY public.users (id) FROM stdin;";
    plan.entries[2].rows = 10;
    plan.entries[9].copy = "COPY public.small (id) FROM stdin;";
    plan.entries[9].rows = 1000;
    plan.entries[3].sql = "CREATE INDEX users_idx ON public.users (id);";
    plan.entries[5].fate = Fate::kept;
    auto n = beside::build_names(plan, [](const std::string& s) { return "b_" + s; });
    auto b = beside::build_plan(plan, {}, n);
    ASSERT_EQ(b.schema.size(), 1u);  // the schema is made by the build, the ACL left out
    EXPECT_EQ(b.schema[0].sql, "CREATE TABLE b_public.users (id integer);");
    ASSERT_EQ(b.loads.size(), 2u);
    EXPECT_EQ(b.loads[0].table, "public.small");  // biggest first
    EXPECT_EQ(b.loads[1].copy, "COPY b_public.users (id) FROM stdin;");
    ASSERT_EQ(b.work.size(), 3u);
    EXPECT_EQ(b.work[0].sql.back(), "CREATE INDEX users_idx ON b_public.users (id);");
    EXPECT_EQ(b.work[0].table, "public.users");
    EXPECT_EQ(b.work[1].kind, "COMMENT");  // on the index: once the index is made
    ASSERT_EQ(b.work[1].after.size(), 1u);
    EXPECT_EQ(raw(b.work[1].after[0]), 4);
    EXPECT_EQ(b.work[2].kind, "MATERIALIZED VIEW DATA");
    EXPECT_EQ(b.work[2].table, "");  // after every table is loaded
    ASSERT_EQ(b.after_swap.size(), 2u);  // the kept table's foreign key, the live schema's comment
    EXPECT_EQ(b.after_swap[0].kind, "FK CONSTRAINT");
    EXPECT_EQ(b.after_swap[1].label, "SCHEMA analytics");
    EXPECT_EQ(beside::unbuildable(plan), "");
    plan.entries.push_back(toc_entry(12, "BLOBS", "-", "BLOBS"));
    EXPECT_NE(beside::unbuildable(plan).find("large objects"), std::string::npos);
}

TEST(SwapSql, MovesByNameAndThePreviousCopySaysWhatItWas) {
    EXPECT_EQ(beside::move_statement({"TABLE", "b_public", "Mixed Case", ""}, "public"), R"(ALTER TABLE b_public."Mixed Case" SET SCHEMA public)");
    EXPECT_EQ(beside::move_statement({"FUNCTION", "b_public", "f", "x integer"}, "public"), "ALTER ROUTINE b_public.f(x integer) SET SCHEMA public");
    EXPECT_EQ(beside::move_statement({"AGGREGATE", "b_public", "total", "integer"}, "public"), "ALTER AGGREGATE b_public.total(integer) SET SCHEMA public");
    EXPECT_EQ(beside::move_statement({"AGGREGATE", "b_public", "cat", "ORDER BY text"}, "public"), "ALTER AGGREGATE b_public.cat(ORDER BY text) SET SCHEMA public");
    EXPECT_EQ(beside::move_statement({"OPERATOR", "b_public", "=@=", "text, text"}, "public"), "ALTER OPERATOR b_public.=@= (text, text) SET SCHEMA public");
    EXPECT_EQ(beside::move_statement({"OPERATOR FAMILY", "b_public", "fam", "gist"}, "public"), "ALTER OPERATOR FAMILY b_public.fam USING gist SET SCHEMA public");
    EXPECT_EQ(beside::move_statement({"COLLATION", "b_public", "ci", ""}, "public"), "ALTER COLLATION b_public.ci SET SCHEMA public");
    EXPECT_EQ(beside::move_statement({"TEXT SEARCH DICTIONARY", "b_public", "fr", ""}, "public"), "ALTER TEXT SEARCH DICTIONARY b_public.fr SET SCHEMA public");
    std::string schema;
    std::vector<std::string> stayed;
    ASSERT_TRUE(beside::read_previous_comment(beside::previous_comment("public", {"TABLE answers"}), schema, stayed));
    EXPECT_EQ(schema, "public");
    EXPECT_EQ(stayed, std::vector<std::string>{"TABLE answers"});
    EXPECT_FALSE(beside::read_previous_comment("an analyst's comment", schema, stayed));
}

TEST(SwapSql, TonightsTablesAreLockedInOneStatementBeforeAnythingLive) {
    EXPECT_EQ(beside::lock_statement({{"TABLE", "b_public", "Mixed Case", ""}, {"VIEW", "b_public", "v", ""},
                                      {"MATERIALIZED VIEW", "b_public", "mv", ""}, {"FUNCTION", "b_public", "f", "x integer"}}),
              R"(LOCK TABLE b_public."Mixed Case" IN ACCESS EXCLUSIVE MODE)");
    EXPECT_EQ(beside::lock_statement({{"SEQUENCE", "b_public", "s", ""}}), "") << "nothing to lock, no statement";
}

TEST(SqlRewrite, OnlyALiteralReadAsANameIsRewrittenNeverOneThatIsText) {
    const auto n = names();
    EXPECT_EQ(beside::rewrite_for_build("SELECT 'public.users'::text, 'public.users', 'public.users'::regclass, 'public.users' :: pg_catalog.regclass", n),
              "SELECT 'public.users'::text, 'public.users', 'pix_build_public.users'::regclass, 'pix_build_public.users' :: pg_catalog.regclass");
    EXPECT_EQ(beside::rewrite_for_build("SELECT upper('public.users'), concat('public.users', 'x'), currval( 'public.users_id_seq' )", n),
              "SELECT upper('public.users'), concat('public.users', 'x'), currval( 'pix_build_public.users_id_seq' )");
    EXPECT_EQ(beside::rewrite_for_build("CREATE INDEX i ON public.users USING gin (to_tsvector('public.f'::regconfig, bio));", n),
              "CREATE INDEX i ON pix_build_public.users USING gin (to_tsvector('pix_build_public.f'::regconfig, bio));");
}

TEST(SqlRewrite, OperatorsBuiltTonightFollowTheirSchemaOthersStay) {
    auto n = names();
    n.objects.emplace("public", "=@=");
    EXPECT_EQ(beside::rewrite_for_build("CREATE OPERATOR public.=@= (FUNCTION = public.f, COMMUTATOR = OPERATOR(public.=@=));", n),
              "CREATE OPERATOR pix_build_public.=@= (FUNCTION = pix_build_public.f, COMMUTATOR = OPERATOR(pix_build_public.=@=));");
    EXPECT_EQ(beside::rewrite_for_build("SELECT a OPERATOR(public.=@=) b, a OPERATOR(pg_catalog.=) b, a OPERATOR(public.=@) b, x.* FROM t x", n),
              "SELECT a OPERATOR(pix_build_public.=@=) b, a OPERATOR(pg_catalog.=) b, a OPERATOR(public.=@) b, x.* FROM t x");
}

TEST(SqlRewrite, WhatAStepsSqlCreatesWhereItSaysIsBuiltTonight) {
    EXPECT_EQ(beside::created_names("CREATE OR REPLACE VIEW public.students AS SELECT 1"),
              (std::vector<std::pair<std::string, std::string>>{{"public", "students"}}));
    EXPECT_EQ(beside::created_names("create materialized view if not exists \"Odd\".\"Mv\" as select 1; CREATE TABLE t (x int)"),
              (std::vector<std::pair<std::string, std::string>>{{"Odd", "Mv"}}));
    EXPECT_TRUE(beside::created_names("CREATE INDEX i ON public.users (x); SELECT 'CREATE VIEW public.v'").empty());
    auto n = names();
    n.kept.emplace("public", "answers");
    n.add_created("CREATE VIEW public.students AS SELECT * FROM public.users; CREATE VIEW other.v AS SELECT 1");
    n.add_created("CREATE TABLE public.answers (x int)");
    EXPECT_TRUE(n.built("public", "students"));
    EXPECT_FALSE(n.built("other", "v")) << "a schema nothing is built in stays live";
    EXPECT_FALSE(n.built("public", "answers")) << "a kept table stays live";
    EXPECT_EQ(beside::rewrite_for_build("CREATE VIEW public.students AS SELECT * FROM public.users", n),
              "CREATE VIEW pix_build_public.students AS SELECT * FROM pix_build_public.users");
}

TEST(ObjectKinds, OneTableSaysWhereEachKindIsBuiltAndHowItIsNamed) {
    for (const char* kind : {"TABLE", "VIEW", "OPERATOR", "OPERATOR CLASS", "OPERATOR FAMILY", "COLLATION", "CONVERSION", "TEXT SEARCH CONFIGURATION",
                             "TEXT SEARCH DICTIONARY", "FUNCTION", "AGGREGATE", "TYPE", "DOMAIN", "STATISTICS"}) {
        ASSERT_NE(beside::object_kind(kind), nullptr) << kind;
        EXPECT_TRUE(beside::built_beside(kind)) << kind;
        EXPECT_FALSE(beside::object_kind(kind)->listing.catalog.empty()) << kind << ": the swap must find it to move it";
    }
    for (const char* kind : {"PUBLICATION", "EXTENSION", "SCHEMA", "INDEX", "POLICY", "ACL", "CAST"}) EXPECT_FALSE(beside::built_beside(kind)) << kind;
    EXPECT_EQ(beside::object_kind("PUBLICATION")->placement, beside::Placement::database);
    EXPECT_EQ(beside::object_kind("EXTENSION")->placement, beside::Placement::target);
    EXPECT_EQ(beside::object_kind("NO SUCH KIND"), nullptr);
    const std::string sql = beside::catalog_objects_sql();
    for (const char* catalog : {"pg_operator", "pg_opclass", "pg_opfamily", "pg_ts_config", "pg_ts_dict", "pg_collation", "pg_conversion"})
        EXPECT_NE(sql.find(catalog), std::string::npos) << catalog;
}

TEST(BuildPlan, ExtensionsSchemasPublicationsAndViewsThatReadThroughRunTimeBodies) {
    RestorePlan plan;
    plan.entries = {toc_entry(1, "SCHEMA", "-", "ext"), toc_entry(2, "EXTENSION", "-", "citext", {1}),
                    toc_entry(3, "TABLE", "public", "users"), toc_entry(4, "FUNCTION", "public", "user_total()"),
                    toc_entry(5, "MATERIALIZED VIEW", "public", "totals", {4}), toc_entry(6, "MATERIALIZED VIEW DATA", "public", "totals", {5}),
                    toc_entry(7, "MATERIALIZED VIEW", "public", "plain", {3}), toc_entry(8, "MATERIALIZED VIEW DATA", "public", "plain", {7}),
                    toc_entry(9, "PUBLICATION", "-", "analytics"), toc_entry(10, "PUBLICATION TABLE", "public", "analytics users", {9, 3})};
    plan.entries[2].table = "public.users";
    plan.entries[3].sql = "CREATE FUNCTION public.user_total() RETURNS bigint\n    LANGUAGE plpgsql\n    AS $$ BEGIN RETURN 1; END $$;";
    plan.entries[5].sql = "REFRESH MATERIALIZED VIEW public.totals;\n";
    plan.entries[8].sql = "CREATE PUBLICATION analytics WITH (publish = 'insert');";
    EXPECT_EQ(beside::extension_schemas(plan), std::vector<std::string>{"ext"});
    EXPECT_EQ(beside::refreshed_after_swap(plan), std::set<DumpId>{DumpId{6}});
    auto n = beside::build_names(plan, [](const std::string& s) { return "b_" + s; });
    auto b = beside::build_plan(plan, {}, n);
    EXPECT_EQ(b.in_place_schemas, std::vector<std::string>{"ext"});
    ASSERT_EQ(b.after_swap.size(), 3u);
    EXPECT_EQ(b.after_swap[0].kind, "MATERIALIZED VIEW DATA");
    EXPECT_EQ(b.after_swap[0].sql.back(), "REFRESH MATERIALIZED VIEW public.totals;\n") << "on the live names";
    EXPECT_EQ(b.after_swap[1].sql[1], "DROP PUBLICATION IF EXISTS analytics") << "yesterday's goes first";
    EXPECT_EQ(b.after_swap[2].kind, "PUBLICATION TABLE");
    // In the build, the view gets yesterday's rows where it can (never unpopulated for readers).
    bool tolerant = false;
    for (const auto& w : b.work)
        if (w.kind == "MATERIALIZED VIEW DATA" && w.sql.back().find("REFRESH MATERIALIZED VIEW b_public.totals") != std::string::npos)
            tolerant = w.sql.back().rfind("DO $pixrep$", 0) == 0;
    EXPECT_TRUE(tolerant);
}

TEST(BuildPlan, AnExtensionsConfigurationRowsAreTheDataOfATableThePlanDoesNotDefine) {
    RestorePlan plan;
    plan.entries = {toc_entry(1, "TABLE", "public", "users"), toc_entry(2, "TABLE DATA", "public", "users", {1}),
                    toc_entry(3, "TABLE DATA", "public", "spatial_ref_sys")};
    plan.entries[0].table = plan.entries[1].table = "public.users";
    EXPECT_FALSE(beside::extension_config_data(plan, plan.entries[1]));
    EXPECT_TRUE(beside::extension_config_data(plan, plan.entries[2]));
    EXPECT_FALSE(beside::extension_config_data(plan, plan.entries[0]));
}
