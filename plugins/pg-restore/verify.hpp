#pragma once
// After the restore: everything the plan creates must be in the target, and every table the
// dump holds rows for must hold rows (COPY loads a table whole or not at all, so rows there and
// no error mean all of them). A run that restores less than its plan fails.
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <pixrep/step.hpp>

#include "sql_rewrite.hpp"

namespace pixrep::restore {

/// What the target holds, as far as the check needs.
struct TargetObjects {
    std::set<std::pair<std::string, std::string>> relations;                    ///< (schema, name)
    std::set<std::tuple<std::string, std::string, std::string>> constraints;    ///< (schema, table, name)
    std::set<std::string> empty_tables;                                         ///< "schema.table" with no row
};

/// The entries the plan creates that `target` lacks ("TABLE public.users"). Pure.
/// Entries in `later` are made after the swap, and not looked for.
std::vector<std::string> missing_objects(const RestorePlan& plan, const TargetObjects& target, const std::set<DumpId>& later = {});

/// Reads the target, checks it against the plan and records rows per table in the report; with
/// `built`, what is built tonight is looked for in the build schemas (whose loads counted the
/// rows), the rest in the live ones. Throws StepError(fatal) naming what is missing.
void verify_restored(RunContext& ctx, const beside::BuildNames* built = nullptr, const std::set<DumpId>& later = {});

}  // namespace pixrep::restore
