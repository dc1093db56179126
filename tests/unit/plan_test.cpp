// Exclusion by identity: an excluded table takes everything that depends on it, and nothing else.
#include <gtest/gtest.h>

#include <pixrep/plan.hpp>

using pixrep::RestorePlan;
using pixrep::TocEntry;

namespace {

TocEntry entry(int id, std::string desc, std::string tag, std::vector<int> deps = {}) {
    TocEntry e;
    e.id = id;
    e.desc = std::move(desc);
    e.schema = "public";
    e.tag = std::move(tag);
    e.deps = std::move(deps);
    return e;
}

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

}  // namespace

TEST(RestorePlan, ExcludingATableTakesItsDependentsOnly) {
    auto p = pix_like();
    auto n = p.exclude([](const TocEntry& e) { return e.desc == "TABLE" && e.tag == "answers"; }, "answers-kes", "flag");
    EXPECT_EQ(n, 10u);
    for (int id : {2, 3, 5, 6, 7, 8, 9, 11, 13, 14}) EXPECT_FALSE(p.find(id)->kept()) << id;
    for (int id : {1, 4, 10, 12}) EXPECT_TRUE(p.find(id)->kept()) << id;
    EXPECT_EQ(p.find(2)->excluded_by, "answers-kes");
    EXPECT_EQ(p.find(2)->reason, "flag");
    EXPECT_EQ(p.find(11)->excluded_by, "answers-kes");
    EXPECT_NE(p.find(6)->reason.find("depends on excluded"), std::string::npos);
    EXPECT_EQ(p.kept_count(), 4u);
}

TEST(RestorePlan, EarlierExclusionsKeepTheirAuthor) {
    auto p = pix_like();
    p.exclude([](const TocEntry& e) { return e.desc == "FK CONSTRAINT"; }, "fk-constraints", "no fk");
    p.exclude([](const TocEntry& e) { return e.desc == "TABLE" && e.tag == "answers"; }, "answers-kes", "flag");
    EXPECT_EQ(p.find(9)->excluded_by, "fk-constraints");
    EXPECT_EQ(p.find(5)->excluded_by, "answers-kes");
}

TEST(RestorePlan, NoMatchExcludesNothing) {
    auto p = pix_like();
    EXPECT_EQ(p.exclude([](const TocEntry&) { return false; }, "x", "y"), 0u);
    EXPECT_EQ(p.kept_count(), p.entries.size());
}

TEST(RestorePlan, DeferredEntriesGoWithWhatTheyDependOn) {
    auto p = pix_like();
    EXPECT_TRUE(p.defer(9, "fk-constraints", "not valid"));   // answers -> users FK
    EXPECT_TRUE(p.defer(10, "pg-restore", "unique index"));   // users_pkey
    EXPECT_FALSE(p.defer(9, "x", "again"));
    EXPECT_FALSE(p.dropped(9));
    p.exclude([](const TocEntry& e) { return e.desc == "TABLE" && e.tag == "answers"; }, "answers-kes", "flag");
    EXPECT_TRUE(p.dropped(9)) << "an FK from an excluded table cannot be created later either";
    EXPECT_FALSE(p.find(9)->deferred);
    EXPECT_EQ(p.find(9)->excluded_by, "answers-kes");
    EXPECT_FALSE(p.dropped(10)) << "users_pkey is still created, by pg-restore's pool";
    EXPECT_TRUE(p.find(10)->deferred);
}
