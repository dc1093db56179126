#include "facts.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "table_columns.hpp"

namespace pixrep::mask {
namespace {

// A name at the start of `s` (quoted or not), unquoted; `end` is set past it.
std::string name_at(const std::string& s, std::size_t& end) {
    std::string out;
    if (!s.empty() && s[0] == '"') {
        std::size_t i = 1;
        for (; i < s.size(); ++i) {
            if (s[i] == '"' && i + 1 < s.size() && s[i + 1] == '"') out += '"', ++i;
            else if (s[i] == '"') break;
            else out += s[i];
        }
        end = i + 1;
        return out;
    }
    end = s.find_first_of(" ,)");
    if (end == std::string::npos) end = s.size();
    return s.substr(0, end);
}

// An identifier at s[pos], quoted or not, unquoted; `pos` moves past it. Empty when none.
std::string ident(const std::string& s, std::size_t& pos) {
    std::string out;
    if (pos < s.size() && s[pos] == '"') {
        for (++pos; pos < s.size(); ++pos) {
            if (s[pos] == '"' && pos + 1 < s.size() && s[pos + 1] == '"') out += '"', ++pos;
            else if (s[pos] == '"') break;
            else out += s[pos];
        }
        ++pos;
        return out;
    }
    const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80; };
    while (pos < s.size() && word(s[pos])) out += s[pos++];
    return out;
}

}  // namespace

std::vector<ColumnFacts> columns_of(const std::string& sql) {
    std::vector<ColumnFacts> out;
    for (auto& c : common::table_columns(sql)) out.push_back({std::move(c.name), std::move(c.type), c.not_null});
    return out;
}

std::vector<std::string> unique_columns(const std::string& sql) {
    std::size_t open = std::string::npos;
    for (const char* marker : {" PRIMARY KEY (", " UNIQUE (", " UNIQUE NULLS NOT DISTINCT ("}) {
        auto p = sql.find(marker);
        if (p != std::string::npos) open = p + std::string(marker).size();
    }
    if (open == std::string::npos && sql.rfind("CREATE UNIQUE INDEX ", 0) == 0) {
        auto using_ = sql.find(" USING ");
        if (using_ != std::string::npos) open = sql.find('(', using_);
        if (open != std::string::npos) ++open;
    }
    std::vector<std::string> out;
    if (open == std::string::npos) return out;
    std::string list = sql.substr(open);
    while (!list.empty() && list[0] != ')') {
        std::size_t end = 0;
        std::string name = name_at(list, end);
        if (name.empty() || name.find('(') != std::string::npos) return {};  // an expression: no column of its own
        out.push_back(name);
        list = list.substr(std::min(list.size(), end));
        const auto next = list.find_first_of(",)");
        if (next == std::string::npos || list[next] == ')') break;
        list.erase(0, next + 1);
        list.erase(0, list.find_first_not_of(" \t"));
    }
    return out;
}

std::optional<ForeignKey> foreign_key(const std::string& table, const std::string& sql) {
    const std::string marker = " FOREIGN KEY (", refs = ") REFERENCES ";
    auto pos = sql.find(marker);
    if (pos == std::string::npos) return std::nullopt;
    pos += marker.size();
    ForeignKey k;
    k.table = table;
    k.column = ident(sql, pos);
    if (k.column.empty() || sql.compare(pos, refs.size(), refs) != 0) return std::nullopt;  // several columns
    pos += refs.size();
    const std::string schema = ident(sql, pos);
    if (pos >= sql.size() || sql[pos] != '.') return std::nullopt;
    ++pos;
    const std::string name = ident(sql, pos);
    if (pos >= sql.size() || sql[pos] != '(') return std::nullopt;
    ++pos;
    k.references = schema + "." + name;
    k.referenced = ident(sql, pos);
    if (k.referenced.empty() || pos >= sql.size() || sql[pos] != ')') return std::nullopt;
    return k;
}

std::vector<ForeignKey> foreign_keys(const RestorePlan& plan) {
    std::vector<ForeignKey> out;
    for (const auto& e : plan.entries)
        if (e.desc == "FK CONSTRAINT")
            if (auto k = foreign_key(e.table, e.sql)) out.push_back(std::move(*k));
    return out;
}

bool looks_personal(const ColumnFacts& c) {
    // The words of a camelCase, snake_case or kebab-case name, lowercased.
    std::vector<std::string> words{""};
    for (std::size_t i = 0; i < c.name.size(); ++i) {
        const char ch = c.name[i];
        const bool upper = std::isupper(static_cast<unsigned char>(ch)) != 0;
        if (ch == '_' || ch == '-' || ch == ' ' || (upper && i > 0 && std::islower(static_cast<unsigned char>(c.name[i - 1]))))
            words.emplace_back();
        if (ch != '_' && ch != '-' && ch != ' ') words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    static const std::set<std::string> personal{"email", "mail", "name", "firstname", "lastname", "username", "birthdate", "birthday",
                                                "birth", "born", "dob", "phone", "mobile", "address", "street", "zip", "zipcode", "postal",
                                                "postcode", "city", "ip", "ine", "ssn", "national", "gender", "sex", "password", "token"};
    for (const auto& w : words)
        if (personal.count(w)) return true;
    return c.type == "inet" || c.type == "cidr";
}

namespace {

std::string toml_key(const std::string& k) {
    const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
    if (bare) return k;
    std::string out = "\"";
    for (char ch : k) out += ch == '"' || ch == '\\' ? std::string("\\") + ch : std::string(1, ch);
    return out + "\"";
}

std::string fitting(const ColumnFacts& c) {
    std::string out;
    for (Transform t : {Transform::email, Transform::hash, Transform::first_name, Transform::last_name, Transform::year_month, Transform::year,
                        Transform::null})
        if (unfit(t, c.type, c.not_null).empty() && (!c.unique || injective(t))) out += (out.empty() ? "" : ", ") + std::string(name_of(t));
    return out;
}

}  // namespace

std::string rules_template(const std::vector<TableFacts>& tables) {
    std::string out = "# Masking rules (MASKING_RULES), one section per table restored tonight, every column \"keep\".\n"
                      "# Columns that look personal are flagged: choose a transform for each before using this file.\n";
    for (const auto& t : tables) {
        out += "\n[tables." + toml_key(t.table) + "]\n";
        for (const auto& c : t.columns) {
            out += toml_key(c.name) + " = \"keep\"";
            if (looks_personal(c)) out += "   # personal? " + c.type + (c.unique ? ", unique" : "") + ": " + fitting(c);
            out += "\n";
        }
    }
    return out;
}

bool anonymizer_label(const TocEntry& e) { return e.desc == "SECURITY LABEL" && e.sql.rfind("SECURITY LABEL FOR anon ", 0) == 0; }

std::vector<TableFacts> tables_tonight(const RestorePlan& plan) {
    std::set<std::string> with_rows;
    for (const auto& e : plan.entries)
        if (e.desc == "TABLE DATA" && e.created()) with_rows.insert(e.table);
    std::vector<TableFacts> out;
    for (const auto& e : plan.entries) {
        if (e.desc != "TABLE" || !e.created() || !with_rows.count(e.table)) continue;
        TableFacts t{e.table, columns_of(e.sql)};
        for (const auto& other : plan.entries) {
            if (other.table != e.table || (other.desc != "CONSTRAINT" && other.desc != "INDEX")) continue;
            const auto unique = unique_columns(other.sql);
            for (auto& c : t.columns)
                if (std::find(unique.begin(), unique.end(), c.name) != unique.end()) c.unique = true;
        }
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace pixrep::mask
