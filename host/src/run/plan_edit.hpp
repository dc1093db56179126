#pragma once
// How the host changes a restore plan on behalf of the steps' verbs. Pure functions.
#include <functional>
#include <string>
#include <vector>

#include <pixrep/context.hpp>
#include <pixrep/plan.hpp>

namespace pixrep {

/// Excludes every created entry matching `match`, then every entry that depends (transitively)
/// on an excluded one, because nothing could create it. Returns how many it excluded.
std::size_t exclude_entries(RestorePlan& plan, const std::function<bool(const TocEntry&)>& match, const std::string& by,
                            const std::string& reason);

/// Marks entry `id` as created by step `by` instead of pg_restore. False when it is not restored.
bool defer_entry(RestorePlan& plan, DumpId id, const std::string& by, const std::string& reason);

/// Marks entry `id` as kept on the target by step `by`. False when it is not restored.
bool keep_entry(RestorePlan& plan, DumpId id, const std::string& by, const std::string& reason);

/// Removes the appends whose data entry was excluded after they were asked for.
void drop_orphan_appends(std::vector<Append>& appends, const RestorePlan& plan);

/// Removes deferred work whose entry, or an entry it waits for, was excluded after it was
/// deferred (a foreign key to a table left out). Returns the labels of the work removed.
std::vector<std::string> drop_orphans(std::vector<Deferred>& work, const RestorePlan& plan);

}  // namespace pixrep
