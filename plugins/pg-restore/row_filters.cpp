#include "row_filters.hpp"

#include <algorithm>
#include <stdexcept>

#include "copy_text.hpp"

namespace pixrep::restore {

std::unique_ptr<RowFilter> filter_rows(const RunContext& ctx, const std::string& table, const TocEntry& entry) {
    const RowFilterSpec* spec = ctx.row_filter(table);
    if (!spec) return nullptr;
    const auto columns = common::copy_columns(entry.copy);
    // Never the rows unrewritten: without the columns, no row goes at all.
    if (columns.empty()) throw StepError(ErrorKind::input, table + ": its rows must be masked but its COPY names no columns");
    return spec->make(columns);
}

std::string_view filtered(RowFilter& f, std::string_view row, const std::string& table) {
    try {
        return f.apply(row);
    } catch (const std::invalid_argument& e) {
        throw StepError(ErrorKind::input, "masking the rows of " + table + ": " + e.what());
    }
}

void count_filtered(RunContext& ctx, const std::string& table, const RowFilter& f) {
    for (const auto& [column, n] : f.counts()) ctx.add_figure("masked." + table + "." + column, static_cast<double>(n));
}

std::string unfilterable(const RestoreContext& ctx, bool beside) {
    for (const auto& e : ctx.plan().entries) {
        if (e.desc != "TABLE DATA" || !e.created()) continue;
        const RowFilterSpec* spec = ctx.row_filter(e.table);
        if (!spec) continue;
        if (!beside)
            return "step '" + spec->by + "' rewrites the rows of " + e.table + ", which REFRESH=in-place leaves to pg_restore: unset REFRESH";
        for (const auto& a : ctx.appends())
            if (a.table == e.table && std::find(spec->columns.begin(), spec->columns.end(), a.key) != spec->columns.end())
                return "step '" + spec->by + "' rewrites " + e.table + "." + a.key + ", the key its new rows are appended by: keep that column";
    }
    return "";
}

}  // namespace pixrep::restore
