#pragma once
// The rows other steps rewrite (masking), applied wherever this step writes rows to the target:
// tonight's build, and a kept table's appends.
#include <memory>
#include <string>
#include <string_view>

#include <pixrep/step.hpp>

namespace pixrep::restore {

/// The filter of one stream of `table`'s rows out of `entry` (in its COPY's column order), or
/// nullptr when they go as they are.
std::unique_ptr<RowFilter> filter_rows(const RunContext& ctx, const std::string& table, const TocEntry& entry);
/// `row` through `f`. A value it cannot read is a StepError(input) naming the table and column,
/// never the value.
std::string_view filtered(RowFilter& f, std::string_view row, const std::string& table);
/// Adds what `f` rewrote to the report, as masked.<table>.<column>.
void count_filtered(RunContext& ctx, const std::string& table, const RowFilter& f);
/// Why rows cannot be rewritten tonight where a step asks: restored in place (pg_restore writes
/// them itself), or a kept table whose key is rewritten (its appends compare keys). "" if they can.
std::string unfilterable(const RestoreContext& ctx, bool beside);

}  // namespace pixrep::restore
