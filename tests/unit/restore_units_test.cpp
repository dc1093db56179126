// pg-restore's units without PostgreSQL: reading pg_restore's progress, scheduling deferred
// work, deferring keys, and telling what a restore left out.
#include <gtest/gtest.h>

#include "toc_entry.hpp"

#include "keys.hpp"
#include "late_rows.hpp"
#include "progress.hpp"
#include "scheduler.hpp"
#include "verify.hpp"

using namespace pixrep;
using namespace pixrep::restore;

namespace {

TocEntry entry(int id, std::string desc, std::string tag, std::vector<int> deps = {}, std::string sql = "", std::string table = "") {
    TocEntry e = toc_entry(id, desc, "public", tag, deps);
    e.sql = std::move(sql), e.table = std::move(table);
    return e;
}

RestorePlan plan() {
    RestorePlan p;
    p.entries = {entry(218, "TABLE", "users", {}, "CREATE TABLE public.users (id integer);", "public.users"),
                 entry(3453, "TABLE DATA", "users", {218}, "", "public.users"),
                 entry(219, "TABLE", "answers", {}, "CREATE TABLE public.answers (id integer, \"userId\" integer);", "public.answers"),
                 entry(3454, "TABLE DATA", "answers", {219}, "", "public.answers"),
                 entry(3300, "CONSTRAINT", "users users_pkey", {218},
                       "ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_pkey PRIMARY KEY (id);", "public.users"),
                 entry(3301, "CONSTRAINT", "answers answers_pkey", {219},
                       "ALTER TABLE ONLY public.answers\n    ADD CONSTRAINT answers_pkey PRIMARY KEY (id);", "public.answers"),
                 entry(3400, "FK CONSTRAINT", "answers answers_userId_fkey", {219, 3300},
                       "ALTER TABLE ONLY public.answers\n    ADD CONSTRAINT \"answers_userId_fkey\" FOREIGN KEY (\"userId\") REFERENCES public.users(id);",
                       "public.answers"),
                 entry(3500, "INDEX", "answers_user_idx", {219}, "CREATE INDEX answers_user_idx ON public.answers (\"userId\");", "public.answers")};
    return p;
}

}  // namespace

TEST(Progress, FollowsParallelItemsAndLoadedTables) {
    auto p = plan();
    Progress pr(p);
    pr.line("pg_restore: connecting to database for restore", 0);
    pr.line("pg_restore: processing item 218 TABLE users", 0.1);
    pr.line("pg_restore: creating TABLE \"public.users\"", 0.1);
    pr.line("pg_restore: entering main parallel loop", 0.5);
    pr.line("pg_restore: launching item 3453 TABLE DATA users", 0.5);
    pr.line("pg_restore: launching item 3454 TABLE DATA answers", 0.6);
    EXPECT_EQ(pr.running(1.6), "TABLE DATA users (1s); TABLE DATA answers (1s)");
    pr.line("pg_restore: finished item 3453 TABLE DATA users", 2.5);
    EXPECT_EQ(pr.take_loaded(), std::vector<std::string>{"public.users"});
    pr.line("pg_restore: finished item 3454 TABLE DATA answers", 3.0);
    auto items = pr.take_finished();
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[0].desc, "TABLE");
    EXPECT_EQ(items[0].tag, "public.users");
    EXPECT_DOUBLE_EQ(items[0].end - items[0].start, 0.4);
    EXPECT_EQ(items[1].desc, "TABLE DATA");
    EXPECT_DOUBLE_EQ(items[1].end - items[1].start, 2.0);
    EXPECT_EQ(pr.done(), 3);
    EXPECT_EQ(pr.errors(), 0);
}

TEST(Progress, SerialRestoreWithoutIds) {
    auto p = plan();
    Progress pr(p);
    pr.line("pg_restore: creating TABLE \"public.users\"", 0);
    pr.line("pg_restore: processing data for table \"public.users\"", 1);
    pr.line("pg_restore: creating INDEX \"public.answers_user_idx\"", 3);
    pr.end(4);
    auto items = pr.take_finished();
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[1].desc, "TABLE DATA");
    EXPECT_EQ(items[1].tag, "public.users");
    EXPECT_EQ(pr.take_loaded(), std::vector<std::string>{"public.users"});
}

TEST(Progress, RealErrorsCountOnlyUnknownSessionSettingsDoNot) {
    auto p = plan();
    Progress pr(p);
    // pg_restore 17 into PostgreSQL 15, as observed: one such error per connection.
    for (int i = 0; i < 3; ++i) {
        pr.line("pg_restore: error: could not execute query: ERROR:  unrecognized configuration parameter \"transaction_timeout\"", i);
        pr.line("Command was: SET transaction_timeout = 0;", i);
    }
    pr.line("pg_restore:pg_restore: warning: errors ignored on restore: 3", 4);  // two workers' lines run together
    EXPECT_EQ(pr.errors(), 0);
    EXPECT_EQ(pr.harmless(), 3);
    EXPECT_EQ(pr.reported_ignored(), 3);
    EXPECT_EQ(pr.unknown_settings(), std::vector<std::string>{"transaction_timeout"});
    // The same error about a statement of the dump is a real one.
    pr.line("pg_restore: error: could not execute query: ERROR:  unrecognized configuration parameter \"foo\"", 5);
    pr.line("Command was: ALTER TABLE public.users SET (foo = 1);", 5);
    pr.line("pg_restore: error: could not execute query: ERROR:  relation \"users\" already exists", 6);
    EXPECT_EQ(pr.errors(), 2);
    ASSERT_EQ(pr.first_errors().size(), 2u);
    EXPECT_NE(pr.first_errors()[1].find("relation \"users\" already exists"), std::string::npos);
    EXPECT_EQ(pr.take_new_errors().size(), 2u);
}

TEST(Scheduler, WorkWaitsForItsTableAndForTheWorkItAwaits) {
    std::vector<Deferred> work{{"users_pkey", "CONSTRAINT", {"CREATE UNIQUE INDEX ..."}, "public.users", {DumpId{218}}, DumpId{3300}},
                               {"fk", "FK CONSTRAINT", {"ALTER ... NOT VALID"}, "", {DumpId{219}, DumpId{3300}}, DumpId{3400}},
                               {"answers index", "INDEX", {"CREATE INDEX ..."}, "public.answers", {}}};
    Scheduler s(work);
    EXPECT_FALSE(s.take());
    s.table_loaded("public.answers");
    EXPECT_EQ(s.take(), std::optional<std::size_t>(2));
    EXPECT_FALSE(s.take());
    s.table_loaded("public.users");
    EXPECT_EQ(s.take(), std::optional<std::size_t>(0));
    s.restore_over();
    EXPECT_FALSE(s.take()) << "the foreign key waits for the key it references, built by deferred work";
    s.done(0);
    EXPECT_EQ(s.take(), std::optional<std::size_t>(1));
    EXPECT_EQ(s.waiting(), 0u);
    EXPECT_EQ(s.pending(), 2u);
    s.done(1), s.done(2);
    EXPECT_EQ(s.pending(), 0u);
}

TEST(Scheduler, TwoForeignKeysBetweenAPairOfTablesNeverRunAtOnceKeysSharingATableDo) {
    auto fk = [](const std::string& table, const std::string& references) {
        return "ALTER TABLE ONLY " + table + "\n    ADD CONSTRAINT k FOREIGN KEY (x) REFERENCES " + references + "(id) NOT VALID;";
    };
    using Edge = std::pair<std::string, std::string>;
    EXPECT_EQ(foreign_key_tables(fk("public.stores", "public.staff")), std::optional<Edge>(Edge{"public.stores", "public.staff"}));
    EXPECT_EQ(foreign_key_tables("ALTER TABLE \"Odd Schema\".\"T\" ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES \"Odd Schema\".\"U\"(id)"),
              std::optional<Edge>(Edge{"\"Odd Schema\".\"T\"", "\"Odd Schema\".\"U\""}));
    EXPECT_FALSE(foreign_key_tables("CREATE INDEX i ON public.stores (x)"));
    Scheduler s({{"stores fk", "FK CONSTRAINT", {"SET search_path = ''", fk("public.stores", "public.staff")}, "", {}},
                 {"staff fk", "FK CONSTRAINT", {fk("public.staff", "public.stores")}, "", {}},
                 {"answers fk", "FK CONSTRAINT", {fk("public.answers", "public.staff")}, "", {}},
                 {"stores index", "INDEX", {"CREATE INDEX i ON public.stores (x)"}, "", {}},
                 {"a", "FK CONSTRAINT", {fk("public.a", "public.b")}, "", {}}, {"b", "FK CONSTRAINT", {fk("public.b", "public.c")}, "", {}},
                 {"c", "FK CONSTRAINT", {fk("public.c", "public.a")}, "", {}}});
    s.restore_over();
    EXPECT_EQ(s.take(), std::optional<std::size_t>(0));
    EXPECT_EQ(s.take(), std::optional<std::size_t>(2)) << "a key sharing a table waits for its lock, and goes on";
    EXPECT_EQ(s.take(), std::optional<std::size_t>(3)) << "an index locks one table: it may wait, never deadlock";
    EXPECT_EQ(s.take(), std::optional<std::size_t>(4));
    EXPECT_EQ(s.take(), std::optional<std::size_t>(5));
    EXPECT_FALSE(s.take()) << "the key back from staff to stores, and the one closing a -> b -> c -> a, wait";
    s.done(0);
    EXPECT_EQ(s.take(), std::optional<std::size_t>(1));
    s.done(4);
    EXPECT_EQ(s.take(), std::optional<std::size_t>(6));
}

TEST(KeyDeferrals, KeysNothingRestoredDependsOn) {
    auto p = plan();
    auto keys = key_deferrals(p);
    // users_pkey is referenced by the restored foreign key: left to pg_restore.
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0].id, DumpId{3301});
    EXPECT_EQ(keys[0].work.table, "public.answers");
    EXPECT_EQ(keys[0].work.sql, (std::vector<std::string>{"CREATE UNIQUE INDEX answers_pkey ON public.answers USING btree (id)",
                                                          "ALTER TABLE ONLY public.answers ADD CONSTRAINT answers_pkey PRIMARY KEY USING INDEX answers_pkey"}));
    // Once the foreign key is itself deferred, users_pkey can be built as an index too.
    p.entries[6].fate = Fate::deferred;
    EXPECT_EQ(key_deferrals(p).size(), 2u);
    p.entries[0].sql = "CREATE TABLE public.users (id integer) PARTITION BY RANGE (id);";
    EXPECT_EQ(key_deferrals(p).size(), 1u) << "partitioned tables keep their keys as they are";
}

TEST(MissingObjects, WhatThePlanCreatesMustBeThere) {
    auto p = plan();
    p.entries[1].rows = 3;
    TargetObjects t;
    t.relations = {{"public", "users"}, {"public", "answers"}, {"public", "answers_user_idx"}};
    t.constraints = {{"public", "users", "users_pkey"}, {"public", "answers", "answers_pkey"}, {"public", "answers", "answers_userId_fkey"}};
    EXPECT_TRUE(missing_objects(p, t).empty());
    t.relations.erase({"public", "answers_user_idx"});
    t.constraints.erase({"public", "answers", "answers_userId_fkey"});
    t.empty_tables = {"public.users"};
    EXPECT_EQ(missing_objects(p, t), (std::vector<std::string>{"TABLE DATA public.users", "FK CONSTRAINT public.answers answers_userId_fkey",
                                                              "INDEX public.answers_user_idx"}));
    p.entries[6].fate = Fate::excluded;
    EXPECT_EQ(missing_objects(p, t).size(), 2u) << "what the plan leaves out is not expected";
}

TEST(LateRows, BucketsOfKeysFindWhereTheTargetIsShort) {
    using namespace pixrep::restore;
    KeyBuckets b(10000, 101);  // keys up to 10000 in buckets of 101
    EXPECT_EQ(b.width(), 101);
    for (std::int64_t k = 1; k <= 10030; ++k) b.add(k);  // above 10000: new rows, not counted
    EXPECT_EQ(b.counts().size(), 100u);
    EXPECT_EQ(b.counts().at(0), 100);  // keys 1..100
    EXPECT_EQ(b.bucket(-5), -1);
    auto target = b.counts();
    target[29] -= 1;  // a key of bucket 29 committed late
    target[50] += 2;  // two rows deleted at the source
    auto d = compare(b.counts(), target);
    EXPECT_EQ(d.short_buckets, std::vector<std::int64_t>{29});
    EXPECT_EQ(d.missing, 1);
    EXPECT_EQ(d.extra, 2);
    EXPECT_EQ(d.long_buckets, std::vector<std::int64_t>{50});
    target[120] = 4;  // a range the source deleted whole
    d = compare(b.counts(), target);
    EXPECT_EQ(d.emptied_buckets, std::vector<std::int64_t>{120});
    EXPECT_EQ(d.extra, 6);
    EXPECT_EQ(b.delete_absent_sql("public.answers", "id", {50, 120}, "pg_temp.k"),
              "WITH gone AS (DELETE FROM public.answers t WHERE t.\"id\" <= 10000 AND (t.\"id\" BETWEEN 5050 AND 5150 OR "
              "t.\"id\" BETWEEN 12120 AND 10000) AND NOT EXISTS (SELECT 1 FROM pg_temp.k s WHERE s.k = t.\"id\") RETURNING 1) "
              "SELECT count(*) FROM gone");
    EXPECT_EQ(b.delete_absent_sql("public.answers", "id", {}, "pg_temp.k"), "SELECT 0") << "no range, nothing deleted";
    EXPECT_EQ(parse_counts("3:10,-1:7"), (std::map<std::int64_t, std::int64_t>{{-1, 7}, {3, 10}}));
    EXPECT_TRUE(parse_counts("").empty());
    EXPECT_THROW(parse_counts("3"), std::invalid_argument);
    EXPECT_EQ(parse_keys("1,5,9").count(5), 1u);
    EXPECT_EQ(b.target_counts_sql("public.answers", "id"),
              "SELECT coalesce(string_agg(b || ':' || n, ','), '') FROM (SELECT CASE WHEN \"id\" < 0 THEN -1 ELSE \"id\" / 101 END AS b, "
              "count(*) AS n FROM public.answers WHERE \"id\" <= 10000 GROUP BY 1) s");
    EXPECT_EQ(b.target_keys_sql("public.answers", "id", {29, 50, 30, -1}),
              "SELECT coalesce(string_agg(\"id\"::text, ','), '') FROM public.answers WHERE \"id\" <= 10000 AND "
              "(\"id\" <= -1 OR \"id\" BETWEEN 2929 AND 3130 OR \"id\" BETWEEN 5050 AND 5150)");
    EXPECT_EQ(b.ranges_sql("\"id\"", ranges_of({30, -1, 29})), "\"id\" <= -1 OR \"id\" BETWEEN 2929 AND 3130")
        << "a live source's late rows: adjacent ranges merged, negative keys as one";
    EXPECT_EQ(b.ranges_sql("\"id\"", {}), "");
    EXPECT_EQ(b.target_counts_sql("public.answers", "id", {{0, 2}}),
              "SELECT coalesce(string_agg(b || ':' || n, ','), '') FROM (SELECT CASE WHEN \"id\" < 0 THEN -1 ELSE \"id\" / 101 END AS b, "
              "count(*) AS n FROM public.answers WHERE \"id\" BETWEEN 0 AND 302 GROUP BY 1) s");
    EXPECT_EQ(b.target_counts_sql("public.answers", "id", {{-1, -1}, {97, 120}}),
              "SELECT coalesce(string_agg(b || ':' || n, ','), '') FROM (SELECT CASE WHEN \"id\" < 0 THEN -1 ELSE \"id\" / 101 END AS b, "
              "count(*) AS n FROM public.answers WHERE \"id\" <= -1 GROUP BY 1 UNION ALL SELECT CASE WHEN \"id\" < 0 THEN -1 ELSE \"id\" / 101 "
              "END AS b, count(*) AS n FROM public.answers WHERE \"id\" BETWEEN 9797 AND 10000 GROUP BY 1) s")
        << "a few ranges: a scan of the key's index each, never above the kept key";
    std::vector<BucketRange> many;
    for (std::int64_t r = 0; r < 20; r += 2) many.push_back({r, r});
    EXPECT_EQ(b.target_counts_sql("public.answers", "id", many).find("UNION ALL"), std::string::npos) << "many: one scan";
    EXPECT_EQ(b.all_counts().at(99), 32) << "keys above 10000 are counted for tomorrow";
}

TEST(KeyRanges, KeptCountsRoundTripAndWidenExactly) {
    using namespace pixrep::restore;
    RangeState s{4, 3, "16384", {{-1, 2}, {0, 4}, {1, 3}, {2, 4}, {3, 1}}};
    auto back = parse_state(format(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(format(*back), "v2 4 3 16384 -;-1:2,0:4,1:3,2:4,3:1");
    s.writes = Writes{3000, 0, 12};
    back = parse_state(format(s));
    ASSERT_TRUE(back && back->writes);
    EXPECT_EQ(format(*back), "v2 4 3 16384 3000:0:12;-1:2,0:4,1:3,2:4,3:1");
    back = parse_state("v1 4 3 16384;-1:2,0:4");
    ASSERT_TRUE(back) << "an older tool's counts still serve";
    EXPECT_FALSE(back->writes) << "but its counters are unknown";
    EXPECT_FALSE(parse_state("v2 4 3 16384 3000:0;0:1"));
    EXPECT_FALSE(parse_state("v2 4 3 16384;0:1"));
    EXPECT_FALSE(parse_state("v1 3 0 1;0:1")) << "a width that is no power of two cannot be regrouped";
    EXPECT_FALSE(parse_state("v0 4 0 1;0:1"));
    EXPECT_FALSE(parse_state("v1 4 0 1;0"));
    EXPECT_FALSE(parse_state(""));
    EXPECT_EQ(width_for(3000), 1);
    EXPECT_EQ(width_for(4096), 2);
    EXPECT_EQ(width_for(3'000'000), 1024);
    // Keys outgrow 4 x kBuckets ranges of 4: the ranges double until they fit, counts summed.
    auto wider = fit(s, 4 * 4 * kBuckets);
    EXPECT_EQ(wider.width, 8);
    EXPECT_EQ(wider.counts, (Counts{{-1, 2}, {0, 7}, {1, 5}}));
    EXPECT_EQ(fit(s, 1000).width, 4) << "no need to widen";
}

TEST(KeyRanges, ATargetIsTrustedOnlyWhenItsCountersMovedByTheToolsOwnWrites) {
    using namespace pixrep::restore;
    auto f = parse_table_file("16384 3000:5:12");
    ASSERT_TRUE(f && f->writes);
    EXPECT_EQ(f->filenode, "16384");
    EXPECT_EQ(*f->writes, (Writes{3000, 5, 12}));
    f = parse_table_file("16384 -");
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->writes) << "statistics that cannot prove anything (before 15, track_counts off)";
    EXPECT_FALSE(parse_table_file("16384"));
    EXPECT_FALSE(parse_table_file("16384 12:x:1"));
    EXPECT_NE(table_file_sql("public.answers").find("'public.answers'::regclass"), std::string::npos);
    // Last night: 3000 inserted before the tool's 30 new rows and 2 deletes.
    const Writes before{3000, 0, 10};
    EXPECT_EQ(writes_to_keep(before, 30, 2, Writes{3030, 0, 12}), (Writes{3030, 0, 12}));
    EXPECT_FALSE(writes_to_keep(before, 30, 2, Writes{3031, 0, 12})) << "someone else inserted meanwhile";
    EXPECT_FALSE(writes_to_keep(before, 30, 2, Writes{3030, 1, 12})) << "or updated";
    EXPECT_FALSE(writes_to_keep(before, 30, 2, Writes{3000, 0, 10})) << "statistics that lag";
    EXPECT_FALSE(writes_to_keep(std::nullopt, 30, 2, Writes{3030, 0, 12}));
    RangeState kept{4, 1, "16384", {{0, 4}}, Writes{3030, 0, 12}};
    EXPECT_EQ(writers_since(kept, "16384", Writes{3030, 0, 12}), Writers::tool);
    EXPECT_EQ(writers_since(kept, "16385", Writes{3030, 0, 12}), Writers::unknown) << "rewritten";
    EXPECT_EQ(writers_since(kept, "16384", Writes{3030, 0, 13}), Writers::others) << "a row deleted by hand";
    EXPECT_EQ(writers_since(kept, "16384", Writes{3030, 1, 12}), Writers::others) << "a row updated by hand";
    EXPECT_EQ(writers_since(kept, "16384", Writes{0, 0, 1}), Writers::unknown) << "statistics reset or lost in a crash, then a write";
    EXPECT_EQ(writers_since(kept, "16384", std::nullopt), Writers::unknown);
    kept.writes.reset();
    EXPECT_EQ(writers_since(kept, "16384", Writes{3030, 0, 12}), Writers::unknown) << "nothing kept to compare with";
    EXPECT_EQ(restrict_to({{-1, 1}, {0, 4}, {5, 2}, {9, 1}}, {{-1, -1}, {4, 5}}), (Counts{{-1, 1}, {5, 2}}));
}

TEST(KeyRanges, SevenNightsCountEveryRangeOnceAndOnlyWhatChangedBesides) {
    using namespace pixrep::restore;
    std::vector<int> seen(100, 0);
    int negative = 0;
    for (std::int64_t night = 0; night < kSlices; ++night)
        for (const auto& r : slice(99, 1, night))
            for (auto b = r.first; b <= r.last; ++b) b < 0 ? ++negative : ++seen.at(static_cast<std::size_t>(b));
    EXPECT_EQ(negative, 1);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 100) << "each range in exactly one slice";
    EXPECT_EQ(slice(99, 1, 8), slice(99, 1, 1)) << "the week starts again";
    EXPECT_TRUE(slice(3, 1, 6).empty()) << "a tiny table has nights without a slice";
    EXPECT_EQ(recent(10000, 10), (BucketRange{990, 1000}));
    EXPECT_EQ(recent(5, 10), (BucketRange{0, 0}));
    EXPECT_EQ(merge({{-1, -1}, {0, 14}}, {10, 20}), (std::vector<BucketRange>{{-1, -1}, {0, 20}}));
    EXPECT_EQ(merge({{0, 4}}, {6, 8}), (std::vector<BucketRange>{{0, 4}, {6, 8}}));
    EXPECT_EQ(ranges_of({5, 3, 4, 9, -1, 0}), (std::vector<BucketRange>{{-1, -1}, {0, 0}, {3, 5}, {9, 9}}));
    // Last night left 10 rows in each of ranges 0..9; tonight's slice, 0..1, is counted.
    Counts stored;
    for (int b = 0; b < 10; ++b) stored[b] = 10;
    const std::vector<BucketRange> tonight{{0, 1}};
    auto target = assume(stored, tonight, {{0, 9}});  // range 1 emptied on the target, range 0 lost a row
    EXPECT_EQ(target.count(1), 0u);
    EXPECT_EQ(target.at(0), 9);
    EXPECT_EQ(size_of(tonight), 2);
    // The backup: a row committed late in range 4, range 7 deleted at the source; 0 and 1 as stored.
    Counts dump = stored;
    dump[4] = 11;
    dump.erase(7);
    EXPECT_EQ(to_recount(dump, target, tonight), (std::vector<std::int64_t>{4, 7})) << "only where the backup changed, outside the slice";
    target[8] = 0;
    dump[8] = 0;
    EXPECT_EQ(to_recount(dump, target, tonight), (std::vector<std::int64_t>{4, 7}));
}
