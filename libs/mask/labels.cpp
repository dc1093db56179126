#include "labels.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <nlohmann/json.hpp>
#include <pg_query.h>

namespace pixrep::mask {
namespace {

using nlohmann::json;

// `sql`'s statements as libpg_query's parse trees; none when it does not parse.
std::vector<json> statements(const std::string& sql) {
    PgQueryParseResult r = pg_query_parse(sql.c_str());
    std::vector<json> out;
    if (!r.error && r.parse_tree) {
        json tree = json::parse(r.parse_tree, nullptr, false);
        if (tree.is_object() && tree.contains("stmts"))
            for (const auto& s : tree["stmts"]) out.push_back(s.value("stmt", json::object()));
    }
    pg_query_free_parse_result(r);
    return out;
}

std::optional<json> first_statement(const std::string& sql) {
    auto all = statements(sql);
    return all.empty() ? std::nullopt : std::optional<json>(all.front());
}

// The names of a parse tree's list of String nodes.
std::vector<std::string> names(const json& items) {
    std::vector<std::string> out;
    for (const auto& i : items)
        if (i.contains("String")) out.push_back(i["String"].value("sval", ""));
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// After `prefix`, compared without case; nullopt when `text` does not start with it.
std::optional<std::string> after(const std::string& text, const std::string& prefix) {
    auto start = text.find_first_not_of(" \t\n");
    if (start == std::string::npos || lower(text.substr(start, prefix.size())) != lower(prefix)) return std::nullopt;
    return text.substr(start + prefix.size());
}

// Anonymizer's functions and what does the same here: one table, read by transform_of().
const std::map<std::string, Transform>& by_function() {
    static const std::map<std::string, Transform> table{
        {"anon.fake_email", Transform::email},           {"anon.pseudo_email", Transform::email},
        {"anon.fake_first_name", Transform::first_name}, {"anon.pseudo_first_name", Transform::first_name},
        {"anon.dummy_first_name", Transform::first_name}, {"anon.fake_last_name", Transform::last_name},
        {"anon.pseudo_last_name", Transform::last_name}, {"anon.dummy_last_name", Transform::last_name},
        {"anon.hash", Transform::hash},                  {"anon.digest", Transform::hash},
    };
    return table;
}

std::optional<Transform> of_function(const json& call) {
    auto name = names(call.value("funcname", json::array()));
    if (name.size() == 2 && name[0] == "pg_catalog") name.erase(name.begin());
    std::string joined;
    for (const auto& n : name) joined += (joined.empty() ? "" : ".") + lower(n);
    if (joined == "date_trunc") {  // Pix's own generalisation, as a label would write it
        const auto args = call.value("args", json::array());
        const auto unit = args.empty() ? json() : args[0].value("A_Const", json::object()).value("sval", json::object()).value("sval", json());
        if (unit == "month") return Transform::year_month;
        if (unit == "year") return Transform::year;
        return std::nullopt;
    }
    auto it = by_function().find(joined);
    return it == by_function().end() ? std::nullopt : std::optional<Transform>(it->second);
}

}  // namespace

std::vector<ColumnLabel> column_labels(const TocEntry& e) {
    std::vector<ColumnLabel> out;
    if (e.desc != "SECURITY LABEL") return out;
    for (const auto& stmt : statements(e.sql)) {
        if (!stmt.contains("SecLabelStmt")) continue;
        const json& s = stmt["SecLabelStmt"];
        if (s.value("provider", "") != "anon" || s.value("objtype", "") != "OBJECT_COLUMN") continue;
        auto object = names(s.value("object", json::object()).value("List", json::object()).value("items", json::array()));
        if (object.size() == 3) out.push_back({object[0] + "." + object[1], object[2], s.value("label", "")});  // pg_dump qualifies
    }
    return out;
}

std::optional<Transform> transform_of(const std::string& label) {
    if (auto value = after(label, "MASKED WITH VALUE ")) {
        auto stmt = first_statement("SELECT " + *value);
        if (!stmt) return std::nullopt;
        const auto targets = (*stmt).value("SelectStmt", json::object()).value("targetList", json::array());
        if (targets.size() == 1 && targets[0]["ResTarget"]["val"].value("A_Const", json::object()).value("isnull", false)) return Transform::null;
        return std::nullopt;
    }
    auto function = after(label, "MASKED WITH FUNCTION ");
    if (!function) return std::nullopt;
    auto stmt = first_statement("SELECT " + *function);
    if (!stmt) return std::nullopt;
    const auto targets = (*stmt).value("SelectStmt", json::object()).value("targetList", json::array());
    if (targets.size() != 1 || !targets[0]["ResTarget"]["val"].contains("FuncCall")) return std::nullopt;
    return of_function(targets[0]["ResTarget"]["val"]["FuncCall"]);
}

Rules with_labels(const std::optional<Rules>& file, const RestorePlan& plan, const std::vector<TableFacts>& tables,
                  std::vector<std::string>& problems) {
    Rules out = file ? *file : Rules{"Anonymizer's labels", {}};
    std::map<std::string, std::vector<ColumnLabel>> labelled;
    for (const auto& e : plan.entries)
        for (auto& l : column_labels(e)) labelled[l.table].push_back(std::move(l));
    for (const auto& facts : tables) {
        auto labels = labelled.find(facts.table);
        const bool has_labels = labels != labelled.end();
        if (!out.tables.count(facts.table)) {
            if (file && !has_labels) continue;  // privacy by default: problems() names it
            // As Anonymizer: what no label names is kept; not a rule of its own, so a column
            // referencing a masked key still takes the key's transform.
            out.tables[facts.table].rest = ColumnRule{Transform::keep, 0, "(no label: kept, as Anonymizer keeps it)"};
        }
        if (!has_labels) continue;
        TableRules& t = out.tables[facts.table];
        for (const auto& l : labels->second) {
            if (t.columns.count(l.column)) continue;  // the rules file says otherwise, and wins
            auto transform = transform_of(l.text);
            if (!transform) {
                problems.push_back("SECURITY LABEL FOR anon on " + facts.table + "." + l.column + " ('" + l.text +
                                   "'): no transform here does what it asks; give the column a rule in MASKING_RULES");
                continue;
            }
            t.columns[l.column] = ColumnRule{*transform, 0, l.text};
        }
    }
    return out;
}

}  // namespace pixrep::mask
