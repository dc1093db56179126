#pragma once
// The restore plan of a live source: pg_dump --schema-only's table of contents, plus the data
// entries pg_dump would have written, made from the source's catalog read in the run's snapshot
// (each table's rows, biggest first; each sequence's value). The rows themselves are read by
// the restorer through the LiveSource. Pure.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <pixrep/plan.hpp>

namespace pixrep::live {

/// A table of the source that holds rows (no partitioned parent, view or foreign table).
struct SourceTable {
    std::string oid;        ///< pg_class oid, as in the TABLE entry's catalog id.
    std::string columns;    ///< Its stored columns, quoted, in order: what pg_dump copies.
    std::int64_t bytes = 0; ///< Its size on the source, to load the biggest first.
    std::string key;        ///< A NOT NULL integer column with a unique index of its own, "" when none: where it may be cut.
};

/// A sequence of the source and its value in the snapshot.
struct SourceSequence {
    std::string oid;         ///< pg_class oid, as in the SEQUENCE entry's catalog id.
    std::string last_value;  ///< As text.
    bool is_called = false;
};

/// `schema` with a TABLE DATA entry per table of `tables` and a SEQUENCE SET entry per sequence
/// of `sequences` that it defines, placed before the first entry after the data, as pg_dump
/// places them, and a MATERIALIZED VIEW DATA entry at the end for each materialized view whose
/// oid `populated_views` holds; new dump ids follow the largest.
RestorePlan live_plan(RestorePlan schema, const std::vector<SourceTable>& tables, const std::vector<SourceSequence>& sequences,
                      const std::set<std::string>& populated_views = {});

/// The oid in a catalog id "<tableoid> <oid>".
std::string catalog_oid(const std::string& catalog_id);

/// Conditions on integer column `key` cutting [min, max] into `parts` ranges of equal width;
/// the first and the last are open, so that together they take every row once.
std::vector<std::string> key_ranges(const std::string& key, std::int64_t min, std::int64_t max, int parts);

/// True when an error says the exported snapshot is gone (its session was cut): a fresh one heals it.
bool lost_snapshot(const std::string& sqlstate, const std::string& message);

}  // namespace pixrep::live
