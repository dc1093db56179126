#include "unchanged.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <tuple>

#include "digest.hpp"

namespace pixrep::reuse {

namespace {

bool whole_number(const std::string& s, std::int64_t& out) {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("-0123456789") != std::string::npos) return false;
    try {
        std::size_t used = 0;
        out = std::stoll(s, &used);
        return used == s.size();
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

std::string format(const Remembered& r) {
    return "definition=" + r.definition + " rows=" + r.rows + " node=" + std::to_string(r.node) + (r.changed ? " changed" : "");
}

std::optional<Remembered> parse(const std::string& text) {
    std::istringstream in(text);
    std::string d, r, n, changed, more;
    if (!(in >> d >> r >> n) || d.rfind("definition=", 0) != 0 || r.rfind("rows=", 0) != 0 || n.rfind("node=", 0) != 0) return std::nullopt;
    if ((in >> changed && changed != "changed") || in >> more) return std::nullopt;
    Remembered out{d.substr(11), r.substr(5), 0, changed == "changed"};
    if (!whole_number(n.substr(5), out.node)) return std::nullopt;
    // A masked table's definition is followed by "+" and its masking's fingerprint.
    const bool definition = out.definition.size() == 64 || (out.definition.size() > 65 && out.definition[64] == '+');
    if (!definition || (out.rows.size() != 64 && !parse_live(out.rows))) return std::nullopt;
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

Verdict judge_changing(const Remembered& last) {
    if (last.changed) return {false, "its rows changed at the last restore too, so tonight's checksum is not waited for"};
    return {true, ""};
}

namespace {

// Below 2^31 a transaction's age orders it; a margin for the transactions begun since the snapshot.
constexpr std::uint64_t kOrderedAge = std::uint64_t{1} << 30;


}  // namespace

std::string format_live(const LiveRows& r) {
    return "live:" + std::to_string(r.xmin) + ":" + std::to_string(r.rows) + ":" + std::to_string(r.writes);
}

std::optional<LiveRows> parse_live(const std::string& text) {
    if (text.rfind("live:", 0) != 0) return std::nullopt;
    std::vector<std::string> parts;
    for (std::size_t start = 5, p;; start = p + 1) {
        p = text.find(':', start);
        parts.push_back(text.substr(start, p == std::string::npos ? std::string::npos : p - start));
        if (p == std::string::npos) break;
    }
    std::int64_t xmin = 0, rows = 0, writes = 0;
    if (parts.size() != 3 || !whole_number(parts[0], xmin) || !whole_number(parts[1], rows) || !whole_number(parts[2], writes) || xmin < 0 ||
        rows < 0 || writes < -1)
        return std::nullopt;
    return LiveRows{static_cast<std::uint64_t>(xmin), rows, writes};
}

Verdict judge_live(const std::string& last_rows, const LiveSnapshot& tonight, std::int64_t writes) {
    auto last = parse_live(last_rows);
    if (!last) return {false, "last restored from a backup, not from a live source"};
    if (tonight.xmin < last->xmin) return {false, "the source's transactions are behind those of the last restore (another server?)"};
    if (tonight.xmax - last->xmin >= kOrderedAge) return {false, "over a billion transactions at the source since the last restore"};
    if (writes >= 0 && last->writes >= 0 && writes != last->writes)
        return {false, "written at the source since the last restore (its statistics count " + std::to_string(writes - last->writes) + " row(s))"};
    return {true, "no write counted since the last restore"};
}

std::string written_since_sql(const LiveRows& last) {
    // xid has no order; age() does, relative to the same instant for both sides of the test. A
    // row frozen long ago may wrap to look young: it is then only counted, or sent, once more.
    return "age(xmin) <= age('" + std::to_string(last.xmin & 0xffffffffu) + "'::xid)";
}

std::string live_count_sql(const std::string& table, const LiveRows& last) {
    return "SELECT count(*)::text || ' ' || count(*) FILTER (WHERE " + written_since_sql(last) + ")::text FROM ONLY " + table;
}

std::optional<LiveCount> parse_live_count(const std::string& answer) {
    const auto space = answer.find(' ');
    LiveCount out;
    if (space == std::string::npos || !whole_number(answer.substr(0, space), out.rows) || !whole_number(answer.substr(space + 1), out.written) ||
        out.rows < 0 || out.written < 0)
        return std::nullopt;
    return out;
}

Verdict judge_live_count(const LiveRows& last, const std::string& answer) {
    const auto count = parse_live_count(answer);
    if (!count) return {false, "its rows could not be counted at the source"};
    if (count->written > 0)
        return {false, "its rows changed: " + std::to_string(count->written) + " row(s) written at the source since the last restore"};
    if (count->rows != last.rows)
        return {false, "its rows changed: " + std::to_string(count->rows) + " row(s) at the source, " + std::to_string(last.rows) +
                           " at the last restore"};
    return {true, "definition as at the last restore, and no row written at the source since (" + std::to_string(count->rows) + " rows)"};
}

Verdict judge_changes(const LiveCount& tonight, const std::string& key, bool key_rewritten, double max_share) {
    if (key.empty()) return {false, "no single-column integer primary key to apply its changes by"};
    if (key_rewritten) return {false, "masking rewrites its key, by which its changes would be applied"};
    if (static_cast<double>(tonight.written) > max_share * static_cast<double>(tonight.rows))
        return {false, std::to_string(tonight.written) + " of its " + std::to_string(tonight.rows) +
                           " rows written at the source since the last restore: more than a rebuild costs (changes_share)"};
    return {true, ""};
}

std::int64_t rows_deleted(std::int64_t target_rows, std::int64_t written, std::int64_t present, std::int64_t source_rows) {
    return target_rows + (written - present) - source_rows;
}

}  // namespace pixrep::reuse
