#include "plan_edit.hpp"

#include <algorithm>
#include <map>

namespace pixrep {

std::size_t exclude_entries(RestorePlan& plan, const std::function<bool(const TocEntry&)>& match, const std::string& by,
                            const std::string& reason) {
    std::size_t n = 0;
    for (auto& e : plan.entries)
        if (e.created() && match(e)) {
            e.fate = Fate::excluded, e.by = by, e.reason = reason;
            ++n;
        }
    if (n == 0) return 0;
    std::map<DumpId, const TocEntry*> index;
    for (const auto& e : plan.entries) index[e.id] = &e;
    // Deferred entries go too: nothing can create what depends on an object left out.
    for (bool changed = true; changed;) {
        changed = false;
        for (auto& e : plan.entries) {
            if (!e.created()) continue;
            for (DumpId d : e.deps) {
                auto it = index.find(d);
                if (it == index.end() || it->second->created()) continue;
                e.fate = Fate::excluded, e.by = by;
                e.reason = "depends on excluded " + it->second->desc + " " + it->second->tag;
                ++n;
                changed = true;
                break;
            }
        }
    }
    return n;
}

bool defer_entry(RestorePlan& plan, DumpId id, const std::string& by, const std::string& reason) {
    for (auto& e : plan.entries)
        if (e.id == id && e.restored()) {
            e.fate = Fate::deferred, e.by = by, e.reason = reason;
            return true;
        }
    return false;
}

bool keep_entry(RestorePlan& plan, DumpId id, const std::string& by, const std::string& reason) {
    for (auto& e : plan.entries)
        if (e.id == id && e.restored()) {
            e.fate = Fate::kept, e.by = by, e.reason = reason;
            return true;
        }
    return false;
}

void drop_orphan_appends(std::vector<Append>& appends, const RestorePlan& plan) {
    appends.erase(std::remove_if(appends.begin(), appends.end(),
                                 [&](const Append& a) {
                                     const TocEntry* e = plan.find(a.data);
                                     return !e || e->fate != Fate::kept;
                                 }),
                  appends.end());
}

std::vector<std::string> drop_orphans(std::vector<Deferred>& work, const RestorePlan& plan) {
    auto gone = [&](DumpId id) {
        const TocEntry* e = plan.find(id);
        return e && !e->created();
    };
    std::vector<std::string> dropped;
    work.erase(std::remove_if(work.begin(), work.end(),
                              [&](const Deferred& d) {
                                  bool orphan = d.replaces && gone(*d.replaces);
                                  for (DumpId a : d.after) orphan = orphan || gone(a);
                                  if (orphan) dropped.push_back(d.label);
                                  return orphan;
                              }),
               work.end());
    return dropped;
}

}  // namespace pixrep
