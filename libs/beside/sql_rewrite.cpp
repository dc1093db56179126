#include "sql_rewrite.hpp"
#include "db.hpp"

#include <cctype>
#include <cstring>
#include <vector>

#include "object_kinds.hpp"

namespace pixrep::beside {

using common::sql_name;
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

// The kinds of entries that name an object of a schema, which other entries refer to as
// schema.name: what is built beside, and indexes (ALTER INDEX ... ATTACH PARTITION names them).
bool names_an_object(const std::string& desc) {
    const ObjectKind* k = object_kind(desc);
    return k && !k->family.empty() && (k->placement == Placement::moved || k->placement == Placement::attached);
}

bool is_dot(std::string_view sql, const Token& t) { return t.kind == Tok::other && t.end == t.begin + 1 && sql[t.begin] == '.'; }

bool operator_char(char c) { return c != 0 && std::strchr("+-*/<>=~!@#%^&|`?", c) != nullptr; }

// The operator name starting at token `i`: its characters, unbroken.
std::string operator_at(std::string_view sql, const std::vector<Token>& toks, std::size_t i) {
    std::string op;
    std::size_t next = i;
    while (next < toks.size() && toks[next].kind == Tok::other && toks[next].end == toks[next].begin + 1 && operator_char(sql[toks[next].begin]) &&
           (op.empty() || toks[next].begin == toks[next - 1].end))
        op += sql[toks[next++].begin];
    return op;
}

std::size_t skip_space(const std::vector<Token>& toks, std::size_t i) {
    while (i < toks.size() && toks[i].kind == Tok::space) ++i;
    return i;
}

// True when the string at token `i` is read as a name: cast to a name type ('public.users'::regclass),
// or the sequence argument of nextval, currval or setval, as pg_dump writes them.
bool literal_is_a_name(std::string_view sql, const std::vector<Token>& toks, std::size_t i) {
    std::size_t j = skip_space(toks, i + 1);
    if (j + 1 < toks.size() && sql.substr(toks[j].begin, 1) == ":" && sql.substr(toks[j + 1].begin, 1) == ":") {
        j = skip_space(toks, j + 2);
        if (j + 2 < toks.size() && toks[j].kind == Tok::ident && toks[j].value == "pg_catalog" && is_dot(sql, toks[j + 1])) j += 2;
        return j < toks.size() && toks[j].kind == Tok::ident && toks[j].value.rfind("reg", 0) == 0;
    }
    std::size_t k = i;
    while (k > 0 && toks[k - 1].kind == Tok::space) --k;
    if (k == 0 || sql.substr(toks[k - 1].begin, 1) != "(") return false;
    --k;
    while (k > 0 && toks[k - 1].kind == Tok::space) --k;
    if (k == 0 || toks[k - 1].kind != Tok::ident) return false;
    const std::string& f = toks[k - 1].value;
    return f == "nextval" || f == "currval" || f == "setval";
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


std::vector<std::pair<std::string, std::string>> created_names(std::string_view sql) {
    static const std::set<std::string> words{"or", "replace", "temp", "temporary", "unlogged", "materialized", "recursive", "table",
                                             "view", "sequence", "function", "procedure", "type", "domain", "aggregate", "if", "not",
                                             "exists", "foreign", "statistics", "collation", "text", "search", "configuration",
                                             "dictionary", "conversion", "default"};
    std::vector<Token> toks;
    for (auto& t : tokens(sql))
        if (t.kind != Tok::space) toks.push_back(std::move(t));
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < toks.size(); ++i) {
        if (toks[i].kind != Tok::ident || toks[i].value != "create") continue;
        std::size_t j = i + 1;
        while (j < toks.size() && toks[j].kind == Tok::ident && words.count(toks[j].value)) ++j;
        if (j == i + 1 || j + 2 >= toks.size() || !is_name(toks[j]) || !is_dot(sql, toks[j + 1]) || !is_name(toks[j + 2])) continue;
        out.emplace_back(toks[j].value, toks[j + 2].value);
    }
    return out;
}

void BuildNames::add_created(std::string_view sql) {
    for (const auto& [schema, name] : created_names(sql))
        if (schemas.count(schema) && !kept.count({schema, name})) objects.emplace(schema, name);
}

std::string rewrite_for_build(std::string_view sql, const BuildNames& names) {
    const auto toks = tokens(sql);
    std::string out;
    out.reserve(sql.size() + 64);
    for (std::size_t i = 0; i < toks.size(); ++i) {
        const Token& t = toks[i];
        const std::string_view text = sql.substr(t.begin, t.end - t.begin);
        const bool qualifier = is_name(t) && i + 2 < toks.size() && is_dot(sql, toks[i + 1]);
        if (qualifier && is_name(toks[i + 2]) && names.built(t.value, toks[i + 2].value)) {
            out += sql_name(names.schema_of(t.value));
            continue;
        }
        if (qualifier && toks[i + 1].end == toks[i + 2].begin) {
            const std::string op = operator_at(sql, toks, i + 2);
            if (!op.empty() && names.built(t.value, op)) {
                out += sql_name(names.schema_of(t.value));
                continue;
            }
        }
        std::string schema, name, name_text;
        if (t.kind == Tok::string && split_qualified(t.value, schema, name, name_text) && names.built(schema, name) &&
            literal_is_a_name(sql, toks, i)) {
            out += literal(sql_name(names.schema_of(schema)) + "." + name_text);
            continue;
        }
        out += text;
    }
    return out;
}

}  // namespace pixrep::beside
