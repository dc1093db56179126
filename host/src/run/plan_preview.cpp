#include "plan_preview.hpp"

#include <iomanip>
#include <map>
#include <sstream>

namespace pixrep {

std::string format_plan(const Backup* backup, const RestorePlan& plan, const std::vector<Deferred>& work, const std::vector<Append>& appends,
                        const Tool& pg_restore) {
    std::ostringstream out;
    if (backup)
        out << "backup: " << backup->name << " (" << backup->dump.string() << "), made by pg_dump " << backup->pg_dump_version
            << ", archive format " << backup->archive_version << ", restored with pg_restore " << pg_restore.version << " ("
            << pg_restore.path.string() << ")\n";
    if (!plan.loaded()) {
        out << "no restore plan (no source step loaded a dump)\n";
        return out.str();
    }
    std::map<std::string, std::pair<int, int>> per_kind;  // restored, not restored by pg_restore
    for (const auto& e : plan.entries) (e.restored() ? per_kind[e.desc].first : per_kind[e.desc].second)++;
    out << "restore plan: " << plan.restored_count() << " of " << plan.entries.size() << " entries will be restored\n";
    out << "  " << std::left << std::setw(26) << "kind" << std::right << std::setw(9) << "restored" << std::setw(10) << "excluded" << "\n";
    for (const auto& [kind, n] : per_kind)
        out << "  " << std::left << std::setw(26) << kind << std::right << std::setw(9) << n.first << std::setw(10) << n.second << "\n";
    std::map<std::string, std::int64_t> tables;
    for (const auto& e : plan.entries)
        if (e.restored() && e.desc == "TABLE DATA") tables[e.schema + "." + e.tag] = e.rows;
    out << "tables restored with data: " << tables.size() << "\n";
    for (const auto& [t, rows] : tables) out << "  " << t << (rows >= 0 ? "  (" + std::to_string(rows) + " rows)" : "") << "\n";
    std::map<std::string, std::vector<const TocEntry*>> by_step;
    for (const auto& e : plan.entries)
        if (!e.restored())
            by_step[(e.fate == Fate::excluded ? "excluded by " : e.fate == Fate::kept ? "kept on the target by " : "created by ") + e.by]
                .push_back(&e);
    for (const auto& [who, list] : by_step) {
        out << who << ": " << list.size() << "\n";
        for (const auto* e : list) out << "  " << e->desc << " " << e->qualified() << "  (" << e->reason << ")\n";
    }
    if (!appends.empty()) {
        out << "new rows appended to kept tables, beside pg_restore: " << appends.size() << "\n";
        for (const auto& a : appends) out << "  [" << a.by << "] " << a.table << ": rows whose " << a.key << " is above " << a.above << "\n";
    }
    if (!work.empty()) {
        out << "deferred work, run beside or after pg_restore: " << work.size() << "\n";
        for (const auto& d : work)
            out << "  [" << d.by << "] " << (d.table.empty() ? "after the restore" : "once " + d.table + " is loaded") << ": "
                << (d.sql.empty() ? d.label : d.sql.front() + (d.sql.size() > 1 ? " ..." : "")) << "\n";
    }
    return out.str();
}

}  // namespace pixrep
