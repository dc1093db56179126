#pragma once
// Cron expressions with node-cron's syntax, evaluated in an IANA time zone.
#include <bitset>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>

namespace pixrep {

/// A parsed cron expression, read as node-cron reads it: 5 fields (minute hour day-of-month month
/// day-of-week) or 6 with seconds first; `*`, lists, ranges, month and weekday names, 0 and 7 =
/// Sunday; a step `/n` ends a field and keeps the listed values divisible by n; every field must
/// match, day of month AND day of week (not Vixie cron's OR).
class CronExpr {
public:
    /// Parses `expr`; throws std::invalid_argument naming the field and the character position.
    explicit CronExpr(const std::string& expr);

    /// First fire time strictly after `after` (seconds since the epoch), with the fields read in
    /// the time zone `tz` ("UTC", "Europe/Paris"...). Local times skipped by a daylight-saving
    /// change never fire; repeated ones fire once per occurrence. nullopt when it never fires.
    std::optional<std::time_t> next(std::time_t after, const std::string& tz) const;

    const std::string& text() const { return text_; }

private:
    std::string text_;
    std::bitset<60> sec_, min_;
    std::bitset<24> hour_;
    std::bitset<32> dom_;
    std::bitset<13> month_;
    std::bitset<8> dow_;
};

/// Checks that `tz` names a zone of the system's time zone database; throws std::invalid_argument.
void check_time_zone(const std::string& tz);

/// "2026-11-25T05:10:00Z" for an instant.
std::string format_utc(std::time_t t);

}  // namespace pixrep
