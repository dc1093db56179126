// The schedule's cron expressions: a table of expressions and their next fire times, and the
// invalid ones with their messages.
#include <gtest/gtest.h>

#include "cron.hpp"
#include "scalingo_api.hpp"

using pixrep::CronExpr;

namespace {
std::time_t at(const std::string& s) { return static_cast<std::time_t>(*pixrep::scalingo::parse_rfc3339(s)); }

struct Case {
    const char* expr;
    const char* tz;
    const char* after;
    const char* expected;
};
}  // namespace

TEST(Cron, NextFireTimes) {
    const Case cases[] = {
        {"10 5 * * *", "UTC", "2026-11-24T05:10:00Z", "2026-11-25T05:10:00Z"},
        {"10 5 * * *", "UTC", "2026-11-24T05:09:59Z", "2026-11-24T05:10:00Z"},
        {"*/15 * * * *", "UTC", "2026-11-24T10:07:00Z", "2026-11-24T10:15:00Z"},
        {"0 0 31 * *", "UTC", "2026-11-24T00:00:00Z", "2026-12-31T00:00:00Z"},          // November has no 31st
        {"0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},          // next leap day
        {"59 23 28-29 2 *", "UTC", "2027-02-28T23:59:00Z", "2028-02-28T23:59:00Z"},
        {"0 12 * * mon", "UTC", "2026-11-24T00:00:00Z", "2026-11-30T12:00:00Z"},
        {"0 12 * * 7", "UTC", "2026-11-24T00:00:00Z", "2026-11-29T12:00:00Z"},           // 7 = Sunday
        {"0 12 * * 0", "UTC", "2026-11-24T00:00:00Z", "2026-11-29T12:00:00Z"},
        {"0 0 1 * fri", "UTC", "2026-11-24T00:00:00Z", "2027-01-01T00:00:00Z"},          // both day fields (Vixie: 11-27)
        {"0 5 1-7 * 1", "UTC", "2026-12-01T00:00:00Z", "2026-12-07T05:00:00Z"},          // first Monday (Vixie: 12-01)
        {"0 0 1 jan,jul *", "UTC", "2026-11-24T00:00:00Z", "2027-01-01T00:00:00Z"},
        {"0 0 1 July *", "UTC", "2026-11-24T00:00:00Z", "2027-07-01T00:00:00Z"},
        {"0 1-23/5 * * *", "UTC", "2026-11-24T02:00:00Z", "2026-11-24T05:00:00Z"},     // divisible by 5 (Vixie: 06:00)
        {"0 0 */2 * *", "UTC", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"},          // even days (Vixie: 11-03)
        {"0 0 1 */2 *", "UTC", "2026-11-24T00:00:00Z", "2026-12-01T00:00:00Z"},          // even months (Vixie: 2027-01)
        {"0 1,2,10-20/5 * * *", "UTC", "2026-11-24T00:00:00Z", "2026-11-24T10:00:00Z"}, // the step ends the whole field
        {"*/20 * * * * *", "UTC", "2026-11-24T10:00:05Z", "2026-11-24T10:00:20Z"},     // six fields: seconds
        {"30 0 0 * * *", "UTC", "2026-11-24T00:00:30Z", "2026-11-25T00:00:30Z"},
        {"0 0 * * 1-5", "UTC", "2026-11-27T12:00:00Z", "2026-11-30T00:00:00Z"},         // Friday -> Monday
        {"10 5 * * *", "Europe/Paris", "2026-11-24T00:00:00Z", "2026-11-24T04:10:00Z"}, // UTC+1 in winter
        {"10 5 * * *", "Europe/Paris", "2026-07-01T00:00:00Z", "2026-07-01T03:10:00Z"}, // UTC+2 in summer
        {"30 2 * * *", "Europe/Paris", "2027-03-27T02:00:00Z", "2027-03-29T00:30:00Z"}, // 02:30 does not exist on 28 March
        {"30 2 * * *", "Europe/Paris", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z"}, // 02:30 happens twice...
        {"30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"}, // ...and fires twice
    };
    for (const auto& c : cases) {
        auto next = CronExpr(c.expr).next(at(c.after), c.tz);
        ASSERT_TRUE(next) << c.expr;
        EXPECT_EQ(pixrep::format_utc(*next), c.expected) << c.expr << " in " << c.tz << " after " << c.after;
    }
}

TEST(Cron, NeverFiring) {
    EXPECT_FALSE(CronExpr("0 0 30 2 *").next(at("2026-01-01T00:00:00Z"), "UTC"));
    EXPECT_FALSE(CronExpr("0 5/20 * * *").next(at("2026-01-01T00:00:00Z"), "UTC"));  // node-cron: 5 is not divisible by 20
}

TEST(Cron, InvalidExpressionsSayWhereAndWhy) {
    auto error = [](const std::string& e) -> std::string {
        try {
            CronExpr c(e);
        } catch (const std::invalid_argument& ex) {
            return ex.what();
        }
        return "(accepted)";
    };
    EXPECT_EQ(error("61 * * * *"), "cron expression '61 * * * *': minute field '61' at character 1: 61 is out of range 0-59");
    EXPECT_EQ(error("0 0 * foo *"), "cron expression '0 0 * foo *': month field 'foo' at character 7: 'foo' is not a number or a name");
    EXPECT_EQ(error("* * *"), "cron expression '* * *' has 3 fields; expected 5 (minute hour day month weekday) or 6 (with seconds first)");
    EXPECT_EQ(error("*/0 * * * *"), "cron expression '*/0 * * * *': minute field '*/0' at character 3: step '0' must be a positive number");
    EXPECT_EQ(error("*/5,7 * * * *"), "cron expression '*/5,7 * * * *': minute field '*/5,7' at character 3: step '5,7' must be a positive number");
    EXPECT_EQ(error("0 5-2 * * *"), "cron expression '0 5-2 * * *': hour field '5-2' at character 3: range 5-2 goes backwards");
    EXPECT_EQ(error("1,,2 * * * *"), "cron expression '1,,2 * * * *': minute field '1,,2' at character 3: empty list item");
    EXPECT_EQ(error("0 0 32 * *"), "cron expression '0 0 32 * *': day of month field '32' at character 5: 32 is out of range 1-31");
    EXPECT_EQ(error("0 0 * * 8"), "cron expression '0 0 * * 8': day of week field '8' at character 9: 8 is out of range 0-7");
}

TEST(Cron, TimeZonesAreChecked) {
    EXPECT_NO_THROW(pixrep::check_time_zone("Europe/Paris"));
    EXPECT_NO_THROW(pixrep::check_time_zone("UTC"));
    EXPECT_THROW(pixrep::check_time_zone("Europe/Pariss"), std::invalid_argument);
    EXPECT_THROW(pixrep::check_time_zone("../../etc/passwd"), std::invalid_argument);
}
