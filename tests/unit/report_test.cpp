// The end-of-run report: where the time went, from figures and timings steps recorded.
#include <gtest/gtest.h>

#include "report.hpp"

using namespace pixrep;

TEST(Report, WallTimeCountsOverlapsOnce) {
    EXPECT_DOUBLE_EQ(covered_seconds({{0, 2}, {1, 3}, {5, 6}}), 4.0);
    EXPECT_DOUBLE_EQ(covered_seconds({}), 0.0);
    EXPECT_DOUBLE_EQ(covered_seconds({{3, 4}, {0, 10}}), 10.0);
}

TEST(Report, FieldsAndTableSayWhereTheTimeWent) {
    RunReport r;
    r.step_seconds = {{"scalingo-source (prepare)", 12.5}, {"pg-restore (prepare)", 0.01}, {"pg-restore (execute)", 30}};
    r.figures["bytes_downloaded"] = {2.5 * (1 << 20), Unit::bytes};
    r.figures["restore_wall"] = {29.5, Unit::seconds};
    r.figures["rows.public.users"] = {300, Unit::count};
    r.figures["incremental.public.knowledge-elements.key_ranges_counted"] = {419, Unit::count};
    r.timings = {{"TABLE DATA", "users", 0, 10}, {"TABLE DATA", "answers", 5, 20}, {"INDEX", "users_pkey", 10, 2}, {"COMMENT", "TABLE users", 1, 17}};
    RunOutcome o;
    o.success = true;
    o.seconds = 45;
    auto rep = format_report(r, o);
    std::map<std::string, FieldValue> f(rep.fields.begin(), rep.fields.end());
    EXPECT_EQ(std::get<std::int64_t>(f["restore_wall_ms"]), 29500);
    EXPECT_EQ(std::get<std::int64_t>(f["bytes_downloaded"]), 2621440);
    EXPECT_EQ(std::get<std::int64_t>(f["rows.public.users"]), 300);
    EXPECT_EQ(std::get<std::int64_t>(f["restore_summed_ms.TABLE DATA"]), 30000);
    EXPECT_EQ(std::get<std::int64_t>(f["restore_wall_ms.TABLE DATA"]), 25000);
    EXPECT_EQ(std::get<std::int64_t>(f["step_ms.scalingo-source (prepare)"]), 12500);
    EXPECT_NE(rep.text.find("run report (success, 45.0s, attempt 1)"), std::string::npos) << rep.text;
    EXPECT_NE(rep.text.find("restore by kind"), std::string::npos);
    EXPECT_NE(rep.text.find("COMMENT TABLE users 17.0s"), std::string::npos) << "an 'other' item says what it was:\n" << rep.text;
    EXPECT_NE(rep.text.find("rows:\n    public.users"), std::string::npos) << rep.text;
    EXPECT_NE(rep.text.find("(2.5 MiB)"), std::string::npos) << rep.text;
    EXPECT_NE(rep.text.find("public.knowledge-elements.key_ranges_counted 419"), std::string::npos) << "a long name, then its value:\n" << rep.text;
    EXPECT_NE(rep.text.find("pg-restore            30.0s    (execute 30.0s)"), std::string::npos) << rep.text;
}
