#include "rules.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "digest.hpp"

namespace pixrep::mask {
namespace {

std::string at(const std::string& file, int line) { return file + ":" + std::to_string(line) + ": "; }

// Where `rule` was written: the file's line, or the label it comes from.
std::string origin(const Rules& rules, const ColumnRule& rule) {
    return rule.label.empty() ? at(rules.file, rule.line) : "SECURITY LABEL '" + rule.label + "': ";
}

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

std::string qualified(const std::string& table) { return table.find('.') == std::string::npos ? "public." + table : table; }

}  // namespace

std::optional<ColumnRule> TableRules::rule(const std::string& column) const {
    auto it = columns.find(column);
    if (it != columns.end()) return it->second;
    return rest;
}

std::string Rules::fingerprint() const {
    common::Sha256 sha;
    for (const auto& [table, rules] : tables) {
        std::string line = table + "\n";
        for (const auto& [column, rule] : rules.columns) line += column + "=" + name_of(rule.transform) + "\n";
        if (rules.rest) line += std::string("*=") + name_of(rules.rest->transform) + "\n";
        sha.update(line.data(), line.size());
    }
    return sha.hex();
}

Rules parse_rules(const std::string& text, const std::string& path) {
    toml::table doc;
    try {
        doc = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        throw RulesError(at(path, static_cast<int>(e.source().begin.line)) + std::string(e.description()));
    }
    Rules rules{path, {}};
    for (const auto& [key, node] : doc) {
        if (key.str() != "tables" || !node.is_table())
            throw RulesError(at(path, line_of(node)) + "'" + std::string(key.str()) + "' is not known; rules go in [tables.\"schema.table\"] sections");
    }
    const toml::table* tables = doc["tables"].as_table();
    if (!tables) return rules;
    for (const auto& [name, node] : *tables) {
        const auto* section = node.as_table();
        if (!section) throw RulesError(at(path, line_of(node)) + "tables." + std::string(name.str()) + " is not a section of columns");
        const std::string table = qualified(std::string(name.str()));
        if (rules.tables.count(table)) throw RulesError(at(path, line_of(node)) + table + " has two sections");
        TableRules& t = rules.tables[table];
        t.line = line_of(node);
        for (const auto& [column, value] : *section) {
            const int line = line_of(value);
            const auto* s = value.as_string();
            if (!s) throw RulesError(at(path, line) + table + "." + std::string(column.str()) + ": a transform is a string (" + transform_names() + ")");
            auto tr = transform_named(s->get());
            if (!tr)
                throw RulesError(at(path, line) + table + "." + std::string(column.str()) + ": unknown transform '" + s->get() + "' (known: " +
                                 transform_names() + ")");
            if (column.str() == "*") t.rest = ColumnRule{*tr, line};
            else t.columns[std::string(column.str())] = ColumnRule{*tr, line};
        }
    }
    return rules;
}

Rules read_rules(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw RulesError(path + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_rules(text.str(), path);
}

std::vector<Inherited> inherit(const Rules& rules, const std::vector<ForeignKey>& keys, std::vector<std::string>& problems) {
    std::map<std::pair<std::string, std::string>, Transform> masked;  // (table, column) -> transform
    for (const auto& [table, t] : rules.tables)
        for (const auto& [column, rule] : t.columns)
            if (rule.transform != Transform::keep) masked[{table, column}] = rule.transform;
    std::vector<Inherited> out;
    std::set<std::pair<std::string, std::string>> contradicted;
    for (bool more = true; more;) {  // chains: a key referencing a key that references a masked one
        more = false;
        for (const auto& k : keys) {
            auto from = masked.find({k.references, k.referenced});
            if (from == masked.end() || masked.count({k.table, k.column})) continue;
            const ColumnRule* own = nullptr;
            if (auto t = rules.tables.find(k.table); t != rules.tables.end())
                if (auto c = t->second.columns.find(k.column); c != t->second.columns.end()) own = &c->second;
            if (own) {
                if (!contradicted.insert({k.table, k.column}).second) continue;  // said on an earlier pass
                problems.push_back(origin(rules, *own) + k.table + "." + k.column + ": " + name_of(own->transform) + ", but it references " +
                                   k.references + "." + k.referenced + ", masked with " + name_of(from->second) +
                                   ": joins on it would break; give it the same transform");
                continue;
            }
            masked[{k.table, k.column}] = from->second;
            out.push_back({k.table, k.column, k.references + "." + k.referenced, from->second});
            more = true;
        }
    }
    return out;
}

std::vector<std::string> problems(const Rules& rules, const std::vector<TableFacts>& tables) {
    std::vector<std::string> out;
    for (const auto& facts : tables) {
        auto it = rules.tables.find(facts.table);
        if (it == rules.tables.end()) {
            out.push_back("table " + facts.table + " has no masking rules in " + rules.file + " (add [tables.\"" + facts.table + "\"])");
            continue;
        }
        const TableRules& t = it->second;
        // A star beside masked columns would keep, unseen, the next column production adds.
        const bool masks = std::any_of(t.columns.begin(), t.columns.end(), [](const auto& c) { return c.second.transform != Transform::keep; });
        if (t.rest && t.rest->label.empty() && masks)  // from labels, Anonymizer's own rule: unlabelled is kept
            out.push_back(at(rules.file, t.rest->line) + facts.table + ": \"*\" beside masked columns would keep a column added later "
                                                         "unseen; name every column of a table that has masked ones");
        std::set<std::string> columns;
        for (const auto& c : facts.columns) {
            columns.insert(c.name);
            auto rule = t.rule(c.name);
            if (!rule) {
                out.push_back("column " + facts.table + "." + c.name + " (" + c.type + ") has no masking rule in " + rules.file);
                continue;
            }
            const std::string where = origin(rules, *rule) + facts.table + "." + c.name + ": ";
            if (auto why = unfit(rule->transform, c.type, c.not_null); !why.empty()) out.push_back(where + name_of(rule->transform) + ": " + why);
            else if (c.unique && !injective(rule->transform))
                out.push_back(where + name_of(rule->transform) + " can give two rows one value, and the column is unique (use hash or email)");
        }
        for (const auto& [name, rule] : t.columns)
            if (!columns.count(name)) out.push_back(origin(rules, rule) + facts.table + " has no column '" + name + "'");
    }
    // Rules of a table not restored tonight (left out, excluded) are kept for the nights it is.
    return out;
}

}  // namespace pixrep::mask
