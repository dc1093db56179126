#pragma once
// The rows of extensions' configuration tables (PostGIS's spatial_ref_sys): the table is the
// extension's, made on the target by whoever made the extension, with the rows the extension
// makes itself. The rows users added, which pg_dump keeps, are added to it once the copy is
// live, those missing only (a second night adds none again), where the target role may write
// them; where it may not (the platform's superuser owns the extension), they are counted and
// reported, never a failed night.
#include <vector>

#include <pixrep/step.hpp>

namespace pixrep::restore {

/// Adds the rows of `entries` (extension configuration data, beside::extension_config_data())
/// that their tables lack, or reports them; throws StepError only when the run is stopping.
void add_extension_rows(RunContext& ctx, const std::vector<TocEntry>& entries);

}  // namespace pixrep::restore
