#include "incremental.hpp"

#include <sstream>

namespace pixrep::answers {
namespace {

std::string trim(std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t,") + 1);
    return s;
}

std::string first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        std::string x = i < a.size() ? a[i] : "(none)", y = i < b.size() ? b[i] : "(none)";
        if (x != y) return "column " + std::to_string(i + 1) + " is '" + x + "' on the target, '" + y + "' in the backup";
    }
    return "";
}

std::string date(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

std::string span(std::chrono::seconds d) {
    const auto s = d.count();
    if (s % 86400 == 0) return std::to_string(s / 86400) + " day(s)";
    if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
    return std::to_string(s) + "s";
}

}  // namespace

std::vector<std::string> columns_of(const std::string& sql) {
    std::vector<std::string> out;
    std::istringstream in(sql);
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!inside) {
            inside = line.rfind("CREATE ", 0) == 0 && !line.empty() && line.back() == '(';
            continue;
        }
        if (line.rfind(")", 0) == 0) break;
        std::string col = trim(line);
        if (col.empty() || col.rfind("CONSTRAINT ", 0) == 0) continue;
        std::size_t name_end;
        if (col[0] == '"') {
            name_end = 1;
            while (name_end < col.size() && !(col[name_end] == '"' && (name_end + 1 >= col.size() || col[name_end + 1] != '"')))
                name_end += col[name_end] == '"' ? 2 : 1;
            ++name_end;
        } else {
            name_end = col.find(' ');
        }
        if (name_end == std::string::npos || name_end >= col.size()) continue;
        std::string rest = col.substr(name_end + 1);
        for (const char* cut : {" NOT NULL", " DEFAULT ", " COLLATE ", " GENERATED ", " CONSTRAINT ", " CHECK ", " NULL"}) {
            auto p = rest.find(cut);
            if (p != std::string::npos) rest.erase(p);
        }
        out.push_back(col.substr(0, name_end) + " " + trim(rest));
    }
    return out;
}

Decision decide(const TargetTable& t, const BackupTable& b, std::optional<std::time_t> last_full, std::time_t now,
                std::chrono::seconds every, const std::string& key) {
    if (!t.exists) return {false, "missing on the target"};
    if (t.empty) return {false, "empty on the target"};
    if (t.columns != b.columns) return {false, "its columns differ from the backup's definition: " + first_difference(t.columns, b.columns)};
    if (t.max_key && (!b.max_key || *t.max_key > *b.max_key))
        return {false, "the target holds keys beyond the backup's largest (" + key + " " + std::to_string(*t.max_key) + " on the target, " +
                           (b.max_key ? std::to_string(*b.max_key) : std::string("no row")) +
                           " in the backup): an older backup, or a source that was reset"};
    if (every.count() > 0 && (!last_full || now - *last_full >= every.count()))
        return {false, "a periodic full reload is due (" + (last_full ? "last one " + date(*last_full) : std::string("none recorded")) +
                           ", every " + span(every) + ")"};
    return {true, "appending the rows whose " + key + " is greater than " + std::to_string(t.max_key.value_or(0))};
}

}  // namespace pixrep::answers
