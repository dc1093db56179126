#pragma once
// A table-of-contents entry as the plan's tests build them: identity, kind, place, dependencies.
#include <string>
#include <vector>

#include <pixrep/plan.hpp>

inline pixrep::TocEntry toc_entry(int id, std::string desc, std::string schema, std::string tag, const std::vector<int>& deps = {}) {
    pixrep::TocEntry e;
    e.id = pixrep::DumpId{id};
    e.desc = std::move(desc);
    e.schema = std::move(schema);
    e.tag = std::move(tag);
    for (int d : deps) e.deps.push_back(pixrep::DumpId{d});
    return e;
}
