#include "incremental.hpp"

#include <algorithm>

#include "table_columns.hpp"

namespace pixrep::answers {
namespace {

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
    for (const auto& c : common::table_columns(sql)) out.push_back(c.quoted + " " + c.type);
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

std::optional<std::vector<std::string>> enum_labels(const std::string& sql) {
    auto open = sql.find(" AS ENUM (");
    if (sql.rfind("CREATE TYPE ", 0) != 0 || open == std::string::npos) return std::nullopt;
    std::vector<std::string> out;
    for (std::size_t i = open + 10; i < sql.size(); ++i) {
        if (sql[i] == ')') return out;
        if (sql[i] != '\'') continue;
        std::string label;
        for (++i; i < sql.size(); ++i) {
            if (sql[i] == '\'' && i + 1 < sql.size() && sql[i + 1] == '\'') label += '\'', ++i;
            else if (sql[i] == '\'') break;
            else label += sql[i];
        }
        out.push_back(label);
    }
    return std::nullopt;
}

namespace {

std::string literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

}  // namespace

SupportCheck compare_enum(const std::string& type, const std::vector<std::string>& target, const std::vector<std::string>& backup) {
    // The target's labels must appear in the backup in the same order; the others are new.
    std::size_t at = 0;
    for (const auto& label : backup)
        if (at < target.size() && label == target[at]) ++at;
    if (at < target.size())
        return {false, {}, "type " + type + " lost or reordered label '" + target[at] + "' in the backup"};
    SupportCheck c;
    for (std::size_t i = 0, t = 0; i < backup.size(); ++i) {
        if (t < target.size() && backup[i] == target[t]) {
            ++t;
            continue;
        }
        // After the label before it (which exists by now), or before the first of the target's.
        const std::string where = i > 0 ? " AFTER " + literal(backup[i - 1]) : (target.empty() ? "" : " BEFORE " + literal(target[0]));
        c.statements.push_back("ALTER TYPE " + type + " ADD VALUE IF NOT EXISTS " + literal(backup[i]) + where);
    }
    return c;
}

SupportCheck compare_domain(const std::string& sql, const std::string& base_type, bool not_null, const std::vector<std::string>& checks) {
    auto differs = [](const std::string& why) { return SupportCheck{false, {}, why}; };
    if (sql.find(" AS " + base_type) == std::string::npos) return differs("its base type is no longer " + base_type);
    if ((sql.find(" NOT NULL") != std::string::npos) != not_null) return differs("its NOT NULL changed");
    std::size_t in_backup = 0;
    for (auto p = sql.find(" CHECK ("); p != std::string::npos; p = sql.find(" CHECK (", p + 1)) ++in_backup;
    if (in_backup != checks.size()) return differs("its CHECK constraints changed");
    for (const auto& check : checks)
        if (sql.find(check) == std::string::npos) return differs("its constraint " + check + " changed");
    return {};
}

SupportCheck compare_function(const std::string& sql, const std::string& body) {
    if (sql.find(body) != std::string::npos) return {};
    return {false, {}, "its body changed"};
}

}  // namespace pixrep::answers
