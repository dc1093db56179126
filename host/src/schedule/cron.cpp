#include "cron.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace pixrep {
namespace {

const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
const char* kMonthsLong[] = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"};
const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
const char* kDaysLong[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};

struct FieldDef {
    const char* name;
    int lo, hi;
};

// localtime_r follows TZ, which is process-wide: while one of these lives, TZ is `tz`; uses are
// serialised and the previous TZ comes back afterwards.
class TzScope {
public:
    explicit TzScope(const std::string& tz) : lock_(mutex()) {
        const char* old = std::getenv("TZ");
        had_ = old != nullptr;
        if (old) saved_ = old;
        setenv("TZ", tz.c_str(), 1);
        tzset();
    }
    ~TzScope() {
        if (had_) setenv("TZ", saved_.c_str(), 1);
        else unsetenv("TZ");
        tzset();
    }
    std::tm fields(std::time_t t) const {
        std::tm tm{};
        localtime_r(&t, &tm);
        return tm;
    }

private:
    static std::mutex& mutex() {
        static std::mutex mu;
        return mu;
    }
    std::lock_guard<std::mutex> lock_;
    bool had_ = false;
    std::string saved_;
};

}  // namespace

void check_time_zone(const std::string& tz) {
    if (tz == "UTC" || tz == "Etc/UTC") return;
    std::error_code ec;
    if (tz.empty() || tz.find("..") != std::string::npos || tz[0] == '/' ||
        !std::filesystem::is_regular_file(std::filesystem::path("/usr/share/zoneinfo") / tz, ec))
        throw std::invalid_argument("unknown time zone '" + tz + "' (expected an IANA name such as Europe/Paris)");
}

std::string format_utc(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

CronExpr::CronExpr(const std::string& expr) : text_(expr) {
    // Split into fields, remembering where each starts for error messages.
    std::vector<std::pair<std::string, std::size_t>> fields;
    for (std::size_t i = 0; i < expr.size();) {
        while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
        if (i >= expr.size()) break;
        std::size_t start = i;
        while (i < expr.size() && !std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
        fields.emplace_back(expr.substr(start, i - start), start);
    }
    if (fields.size() != 5 && fields.size() != 6)
        throw std::invalid_argument("cron expression '" + expr + "' has " + std::to_string(fields.size()) +
                                    " fields; expected 5 (minute hour day month weekday) or 6 (with seconds first)");
    if (fields.size() == 5) fields.insert(fields.begin(), {"0", std::string::npos});

    const FieldDef defs[] = {{"second", 0, 59}, {"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}};
    for (int f = 0; f < 6; ++f) {
        const auto& [text, pos] = fields[f];
        const FieldDef& d = defs[f];
        auto fail = [&](std::size_t offset, const std::string& why) -> void {
            std::string where = pos == std::string::npos ? "" : " at character " + std::to_string(pos + offset + 1);
            throw std::invalid_argument("cron expression '" + expr + "': " + d.name + " field '" + text + "'" + where + ": " + why);
        };
        auto number = [&](const std::string& s, std::size_t offset) -> int {
            std::string low;
            for (char c : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (f == 4)
                for (int m = 0; m < 12; ++m)
                    if (low == kMonths[m] || low == kMonthsLong[m]) return m + 1;
            if (f == 5)
                for (int w = 0; w < 7; ++w)
                    if (low == kDays[w] || low == kDaysLong[w]) return w;
            if (s.empty()) fail(offset, "empty value");
            for (char c : s)
                if (!std::isdigit(static_cast<unsigned char>(c))) fail(offset, "'" + s + "' is not a number" + (f >= 4 ? " or a name" : ""));
            int v = std::atoi(s.c_str());
            if (v < d.lo || v > d.hi) fail(offset, std::to_string(v) + " is out of range " + std::to_string(d.lo) + "-" + std::to_string(d.hi));
            return v;
        };
        // node-cron's reading: a step ends the whole field ("1,2,10-20/5") and keeps, of the values
        // the field lists, those divisible by it ("5/20" never fires, day-of-month "*/2" is the
        // even days), where Vixie cron would count from the start of the range.
        int step = 0;
        std::string list = text;
        if (auto slash = text.find('/'); slash != std::string::npos) {
            std::string s = text.substr(slash + 1);
            if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || std::atoi(s.c_str()) == 0)
                fail(slash + 1, "step '" + s + "' must be a positive number");
            step = std::atoi(s.c_str());
            list = text.substr(0, slash);
            if (list.empty()) fail(0, "a step needs values before the '/'");
        }
        std::bitset<64> bits;
        std::size_t off = 0;
        while (off <= list.size()) {
            std::size_t comma = list.find(',', off);
            std::string range = list.substr(off, comma == std::string::npos ? std::string::npos : comma - off);
            if (range.empty()) fail(off, "empty list item");
            int lo, hi;
            if (range == "*") {
                lo = d.lo;
                hi = d.hi;
            } else if (auto dash = range.find('-'); dash != std::string::npos) {
                lo = number(range.substr(0, dash), off);
                hi = number(range.substr(dash + 1), off + dash + 1);
                if (hi < lo) fail(off, "range " + range + " goes backwards");
            } else {
                lo = hi = number(range, off);
            }
            for (int v = lo; v <= hi; ++v)
                if (step == 0 || v % step == 0) bits.set(static_cast<std::size_t>(v));
            if (comma == std::string::npos) break;
            off = comma + 1;
        }
        switch (f) {
        case 0: for (int i = 0; i < 60; ++i) sec_[i] = bits[i]; break;
        case 1: for (int i = 0; i < 60; ++i) min_[i] = bits[i]; break;
        case 2: for (int i = 0; i < 24; ++i) hour_[i] = bits[i]; break;
        case 3: for (int i = 1; i < 32; ++i) dom_[i] = bits[i]; break;
        case 4: for (int i = 1; i < 13; ++i) month_[i] = bits[i]; break;
        case 5:
            for (int i = 0; i < 7; ++i) dow_[i] = bits[i];
            if (bits[7]) dow_[0] = true;  // 7 is Sunday too
            break;
        }
    }
}

std::optional<std::time_t> CronExpr::next(std::time_t after, const std::string& tz) const {
    // Walks real instants and reads their local fields, so daylight-saving gaps and repeats
    // behave as the wall clock does. Whole hours are skipped while the day or hour does not
    // match; minutes while the minute does not.
    TzScope zone(tz);
    std::time_t t = after + 1;
    const std::time_t limit = after + 8LL * 366 * 24 * 3600;  // leap days recur within 8 years
    while (t < limit) {
        std::tm tm = zone.fields(t);
        // Every field must match, the two day fields included (node-cron; Vixie cron ORs them).
        bool day = dom_[tm.tm_mday] && dow_[tm.tm_wday];
        if (!month_[tm.tm_mon + 1] || !day || !hour_[tm.tm_hour]) {
            t += 3600 - (tm.tm_min * 60 + tm.tm_sec);
            continue;
        }
        if (!min_[tm.tm_min]) {
            t += 60 - tm.tm_sec;
            continue;
        }
        if (sec_[tm.tm_sec]) return t;
        ++t;
    }
    return std::nullopt;
}

}  // namespace pixrep
