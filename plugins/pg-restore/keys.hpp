#pragma once
// Primary keys and unique constraints wait behind the index builds of their table (ADD
// CONSTRAINT takes an exclusive lock); built as unique indexes they go beside them, and
// attaching them afterwards is instant. Pure.
#include <vector>

#include <pixrep/context.hpp>

namespace pixrep::restore {

/// A key to build as a unique index, and the work that does it.
struct KeyWork {
    DumpId id;
    Deferred work;
};

/// The restored keys that can be built that way: plain PRIMARY KEY / UNIQUE constraints of
/// ordinary tables on which nothing left in pg_restore's list depends.
std::vector<KeyWork> key_deferrals(const RestorePlan& plan);

}  // namespace pixrep::restore
