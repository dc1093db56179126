#include "toc.hpp"

#include <cstdlib>
#include <map>
#include <sstream>

namespace pixrep::common {

RestorePlan plan_from_scan(const std::vector<ScannedEntry>& scanned) {
    RestorePlan plan;
    std::map<int, std::size_t> index;
    for (const auto& s : scanned) {
        TocEntry e;
        e.id = DumpId{s.id};
        e.desc = s.desc;
        e.schema = s.schema.empty() ? "-" : s.schema;
        e.tag = s.tag;
        e.owner = s.owner;
        e.catalog_id = s.catalog_id;
        for (int d : s.deps) e.deps.push_back(DumpId{d});
        e.sql = s.defn;
        while (!e.sql.empty() && (e.sql.back() == '\n' || e.sql.back() == ' ')) e.sql.pop_back();
        e.copy = s.copy;
        e.rows = s.rows;
        e.first_key_max = s.first_key_max;
        e.data_sha256 = s.data_sha256;
        e.data_offset = s.data_offset;
        if (e.desc == "TABLE") e.table = e.schema + "." + e.tag;
        index[s.id] = plan.entries.size();
        plan.entries.push_back(std::move(e));
    }
    // A constraint, trigger or rule also depends on the tables it references: its own table is
    // the one its tag starts with ("schooling-registrations schooling-registrations_userId_fkey").
    for (auto& e : plan.entries) {
        if (!e.table.empty()) continue;
        for (DumpId d : e.deps) {
            auto it = index.find(raw(d));
            if (it == index.end() || plan.entries[it->second].desc != "TABLE") continue;
            const auto& t = plan.entries[it->second];
            if (e.table.empty() || e.tag.rfind(t.tag + " ", 0) == 0) e.table = t.table;
        }
    }
    return plan;
}

std::vector<int> listed_ids(const std::string& out) {
    std::vector<int> ids;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == ';') continue;
        auto semi = line.find(';');
        if (semi == std::string::npos) continue;
        ids.push_back(std::atoi(line.c_str()));
    }
    return ids;
}

int pg_restore_major_for(int vmaj, int vmin) {
    const int v = vmaj * 100 + vmin;
    if (v >= 116) return 17;
    if (v >= 115) return 16;
    if (v >= 114) return 12;
    return 0;
}

std::string list_line(const TocEntry& e) {
    std::string rest = e.catalog_id + " " + e.desc + " " + (e.schema.empty() ? "-" : e.schema) + " " + e.tag + " " +
                       (e.owner.empty() ? "-" : e.owner);
    // pg_restore reads a list line by line and takes the number that starts each: a name
    // holding "\n42; " would otherwise bring back entry 42. pg_restore -l writes no control
    // character either.
    for (auto& c : rest)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return std::to_string(raw(e.id)) + "; " + rest;
}

}  // namespace pixrep::common
