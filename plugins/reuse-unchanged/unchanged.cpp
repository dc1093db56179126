#include "unchanged.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <tuple>

#include "digest.hpp"

namespace pixrep::reuse {

std::string format(const Remembered& r) {
    return "definition=" + r.definition + " rows=" + r.rows + " node=" + std::to_string(r.node);
}

std::optional<Remembered> parse(const std::string& text) {
    std::istringstream in(text);
    std::string d, r, n;
    if (!(in >> d >> r >> n) || d.rfind("definition=", 0) != 0 || r.rfind("rows=", 0) != 0 || n.rfind("node=", 0) != 0) return std::nullopt;
    Remembered out{d.substr(11), r.substr(5), 0};
    try {
        std::size_t used = 0;
        out.node = std::stoll(n.substr(5), &used);
        if (used != n.size() - 5) return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (out.definition.size() != 64 || out.rows.size() != 64) return std::nullopt;
    return out;
}

namespace {

void add(common::Sha256& h, const TocEntry& e) {
    for (const std::string* s : {&e.desc, &e.schema, &e.tag, &e.sql, &e.copy}) {
        const std::string len = std::to_string(s->size()) + ":";  // lengths first: no two lists hash alike
        h.update(len.data(), len.size());
        h.update(s->data(), s->size());
    }
}

}  // namespace

std::string definition_of(const RestorePlan& plan, const TocEntry& table) {
    std::vector<const TocEntry*> parts{&table};
    for (const auto& e : plan.entries)
        if (e.id != table.id && e.created() && e.table == table.table) parts.push_back(&e);
    std::sort(parts.begin() + 1, parts.end(), [](const TocEntry* a, const TocEntry* b) {
        return std::tie(a->desc, a->tag, a->sql) < std::tie(b->desc, b->tag, b->sql);
    });
    for (DumpId d : table.deps)
        if (const TocEntry* e = plan.find(d); e && e->desc != "SCHEMA") parts.push_back(e);
    common::Sha256 h;
    for (const TocEntry* e : parts) add(h, *e);
    return h.hex();
}

std::string ineligible(const RestorePlan& plan, const TocEntry& table) {
    if (table.sql.find(" PARTITION ") != std::string::npos || table.sql.find("\nPARTITION BY ") != std::string::npos ||
        table.sql.find(" INHERITS (") != std::string::npos)
        return "a partition, a partitioned table or an inheriting one";
    for (DumpId d : table.deps)
        if (const TocEntry* e = plan.find(d); e && e->desc != "SCHEMA") return "it uses " + e->desc + " " + e->qualified();
    static const std::set<std::string> plain{"TABLE DATA", "INDEX", "CONSTRAINT", "FK CONSTRAINT", "DEFAULT", "COMMENT", "SEQUENCE OWNED BY", "ACL"};
    for (const auto& e : plan.entries) {
        if (e.id == table.id || !e.created()) continue;
        // A serial column's sequence, not an identity's (ALTER TABLE ... ADD GENERATED).
        const bool serial = (e.desc == "SEQUENCE" && e.sql.rfind("CREATE SEQUENCE ", 0) == 0) || e.desc == "SEQUENCE SET";
        if (e.table == table.table && !plain.count(e.desc) && !serial) return "it has a " + e.desc + " (" + e.tag + ")";
        // Rows added to it by other tables' partitions or inheritance.
        if (e.desc == "TABLE" && std::find(e.deps.begin(), e.deps.end(), table.id) != e.deps.end()) return "TABLE " + e.qualified() + " stands on it";
    }
    return "";
}

std::vector<std::string> planned_indexes(const RestorePlan& plan, const TocEntry& table) {
    std::vector<std::string> out;
    const std::string prefix = table.tag + " ";
    for (const auto& e : plan.entries) {
        if (!e.created() || e.table != table.table) continue;
        if (e.desc == "INDEX") out.push_back(e.tag);
        // pg_dump tags a key "<table> <constraint>"; its index has the constraint's name.
        if (e.desc == "CONSTRAINT" && e.tag.rfind(prefix, 0) == 0 && e.sql.find("FOREIGN KEY") == std::string::npos)
            out.push_back(e.tag.substr(prefix.size()));
    }
    return out;
}

Verdict judge(const std::optional<Remembered>& last, const std::string& definition, const TargetTable& target,
              const std::vector<std::string>& planned) {
    if (!last) return {false, "no record of an earlier restore"};
    if (last->definition != definition) return {false, "its definition changed"};
    if (!target.exists) return {false, "not on the target"};
    if (target.node != last->node) return {false, "rewritten on the target since the last restore"};
    std::string added;
    for (const auto& i : target.indexes)
        if (std::find(planned.begin(), planned.end(), i) == planned.end()) added += (added.empty() ? "" : ", ") + i;
    if (!added.empty()) return {false, "has indexes the backup does not make (" + added + "), made again by a later step"};
    return {true, "definition as at the last restore"};
}

Verdict judge_rows(const Remembered& last, const std::string& rows) {
    if (rows.empty()) return {false, "its rows were not checksummed (a dump compressed other than with gzip)"};
    if (rows != last.rows) return {false, "its rows changed"};
    return {true, "definition and rows as at the last restore"};
}

}  // namespace pixrep::reuse
