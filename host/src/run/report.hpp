#pragma once
// The end-of-run report: where the time went, for people (a table) and for log platforms (the
// fields of one "run report" record). Pure.
#include <string>

#include <pixrep/context.hpp>
#include <pixrep/log.hpp>

namespace pixrep {

/// The report of a run, in both forms.
struct FormattedReport {
    std::string text;  ///< A table, for stderr.
    Fields fields;     ///< The fields of the "run report" log record.
};

/// Formats `report` for a run that ended with `outcome`.
FormattedReport format_report(const RunReport& report, const RunOutcome& outcome);

/// "1.5s", "2m05s", "1h03m".
std::string fmt_seconds(double s);

/// Wall time covered by a set of [start, end) spans (overlaps counted once).
double covered_seconds(std::vector<std::pair<double, double>> spans);

}  // namespace pixrep
