#include "keys.hpp"

#include <regex>
#include <set>

namespace pixrep::restore {

std::vector<KeyWork> key_deferrals(const RestorePlan& plan) {
    static const std::regex key_re(R"(^ALTER TABLE ONLY (\S+)\s+ADD CONSTRAINT (\S+) (PRIMARY KEY|UNIQUE) (\(.*\));$)");
    std::set<DumpId> needed;
    for (const auto& e : plan.entries)
        if (e.restored())
            for (DumpId d : e.deps) needed.insert(d);
    std::vector<KeyWork> out;
    for (const auto& e : plan.entries) {
        std::smatch m;
        if (!e.restored() || e.desc != "CONSTRAINT" || needed.count(e.id) || !std::regex_match(e.sql, m, key_re)) continue;
        const TocEntry* table = nullptr;
        for (DumpId d : e.deps)
            if (const auto* t = plan.find(d); t && t->desc == "TABLE") table = t;
        if (!table || table->sql.find("PARTITION BY") != std::string::npos) continue;
        const std::string tbl = m[1], name = m[2], kind = m[3], cols = m[4];
        out.push_back({e.id,
                       {name, "CONSTRAINT",
                        {"CREATE UNIQUE INDEX " + name + " ON " + tbl + " USING btree " + cols,
                         "ALTER TABLE ONLY " + tbl + " ADD CONSTRAINT " + name + " " + kind + " USING INDEX " + name},
                        e.table, e.deps}});
    }
    return out;
}

}  // namespace pixrep::restore
