// The live source's pure parts: its plan made from the schema and the catalog, the key ranges
// that cut a big table, the URL read once, the pg_dump chosen.
#include <gtest/gtest.h>

#include <pixrep/step.hpp>

#include "live_plan.hpp"
#include "pg_dump.hpp"
#include "source_url.hpp"

using namespace pixrep;
using namespace pixrep::live;

namespace {

TocEntry entry(int id, std::string desc, std::string tag, std::string oid) {
    TocEntry e;
    e.id = DumpId{id}, e.desc = std::move(desc), e.schema = "public", e.tag = tag, e.catalog_id = "1259 " + oid, e.table = "public." + tag;
    return e;
}

}  // namespace

TEST(LivePlan, DataEntriesBiggestFirstThenSequenceValuesBeforeThePostDataSection) {
    RestorePlan schema;
    schema.entries = {entry(3, "TABLE", "users", "100"), entry(4, "SEQUENCE", "users_id_seq", "101"), entry(5, "TABLE", "answers", "102"),
                      entry(6, "VIEW", "students", "103"), entry(7, "CONSTRAINT", "users users_pkey", "104"),
                      entry(8, "TABLE", "Parent Part", "105")};
    auto plan = live_plan(schema, {{"100", "id, \"firstName\"", 10, "id"}, {"102", "id, result", 5000, "id"}}, {{"101", "42", true}});
    ASSERT_EQ(plan.entries.size(), 9u);
    // TABLE users, SEQUENCE, TABLE answers, VIEW, then the data: answers (biggest), users, the value.
    EXPECT_EQ(plan.entries[4].desc, "TABLE DATA");
    EXPECT_EQ(plan.entries[4].tag, "answers");
    EXPECT_EQ(plan.entries[4].copy, "COPY public.answers (id, result) FROM stdin;\n");
    EXPECT_EQ(plan.entries[4].deps, std::vector<DumpId>{DumpId{5}});
    EXPECT_EQ(plan.entries[4].table, "public.answers");
    EXPECT_EQ(plan.entries[4].rows, -1) << "counted as the rows arrive, not before";
    EXPECT_EQ(plan.entries[5].tag, "users");
    EXPECT_EQ(plan.entries[5].copy, "COPY public.users (id, \"firstName\") FROM stdin;\n");
    EXPECT_EQ(plan.entries[6].desc, "SEQUENCE SET");
    EXPECT_EQ(plan.entries[6].sql, "SELECT pg_catalog.setval('public.users_id_seq', 42, true);\n");
    EXPECT_EQ(plan.entries[7].desc, "CONSTRAINT");
    // New ids after the largest; the partitioned parent (no SourceTable) has no data entry.
    EXPECT_EQ(raw(plan.entries[4].id), 9);
    EXPECT_EQ(raw(plan.entries[6].id), 11);
    for (const auto& e : plan.entries) EXPECT_FALSE(e.desc == "TABLE DATA" && e.tag == "Parent Part");
}

TEST(LivePlan, PopulatedMaterializedViewsAreRefreshedAtTheEnd) {
    RestorePlan schema;
    schema.entries = {entry(1, "MATERIALIZED VIEW", "counts", "500"), entry(2, "MATERIALIZED VIEW", "empty", "501"), entry(3, "INDEX", "counts_idx", "502")};
    auto plan = live::live_plan(schema, {}, {}, {"500"});
    ASSERT_EQ(plan.entries.size(), 4u);
    EXPECT_EQ(plan.entries.back().desc, "MATERIALIZED VIEW DATA");
    EXPECT_EQ(plan.entries.back().sql, "REFRESH MATERIALIZED VIEW public.counts;\n");
    EXPECT_EQ(plan.entries.back().deps, std::vector<DumpId>{DumpId{1}});
}

TEST(LiveDb, ALostSnapshotIsToldFromOtherInvalidValues) {
    EXPECT_TRUE(live::lost_snapshot("22023", "ERROR:  invalid snapshot identifier: \"00000003-0000001B-1\""));
    EXPECT_FALSE(live::lost_snapshot("22023", "ERROR:  invalid value for parameter"));
    EXPECT_FALSE(live::lost_snapshot("57P01", "invalid snapshot identifier"));
}

TEST(LivePlan, KeyRangesTakeEveryRowOnce) {
    EXPECT_EQ(key_ranges("id", 1, 100, 1), std::vector<std::string>{""});
    EXPECT_EQ(key_ranges("id", 5, 5, 4), std::vector<std::string>{""});
    EXPECT_EQ(key_ranges("id", 1, 100, 4),
              (std::vector<std::string>{"id < 26", "id >= 26 AND id < 51", "id >= 51 AND id < 76", "id >= 76"}));
    EXPECT_EQ(key_ranges("\"userId\"", -10, 10, 2), (std::vector<std::string>{"\"userId\" < 1", "\"userId\" >= 1"}));
    // Fewer keys than parts: as many ranges as keys.
    EXPECT_EQ(key_ranges("id", 1, 2, 8), (std::vector<std::string>{"id < 2", "id >= 2"}));
}

TEST(SourceUrl, EveryFormWithThePasswordOnlyWhereItMustBe) {
    auto u = parse_source_url("postgres://reader:s%40cret@db.example.net:30123/pix_prod?sslmode=require");
    EXPECT_EQ(u.password, "s@cret");
    EXPECT_EQ(u.where, "reader@db.example.net:30123/pix_prod");
    EXPECT_EQ(u.label, "SOURCE_DATABASE_URL") << "the history and the page never name the source's user, host or database";
    EXPECT_EQ(u.conninfo_public.find("s@cret"), std::string::npos);
    EXPECT_NE(u.conninfo_public.find("sslmode='require'"), std::string::npos);
    EXPECT_NE(u.conninfo_public.find("keepalives_idle='60'"), std::string::npos) << "Scalingo's proxy cuts silent connections";
    EXPECT_NE(u.conninfo.find("password='s@cret'"), std::string::npos);
}

TEST(SourceUrl, TlsByDefaultAndTheKeysPassphraseOffTheCommandLine) {
    auto u = parse_source_url("postgres://reader:pw@db.example.net:30123/pix_prod?sslkey=/k.pem&sslpassword=k3y-pass");
    EXPECT_NE(u.conninfo_public.find("sslmode='require'"), std::string::npos) << "libpq's prefer would read in clear text";
    EXPECT_EQ(u.sslpassword, "k3y-pass");
    EXPECT_EQ(u.conninfo_public.find("k3y-pass"), std::string::npos) << "pg_dump's command line is readable in /proc";
    EXPECT_NE(u.conninfo.find("sslpassword='k3y-pass'"), std::string::npos);
    EXPECT_EQ(parse_source_url("postgres://r@127.0.0.1:5432/d").conninfo_public.find("sslmode"), std::string::npos);
    EXPECT_NE(parse_source_url("postgres://r@db.example.net/d?sslmode=verify-ca").conninfo_public.find("sslmode='verify-ca'"), std::string::npos);
}

TEST(SourceUrl, ABadUrlNamesTheVariableNeverItsContent) {
    for (const std::string bad : {"", "postgres://u:hunter2@h:5432/d?nosuch=1", "host='unterminated hunter2"}) {
        try {
            parse_source_url(bad);
            ADD_FAILURE() << bad;
        } catch (const StepError& e) {
            EXPECT_EQ(e.kind(), ErrorKind::config);
            EXPECT_NE(std::string(e.what()).find("SOURCE_DATABASE_URL"), std::string::npos);
            EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
        }
    }
}

TEST(PgDump, TheSourcesOwnVersionElseTheOldestNewerOne) {
    std::vector<Tool> found{{"/a/pg_dump", "18.1", 18}, {"/b/pg_dump", "15.8", 15}, {"/c/pg_dump", "17.6", 17}};
    EXPECT_EQ(pick_pg_dump(found, 17)->path, "/c/pg_dump");
    EXPECT_EQ(pick_pg_dump(found, 16)->path, "/c/pg_dump");
    EXPECT_EQ(pick_pg_dump(found, 14)->path, "/b/pg_dump");
    EXPECT_EQ(pick_pg_dump(found, 19), nullptr);
}

TEST(PgDump, NoSecretOnItsCommandLine) {
    auto u = parse_source_url("postgres://reader:pw-s3cret@db.example.net:30123/pix_prod?sslkey=/k.pem&sslpassword=k3y-pass");
    const Tool pg_dump{"/usr/lib/postgresql/17/bin/pg_dump", "17.6"};
    const auto spec = pg_dump_spec(pg_dump, u, {"/tmp/run/source.dump", "00000003-1", false, 2}, "/tmp/run/pg_service_source.conf");
    for (const auto& a : spec.argv) {
        EXPECT_EQ(a.find("pw-s3cret"), std::string::npos) << a << ": readable by anyone in /proc";
        EXPECT_EQ(a.find("k3y-pass"), std::string::npos) << a;
    }
    std::map<std::string, std::string> env(spec.env.begin(), spec.env.end());
    EXPECT_EQ(env["PGPASSWORD"], "pw-s3cret");
    EXPECT_EQ(env["PGSERVICEFILE"], "/tmp/run/pg_service_source.conf") << "the passphrase is in a 0600 file of the run's own";
    EXPECT_NE(spec.argv[4].find("service=pix-db-replication-source"), std::string::npos) << spec.argv[4];
    EXPECT_NE(spec.argv[4].find("sslmode='require'"), std::string::npos);
}
