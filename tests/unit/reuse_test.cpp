// The decision to keep yesterday's copy of a table: its definition's hash, what the tool
// remembers, and each reason to rebuild.
#include <gtest/gtest.h>

#include "digest.hpp"
#include "unchanged.hpp"

using namespace pixrep;
using namespace pixrep::reuse;

namespace {

TocEntry entry(int id, std::string desc, std::string tag, std::string table, std::string sql, std::vector<int> deps = {}) {
    TocEntry e;
    e.id = DumpId{id}, e.desc = std::move(desc), e.schema = "public", e.tag = std::move(tag), e.table = std::move(table), e.sql = std::move(sql);
    for (int d : deps) e.deps.push_back(DumpId{d});
    return e;
}

RestorePlan users_plan() {
    RestorePlan p;
    p.entries.push_back(entry(1, "SCHEMA", "public", "", "CREATE SCHEMA public;"));
    p.entries.push_back(entry(2, "TYPE", "mood", "", "CREATE TYPE public.mood AS ENUM ('a', 'b');"));
    p.entries.push_back(entry(3, "TABLE", "users", "public.users", "CREATE TABLE public.users (id integer, m public.mood);", {1, 2}));
    p.entries.push_back(entry(4, "TABLE DATA", "users", "public.users", "", {3}));
    p.entries[3].copy = "COPY public.users (id, m) FROM stdin;";
    p.entries.push_back(entry(5, "CONSTRAINT", "users users_pkey", "public.users", "ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);", {3}));
    p.entries.push_back(entry(6, "INDEX", "users_m_idx", "public.users", "CREATE INDEX users_m_idx ON public.users USING btree (m);", {3}));
    return p;
}

const std::string kRows(64, 'a');

}  // namespace

TEST(Digest, Sha256OfKnownText) {
    common::Sha256 h;
    h.update("ab", 2), h.update("c", 1);
    EXPECT_EQ(h.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Reuse, TheDefinitionCoversWhatHangsOnTheTableAndWhatItStandsOn) {
    auto plan = users_plan();
    const std::string base = definition_of(plan, plan.entries[2]);
    EXPECT_EQ(base.size(), 64u);
    EXPECT_EQ(definition_of(users_plan(), users_plan().entries[2]), base) << "deterministic";
    auto changed = [&](auto edit) {
        auto p = users_plan();
        edit(p);
        return definition_of(p, p.entries[2]) != base;
    };
    EXPECT_TRUE(changed([](RestorePlan& p) { p.entries[1].sql = "CREATE TYPE public.mood AS ENUM ('a', 'b', 'c');"; })) << "a type it uses";
    EXPECT_TRUE(changed([](RestorePlan& p) { p.entries[5].sql = "CREATE INDEX users_m_idx ON public.users USING hash (m);"; })) << "an index";
    EXPECT_TRUE(changed([](RestorePlan& p) { p.entries[5].fate = Fate::excluded; })) << "an index left out by a rule";
    EXPECT_TRUE(changed([](RestorePlan& p) { p.entries[3].copy = "COPY public.users (m, id) FROM stdin;"; })) << "the columns' order";
    EXPECT_FALSE(changed([](RestorePlan& p) { p.entries[0].sql = "CREATE SCHEMA public; -- x"; })) << "the schema is not the table's";
    EXPECT_FALSE(changed([](RestorePlan& p) { std::swap(p.entries[4], p.entries[5]); })) << "the archive's order";
    EXPECT_EQ(planned_indexes(plan, plan.entries[2]), (std::vector<std::string>{"users_pkey", "users_m_idx"}));
}

TEST(Reuse, OnlyPlainTablesAreEligible) {
    auto plan = users_plan();
    EXPECT_EQ(ineligible(plan, plan.entries[2]), "it uses TYPE public.mood");
    plan.entries[2].deps = {DumpId{1}};
    EXPECT_EQ(ineligible(plan, plan.entries[2]), "");
    plan.entries.push_back(entry(7, "TRIGGER", "users audit", "public.users", "CREATE TRIGGER audit ...;", {3}));
    EXPECT_EQ(ineligible(plan, plan.entries[2]), "it has a TRIGGER (users audit)");
    plan.entries.back().fate = Fate::excluded;
    EXPECT_EQ(ineligible(plan, plan.entries[2]), "");
    plan.entries.push_back(entry(8, "TABLE", "users_2025", "public.users_2025", "CREATE TABLE public.users_2025 (id integer);", {3}));
    EXPECT_EQ(ineligible(plan, plan.entries[2]), "TABLE public.users_2025 stands on it");
    plan.entries[2].sql = "CREATE TABLE public.users (id integer)\nPARTITION BY RANGE (id);";
    EXPECT_EQ(ineligible(plan, plan.entries[2]), "a partition, a partitioned table or an inheriting one");
}

TEST(Reuse, RememberedTextRoundTripsAndAnythingElseForgets) {
    Remembered r{std::string(64, 'd'), kRows, 16384};
    auto back = parse(format(r));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->definition, r.definition);
    EXPECT_EQ(back->rows, r.rows);
    EXPECT_EQ(back->node, 16384);
    EXPECT_FALSE(back->changed) << "a text of before the flag reads as unchanged";
    r.changed = true;
    back = parse(format(r));
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->changed);
    EXPECT_EQ(back->node, 16384);
    // A masked table's: its masking's fingerprint after a "+".
    const std::string masked = std::string(64, 'd') + "+" + std::string(64, 'f');
    back = parse(format({masked, kRows, 7}));
    ASSERT_TRUE(back) << "a masked table is remembered too";
    EXPECT_EQ(back->definition, masked);
    EXPECT_FALSE(parse(format({std::string(64, 'd') + "-x", kRows, 7})));
    for (const std::string& bad : std::vector<std::string>{"", "definition=x rows=y node=1", "rows=a definition=b node=c", "definition= rows= node=12x",
                                                           format(r) + " more", format({r.definition, r.rows, 1}) + " changes"})
        EXPECT_FALSE(parse(bad)) << bad;
}

TEST(Reuse, EachReasonToRebuild) {
    const std::string def(64, 'd');
    const Remembered last{def, kRows, 100};
    const TargetTable same{true, 100, {"users_m_idx", "users_pkey"}};
    const std::vector<std::string> planned{"users_pkey", "users_m_idx"};
    EXPECT_EQ(judge(std::nullopt, def, same, planned).why, "no record of an earlier restore");
    EXPECT_EQ(judge(last, std::string(64, 'e'), same, planned).why, "its definition changed");
    EXPECT_EQ(judge(last, def, TargetTable{}, planned).why, "not on the target");
    EXPECT_EQ(judge(last, def, TargetTable{true, 101, same.indexes}, planned).why, "rewritten on the target since the last restore");
    EXPECT_EQ(judge(last, def, TargetTable{true, 100, {"users_createdAt_idx", "users_m_idx", "users_pkey"}}, planned).why,
              "has indexes the backup does not make (users_createdAt_idx), made again by a later step");
    EXPECT_TRUE(judge(last, def, same, planned).reuse);
    EXPECT_TRUE(judge(last, def, TargetTable{true, 100, {"users_pkey"}}, planned).reuse) << "an index the backup adds is built on the kept table";
    EXPECT_EQ(judge_rows(last, "").why, "its rows were not checksummed (a dump compressed other than with gzip)");
    EXPECT_EQ(judge_rows(last, std::string(64, 'b')).why, "its rows changed");
    EXPECT_TRUE(judge_rows(last, kRows).reuse);
    EXPECT_TRUE(judge_changing(last).reuse) << "unchanged at the last restore: tonight's checksum decides";
    EXPECT_EQ(judge_changing({def, kRows, 100, true}).why, "its rows changed at the last restore too, so tonight's checksum is not waited for");
}

TEST(Reuse, ALiveSourcesRowsRoundTripBesideABackupsChecksum) {
    const LiveRows live{4294967301ULL, 1200, 37};
    EXPECT_EQ(format_live(live), "live:4294967301:1200:37");
    auto back = parse_live(format_live(live));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->xmin, 4294967301ULL);
    EXPECT_EQ(back->rows, 1200);
    EXPECT_EQ(back->writes, 37);
    EXPECT_TRUE(parse_live("live:10:0:-1"));
    for (const std::string& bad : std::vector<std::string>{"live:", "live:1:2", "live:1:2:3:4", "live:x:2:3", "live:1:-2:3", "live:1:2:-7", std::string(64, 'a')})
        EXPECT_FALSE(parse_live(bad)) << bad;
    const std::string def(64, 'd');
    auto r = parse(format({def, format_live(live), 99}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rows, "live:4294967301:1200:37");
    EXPECT_FALSE(parse("definition=" + def + " rows=live:1:2 node=99"));
}

TEST(Reuse, ALiveSourcesTableIsCountedOnlyWhenNothingSaysItWasWritten) {
    const std::string last = format_live({1000, 50, 7});
    EXPECT_TRUE(judge_live(last, {1000, 1000}, 7).reuse);
    EXPECT_TRUE(judge_live(last, {5000, 5100}, 7).reuse);
    EXPECT_TRUE(judge_live(last, {5000, 5100}, -1).reuse) << "no statistics: the count decides";
    auto v = judge_live(last, {5000, 5100}, 9);
    EXPECT_FALSE(v.reuse);
    EXPECT_NE(v.why.find("its statistics count 2 row(s)"), std::string::npos) << v.why;
    EXPECT_FALSE(judge_live(last, {900, 5100}, 7).reuse) << "transactions behind: another server";
    EXPECT_FALSE(judge_live(last, {1000, 1000 + (1ULL << 30)}, 7).reuse) << "ages no longer order xids";
    v = judge_live(std::string(64, 'a'), {5000, 5100}, 7);
    EXPECT_FALSE(v.reuse);
    EXPECT_NE(v.why.find("from a backup"), std::string::npos);
}

TEST(Reuse, ALiveSourcesCountDecides) {
    const LiveRows last{(5ULL << 32) + 1234, 50, 7};
    // The 32-bit xid of the snapshot's xmin, ordered by age() against every row's.
    EXPECT_EQ(live_count_sql("\"public\".\"t\"", last),
              "SELECT count(*)::text || ' ' || count(*) FILTER (WHERE age(xmin) <= age('1234'::xid))::text FROM ONLY \"public\".\"t\"");
    EXPECT_TRUE(judge_live_count(last, "50 0").reuse);
    auto v = judge_live_count(last, "50 1");
    EXPECT_FALSE(v.reuse);
    EXPECT_NE(v.why.find("1 row(s) written at the source since"), std::string::npos) << v.why;
    v = judge_live_count(last, "49 0");
    EXPECT_FALSE(v.reuse);
    EXPECT_NE(v.why.find("49 row(s) at the source, 50 at the last restore"), std::string::npos) << v.why;
    EXPECT_FALSE(judge_live_count(last, "").reuse);
    EXPECT_FALSE(judge_live_count(last, "fifty 0").reuse);
}

TEST(Reuse, ALiveTableThatChangedALittleTakesItsChangesByItsIntegerKey) {
    EXPECT_EQ(written_since_sql({(5ULL << 32) + 1234, 50, 7}), "age(xmin) <= age('1234'::xid)");
    ASSERT_TRUE(parse_live_count("1000 30").has_value());
    EXPECT_EQ(parse_live_count("1000 30")->written, 30);
    EXPECT_FALSE(parse_live_count("1000").has_value());
    EXPECT_FALSE(parse_live_count("1000 -1").has_value());
    EXPECT_TRUE(judge_changes({1000, 250}, "id", false, 0.25).reuse) << "a quarter written: at the share";
    auto v = judge_changes({1000, 251}, "id", false, 0.25);
    EXPECT_FALSE(v.reuse);
    EXPECT_NE(v.why.find("251 of its 1000 rows written"), std::string::npos) << v.why;
    v = judge_changes({1000, 1}, "", false, 0.25);
    EXPECT_FALSE(v.reuse);
    EXPECT_NE(v.why.find("no single-column integer primary key"), std::string::npos) << v.why;
    v = judge_changes({1000, 1}, "id", true, 0.25);
    EXPECT_FALSE(v.reuse);
    EXPECT_NE(v.why.find("masking rewrites its key"), std::string::npos) << v.why;
    EXPECT_TRUE(judge_changes({1000, 0}, "id", false, 0.25).reuse) << "rows deleted only";
}

TEST(Reuse, RowsDeletedAtTheSourceAreWhatTheChangedCopyHoldsBeyondIt) {
    // Yesterday 100 rows; tonight 10 written (4 of them new keys, 6 updates), 3 deleted: 101.
    EXPECT_EQ(rows_deleted(100, 10, 6, 101), 3);
    EXPECT_EQ(rows_deleted(100, 10, 6, 104), 0) << "nothing deleted";
    EXPECT_EQ(rows_deleted(100, 0, 0, 100), 0);
    EXPECT_LT(rows_deleted(90, 10, 6, 104), 0) << "the copy lost rows it should hold: rebuilt";
}
