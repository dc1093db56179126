#include "live_plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "db.hpp"

namespace pixrep::live {
namespace {

// Entries of pg_dump's post-data section: the data goes before the first of them.
bool post_data(const std::string& desc) {
    static const std::set<std::string> kinds{"INDEX", "INDEX ATTACH", "CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "TRIGGER",
                                             "EVENT TRIGGER", "RULE", "POLICY", "ROW SECURITY", "MATERIALIZED VIEW DATA",
                                             "PUBLICATION", "PUBLICATION TABLE", "SUBSCRIPTION", "STATISTICS", "DEFAULT ACL"};
    return kinds.count(desc) > 0;
}

std::string literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

}  // namespace

std::string catalog_oid(const std::string& catalog_id) {
    auto sp = catalog_id.find(' ');
    return sp == std::string::npos ? catalog_id : catalog_id.substr(sp + 1);
}

RestorePlan live_plan(RestorePlan schema, const std::vector<SourceTable>& tables, const std::vector<SourceSequence>& sequences,
                      const std::set<std::string>& populated_views) {
    std::map<std::string, const SourceTable*> by_table;
    for (const auto& t : tables) by_table[t.oid] = &t;
    std::map<std::string, const SourceSequence*> by_sequence;
    for (const auto& s : sequences) by_sequence[s.oid] = &s;
    int next = 0;
    for (const auto& e : schema.entries) next = std::max(next, raw(e.id));
    std::vector<std::pair<std::int64_t, TocEntry>> data;
    std::vector<TocEntry> values;
    for (const auto& e : schema.entries) {
        const std::string oid = catalog_oid(e.catalog_id);
        const std::string name = common::sql_name(e.schema) + "." + common::sql_name(e.tag);
        if (e.desc == "TABLE" && by_table.count(oid)) {
            const SourceTable& t = *by_table[oid];
            TocEntry d;
            d.desc = "TABLE DATA", d.schema = e.schema, d.tag = e.tag, d.owner = e.owner, d.catalog_id = "0 " + oid;
            d.deps = {e.id}, d.table = e.table;
            d.copy = "COPY " + name + " (" + t.columns + ") FROM stdin;\n";
            data.emplace_back(t.bytes, std::move(d));
        } else if (e.desc == "SEQUENCE" && by_sequence.count(oid)) {
            const SourceSequence& s = *by_sequence[oid];
            TocEntry v;
            v.desc = "SEQUENCE SET", v.schema = e.schema, v.tag = e.tag, v.owner = e.owner, v.catalog_id = "0 0", v.deps = {e.id};
            v.sql = "SELECT pg_catalog.setval(" + literal(name) + ", " + s.last_value + ", " + (s.is_called ? "true" : "false") + ");\n";
            values.push_back(std::move(v));
        }
    }
    std::stable_sort(data.begin(), data.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<TocEntry> added;
    for (auto& [bytes, d] : data) d.id = DumpId{++next}, added.push_back(std::move(d));
    for (auto& v : values) v.id = DumpId{++next}, added.push_back(std::move(v));
    auto at = std::find_if(schema.entries.begin(), schema.entries.end(), [](const TocEntry& e) { return post_data(e.desc); });
    schema.entries.insert(at, std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
    // --schema-only writes materialized views WITH NO DATA: a populated one is refreshed at the
    // end, as pg_dump's MATERIALIZED VIEW DATA entry does.
    std::vector<TocEntry> refreshes;
    for (const auto& e : schema.entries)
        if (e.desc == "MATERIALIZED VIEW" && populated_views.count(catalog_oid(e.catalog_id))) {
            TocEntry r;
            r.desc = "MATERIALIZED VIEW DATA", r.schema = e.schema, r.tag = e.tag, r.owner = e.owner, r.catalog_id = "0 " + catalog_oid(e.catalog_id);
            r.deps = {e.id}, r.id = DumpId{++next};
            r.sql = "REFRESH MATERIALIZED VIEW " + common::sql_name(e.schema) + "." + common::sql_name(e.tag) + ";\n";
            refreshes.push_back(std::move(r));
        }
    schema.entries.insert(schema.entries.end(), refreshes.begin(), refreshes.end());
    return schema;
}

std::vector<std::string> key_ranges(const std::string& key, std::int64_t min, std::int64_t max, int parts) {
    if (parts <= 1 || max <= min) return {""};
    const std::int64_t width = std::max<std::int64_t>(1, (max - min) / parts + 1);
    std::vector<std::string> out;
    for (int i = 0; i < parts; ++i) {
        const std::int64_t lo = min + width * i, hi = lo + width;
        if (lo > max) break;
        const bool first = i == 0, last = hi > max || i == parts - 1;
        if (first && last) return {""};
        if (first) out.push_back(key + " < " + std::to_string(hi));
        else if (last) out.push_back(key + " >= " + std::to_string(lo));
        else out.push_back(key + " >= " + std::to_string(lo) + " AND " + key + " < " + std::to_string(hi));
        if (last) break;
    }
    return out;
}

bool lost_snapshot(const std::string& sqlstate, const std::string& message) {
    return sqlstate == "22023" && message.find("invalid snapshot identifier") != std::string::npos;
}

}  // namespace pixrep::live
