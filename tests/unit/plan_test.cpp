// Exclusion by identity: an excluded table takes everything that depends on it, and nothing else.
#include <gtest/gtest.h>

#include "toc_entry.hpp"

#include <pixrep/plan.hpp>

#include "plan_edit.hpp"

using namespace pixrep;

namespace {

TocEntry entry(int id, std::string desc, std::string tag, std::vector<int> deps = {}) { return toc_entry(id, desc, "public", tag, deps); }

RestorePlan pix_like() {
    RestorePlan p;
    p.entries = {entry(1, "TABLE", "users"),
                 entry(2, "TABLE", "answers"),
                 entry(3, "SEQUENCE", "answers_id_seq", {2}),
                 entry(4, "TABLE", "user-answers-stats"),
                 entry(5, "TABLE DATA", "answers", {2}),
                 entry(6, "SEQUENCE SET", "answers_id_seq", {3}),
                 entry(7, "CONSTRAINT", "answers answers_pkey", {2}),
                 entry(8, "INDEX", "answers_challengeId_idx", {2}),
                 entry(9, "FK CONSTRAINT", "answers answers_userId_fkey", {2, 10, 1}),
                 entry(10, "CONSTRAINT", "users users_pkey", {1}),
                 entry(11, "FK CONSTRAINT", "user-answers-stats fk_answer", {4, 7, 2}),
                 entry(12, "TABLE DATA", "user-answers-stats", {4}),
                 entry(13, "COMMENT", "TABLE answers", {2}),
                 entry(14, "TRIGGER", "answers audit", {2})};
    return p;
}

const TocEntry& at(const RestorePlan& p, int id) { return *p.find(DumpId{id}); }
auto answers_table = [](const TocEntry& e) { return e.desc == "TABLE" && e.tag == "answers"; };

}  // namespace

TEST(RestorePlan, ExcludingATableTakesItsDependentsOnly) {
    auto p = pix_like();
    auto n = exclude_entries(p, answers_table, "answers-kes", "flag");
    EXPECT_EQ(n, 10u);
    for (int id : {2, 3, 5, 6, 7, 8, 9, 11, 13, 14}) EXPECT_FALSE(at(p, id).restored()) << id;
    for (int id : {1, 4, 10, 12}) EXPECT_TRUE(at(p, id).restored()) << id;
    EXPECT_EQ(at(p, 2).by, "answers-kes");
    EXPECT_EQ(at(p, 2).reason, "flag");
    EXPECT_EQ(at(p, 11).by, "answers-kes");
    EXPECT_NE(at(p, 6).reason.find("depends on excluded"), std::string::npos);
    EXPECT_EQ(p.restored_count(), 4u);
}

TEST(RestorePlan, EarlierExclusionsKeepTheirAuthor) {
    auto p = pix_like();
    exclude_entries(p, [](const TocEntry& e) { return e.desc == "FK CONSTRAINT"; }, "fk-constraints", "no fk");
    exclude_entries(p, answers_table, "answers-kes", "flag");
    EXPECT_EQ(at(p, 9).by, "fk-constraints");
    EXPECT_EQ(at(p, 5).by, "answers-kes");
}

TEST(RestorePlan, NoMatchExcludesNothing) {
    auto p = pix_like();
    EXPECT_EQ(exclude_entries(p, [](const TocEntry&) { return false; }, "x", "y"), 0u);
    EXPECT_EQ(p.restored_count(), p.entries.size());
}

TEST(RestorePlan, DeferredEntriesGoWithWhatTheyDependOn) {
    auto p = pix_like();
    EXPECT_TRUE(defer_entry(p, DumpId{9}, "fk-constraints", "not valid"));  // answers -> users FK
    EXPECT_TRUE(defer_entry(p, DumpId{10}, "pg-restore", "unique index"));  // users_pkey
    EXPECT_FALSE(defer_entry(p, DumpId{9}, "x", "again"));
    EXPECT_TRUE(at(p, 9).created());
    exclude_entries(p, answers_table, "answers-kes", "flag");
    EXPECT_FALSE(at(p, 9).created()) << "an FK from an excluded table cannot be created later either";
    EXPECT_EQ(at(p, 9).fate, Fate::excluded);
    EXPECT_EQ(at(p, 9).by, "answers-kes");
    EXPECT_TRUE(at(p, 10).created()) << "users_pkey is still created, by pg-restore's pool";
    EXPECT_EQ(at(p, 10).fate, Fate::deferred);
}

TEST(RestorePlan, DeferredWorkIsDroppedWithWhatItCreatesOrAwaits) {
    auto p = pix_like();
    defer_entry(p, DumpId{9}, "fk-constraints", "not valid");
    std::vector<Deferred> work{{"answers_userId_fkey", "FK CONSTRAINT", {"ALTER ..."}, "", {DumpId{2}}, DumpId{9}},
                               {"validate", "FK VALIDATE", {"VALIDATE ..."}, "", {DumpId{9}}},
                               {"users index", "INDEX", {"CREATE INDEX ..."}, "public.users", {}}};
    EXPECT_TRUE(drop_orphans(work, p).empty());
    exclude_entries(p, answers_table, "answers-kes", "flag");
    auto dropped = drop_orphans(work, p);
    EXPECT_EQ(dropped, (std::vector<std::string>{"answers_userId_fkey", "validate"}));
    ASSERT_EQ(work.size(), 1u);
    EXPECT_EQ(work[0].label, "users index");
}
