#include "append_order.hpp"

#include <algorithm>
#include <set>

namespace pixrep::restore {

std::vector<DumpId> after_appends(const RestorePlan& plan, const std::vector<Append>& appends) {
    std::set<DumpId> tables;
    std::set<std::string> names;
    for (const auto& a : appends)
        if (const TocEntry* t = plan.table(a.table)) tables.insert(t->id), names.insert(a.table);
    std::vector<DumpId> out;
    for (const auto& e : plan.entries) {
        if (!e.restored() || (e.desc != "FK CONSTRAINT" && e.desc != "TRIGGER")) continue;
        // A foreign key depends on the tables on both of its sides.
        bool touches = names.count(e.table) != 0 || std::any_of(e.deps.begin(), e.deps.end(), [&](DumpId d) { return tables.count(d) != 0; });
        if (touches) out.push_back(e.id);
    }
    return out;
}

std::vector<std::string> kept_whole(const RestoreContext& ctx) {
    std::set<DumpId> appended;
    for (const auto& a : ctx.appends()) appended.insert(a.data);
    std::vector<std::string> out;
    for (const auto& e : ctx.plan().entries)
        if (e.desc == "TABLE DATA" && e.fate == Fate::kept && !appended.count(e.id) && !e.table.empty()) out.push_back(e.table);
    return out;
}

}  // namespace pixrep::restore
