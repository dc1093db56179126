#include "sql_rewrite.hpp"

#include <cctype>
#include <cstring>
#include <vector>

namespace pixrep::common {
namespace {

enum class Tok { space, ident, quoted, string, other };

struct Token {
    Tok kind;
    std::size_t begin, end;
    std::string value;  // an identifier as PostgreSQL reads it; a plain string's content
};

bool ident_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool ident_char(unsigned char c) { return ident_start(c) || std::isdigit(c) || c == '$'; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// The end of a quoted run starting at `i` (the opening quote), doubled quotes inside; with
// `backslash`, \x escapes too (E'...').
std::size_t quoted_end(std::string_view s, std::size_t i, char q, bool backslash, std::string* value) {
    for (std::size_t j = i + 1; j < s.size(); ++j) {
        if (backslash && s[j] == '\\' && j + 1 < s.size()) {
            ++j;
            continue;
        }
        if (s[j] != q) {
            if (value) *value += s[j];
            continue;
        }
        if (j + 1 < s.size() && s[j + 1] == q) {
            if (value) *value += q;
            ++j;
            continue;
        }
        return j + 1;
    }
    return s.size();
}

// A dollar quote's tag ("$$", "$_$", "$body$") starting at `i`, or "" when `$` starts none.
std::string dollar_tag(std::string_view s, std::size_t i) {
    std::size_t j = i + 1;
    if (j < s.size() && s[j] == '$') return "$$";
    if (j >= s.size() || !ident_start(static_cast<unsigned char>(s[j]))) return "";
    while (j < s.size() && ident_char(static_cast<unsigned char>(s[j])) && s[j] != '$') ++j;
    if (j < s.size() && s[j] == '$') return std::string(s.substr(i, j - i + 1));
    return "";
}

std::vector<Token> tokens(std::string_view s) {
    std::vector<Token> out;
    std::size_t i = 0;
    auto push = [&](Tok k, std::size_t end, std::string v = {}) {
        out.push_back({k, i, end, std::move(v)});
        i = end;
    };
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        const char next = i + 1 < s.size() ? s[i + 1] : '\0';
        if (std::isspace(c)) {
            std::size_t j = i;
            while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
            push(Tok::space, j);
        } else if (c == '-' && next == '-') {
            std::size_t j = s.find('\n', i);
            push(Tok::space, j == std::string_view::npos ? s.size() : j);
        } else if (c == '/' && next == '*') {
            int depth = 0;
            std::size_t j = i;
            while (j < s.size()) {
                if (s.compare(j, 2, "/*") == 0) ++depth, j += 2;
                else if (s.compare(j, 2, "*/") == 0) {
                    j += 2;
                    if (--depth == 0) break;
                } else ++j;
            }
            push(Tok::space, j);
        } else if (c == '\'') {
            std::string v;
            std::size_t j = quoted_end(s, i, '\'', false, &v);
            push(Tok::string, j, std::move(v));
        } else if ((c == 'E' || c == 'e') && next == '\'') {
            push(Tok::other, quoted_end(s, i + 1, '\'', true, nullptr));
        } else if (std::strchr("bBxXnN", c) && c != 0 && next == '\'') {
            push(Tok::other, quoted_end(s, i + 1, '\'', false, nullptr));
        } else if ((c == 'U' || c == 'u') && next == '&' && i + 2 < s.size() && (s[i + 2] == '\'' || s[i + 2] == '"')) {
            push(Tok::other, quoted_end(s, i + 2, s[i + 2], false, nullptr));
        } else if (c == '"') {
            std::string v;
            std::size_t j = quoted_end(s, i, '"', false, &v);
            push(Tok::quoted, j, std::move(v));
        } else if (c == '$' && !dollar_tag(s, i).empty()) {
            const std::string tag = dollar_tag(s, i);
            std::size_t close = s.find(tag, i + tag.size());
            push(Tok::other, close == std::string_view::npos ? s.size() : close + tag.size());
        } else if (ident_start(c)) {
            std::size_t j = i;
            while (j < s.size() && ident_char(static_cast<unsigned char>(s[j]))) ++j;
            push(Tok::ident, j, lower(s.substr(i, j - i)));
        } else if (std::isdigit(c)) {
            std::size_t j = i;
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
            push(Tok::other, j);
        } else {
            push(Tok::other, i + 1);
        }
    }
    return out;
}

bool is_name(const Token& t) { return t.kind == Tok::ident || t.kind == Tok::quoted; }

// "schema.name" as a regclass or regproc input reads it: two names, each quoted or not.
bool split_qualified(const std::string& text, std::string& schema, std::string& name, std::string& name_text) {
    auto toks = tokens(text);
    if (toks.size() != 3 || !is_name(toks[0]) || toks[1].kind != Tok::other || text[toks[1].begin] != '.' || !is_name(toks[2]))
        return false;
    schema = toks[0].value;
    name = toks[2].value;
    name_text = text.substr(toks[2].begin);
    return true;
}

std::string literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

// The kinds of entries that name an object of a schema, which other entries refer to as schema.name.
bool names_an_object(const std::string& desc) {
    static const std::set<std::string> kinds{"TABLE", "VIEW", "MATERIALIZED VIEW", "SEQUENCE", "INDEX", "TYPE", "DOMAIN",
                                             "FUNCTION", "PROCEDURE", "AGGREGATE", "FOREIGN TABLE", "COLLATION", "CONVERSION",
                                             "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER",
                                             "TEXT SEARCH TEMPLATE", "STATISTICS", "SHELL TYPE"};
    return kinds.count(desc) > 0;
}

}  // namespace

std::string BuildNames::schema_of(const std::string& schema) const {
    auto it = schemas.find(schema);
    return it == schemas.end() ? schema : it->second;
}

BuildNames build_names(const RestorePlan& plan, const std::function<std::string(const std::string&)>& build_schema) {
    BuildNames names;
    for (const auto& e : plan.entries) {
        if (e.fate == Fate::kept && e.schema != "-" && names_an_object(e.desc)) names.kept.emplace(e.schema, e.tag.substr(0, e.tag.find('(')));
        if (!e.created() || e.fate == Fate::kept || e.schema == "-" || e.schema.empty()) continue;
        names.schemas.emplace(e.schema, build_schema(e.schema));
        // A key's index has the key's name: ALTER INDEX ... ATTACH PARTITION names it.
        const std::string table = e.table.size() > e.schema.size() ? e.table.substr(e.schema.size() + 1) : "";
        if (e.desc == "CONSTRAINT" && !table.empty() && e.tag.rfind(table + " ", 0) == 0)
            names.objects.emplace(e.schema, e.tag.substr(table.size() + 1));
        if (!names_an_object(e.desc)) continue;
        names.objects.emplace(e.schema, e.tag.substr(0, e.tag.find('(')));
    }
    return names;
}

std::string build_search_path(const BuildNames& names) {
    std::string path;
    if (names.schemas.count("public")) path = sql_name(names.schema_of("public")) + ", ";
    return "SET search_path = " + path + "public";
}

std::string sql_name(const std::string& name) {
    bool plain = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
    for (unsigned char c : name)
        if (!(std::islower(c) || std::isdigit(c) || c == '_')) plain = false;
    if (plain) return name;
    std::string out = "\"";
    for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string rewrite_for_build(std::string_view sql, const BuildNames& names) {
    const auto toks = tokens(sql);
    std::string out;
    out.reserve(sql.size() + 64);
    for (std::size_t i = 0; i < toks.size(); ++i) {
        const Token& t = toks[i];
        const std::string_view text = sql.substr(t.begin, t.end - t.begin);
        const bool qualifier = is_name(t) && i + 2 < toks.size() && toks[i + 1].kind == Tok::other && sql[toks[i + 1].begin] == '.' &&
                               is_name(toks[i + 2]);
        if (qualifier && names.built(t.value, toks[i + 2].value)) {
            out += sql_name(names.schema_of(t.value));
            continue;
        }
        std::string schema, name, name_text;
        if (t.kind == Tok::string && split_qualified(t.value, schema, name, name_text) && names.built(schema, name)) {
            out += literal(sql_name(names.schema_of(schema)) + "." + name_text);
            continue;
        }
        out += text;
    }
    return out;
}

}  // namespace pixrep::common
