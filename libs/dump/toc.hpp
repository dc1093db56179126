#pragma once
// From a scanned table of contents to the restore plan the steps shape. Pure.
#include <vector>

#include <pixrep/plan.hpp>

#include "dump.hpp"

namespace pixrep::common {

/// The plan of a scanned dump: every entry in archive order, restored, each tied to the table it
/// belongs to (itself, or the first TABLE it depends on).
RestorePlan plan_from_scan(const std::vector<ScannedEntry>& entries);

/// The entry's line in a `pg_restore --use-list` file, as `pg_restore --list` prints it.
std::string list_line(const TocEntry& e);

/// The ids `pg_restore --list` printed, one per entry line ("3456; 0 0 ENCODING ...").
std::vector<int> listed_ids(const std::string& list_output);

/// The lowest pg_restore major version that reads archive format vmaj.vmin (1.16: 17).
int pg_restore_major_for(int vmaj, int vmin);

}  // namespace pixrep::common
