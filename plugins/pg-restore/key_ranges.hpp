#pragma once
// What a night counts of a kept table. The rows per key range that the target held after the
// last successful night are kept in the tool's state, with the table's write counters once the
// tool's writes were in them. When tonight's counters are those, nobody else wrote to the table
// and it is not counted at all; when they cannot tell (before PostgreSQL 15, a reset), the target is
// counted only where the backup's counts differ from the kept ones (rows committed late, rows
// deleted at the source) and in one slice of the key space, a different one each night, so a
// full check is spread over kSlices nights; when they show another writer, it is counted in
// full. A live source is counted in tonight's slice and the highest ranges. Pure.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pixrep::restore {

using Counts = std::map<std::int64_t, std::int64_t>;

/// About this many key ranges cover a table's keys; at most four times as many before they widen.
constexpr std::int64_t kBuckets = 4096;
/// The whole target is counted once every kSlices nights, a slice a night.
constexpr std::int64_t kSlices = 7;

/// Buckets first..last, both included.
struct BucketRange {
    std::int64_t first = 0, last = 0;
    bool operator==(const BucketRange& o) const { return first == o.first && last == o.last; }
};

/// A table's write counters on the target (pg_stat): rows ever inserted, updated, deleted.
struct Writes {
    std::int64_t inserted = 0, updated = 0, deleted = 0;
    bool operator==(const Writes& o) const { return inserted == o.inserted && updated == o.updated && deleted == o.deleted; }
};

/// A kept table's rows per key range after the last successful night.
struct RangeState {
    std::int64_t width = 1;   ///< Keys per range (a power of two, so ranges regroup exactly).
    std::int64_t night = 0;   ///< Nights counted from this state so far: picks tonight's slice.
    std::string filenode;     ///< The target table's file then; another one means it was rewritten.
    Counts counts;            ///< Rows per range (range -1: negative keys).
    std::optional<Writes> writes;  ///< The table's counters once the tool's writes were in them; nullopt: unknown.
};

/// "v2 <width> <night> <filenode> <inserted>:<updated>:<deleted>|-;b:n,b:n...".
std::string format(const RangeState& s);
/// format()'s text back (v1, without counters, too); nullopt when it is not one (damaged).
std::optional<RangeState> parse_state(const std::string& text);

/// A table's file on the target and its write counters; nullopt writes when the server's
/// statistics cannot prove the table untouched (track_counts off, or before PostgreSQL 15, whose
/// collector reports late and cannot be made to flush).
struct TableFile {
    std::string filenode;
    std::optional<Writes> writes;
};
/// SQL giving `table`'s (quoted) TableFile as "<filenode> <inserted>:<updated>:<deleted>", or "<filenode> -".
std::string table_file_sql(const std::string& table);
/// table_file_sql()'s answer back; nullopt when it is not one.
std::optional<TableFile> parse_table_file(const std::string& text);

/// Who wrote to the target's table since `s` was kept, by its counters.
enum class Writers {
    tool,    ///< Only the tool: the counters are those it left (every insert, update and delete moves them, committed or not).
    others,  ///< Someone else too: they moved beyond those the tool left.
    unknown  ///< Cannot tell: another file, no counters, or counters below those left (statistics reset, lost in a crash, a copied database).
};
Writers writers_since(const RangeState& s, const std::string& filenode, const std::optional<Writes>& now);
/// The counters to keep for the next night: `after` the tool's writes, when they are `before`
/// plus exactly its `inserted` and `deleted` rows; nullopt when someone else wrote meanwhile (or
/// the statistics lag), so that the next night counts the target.
std::optional<Writes> writes_to_keep(const std::optional<Writes>& before, std::int64_t inserted, std::int64_t deleted,
                                     const std::optional<Writes>& after);

/// The smallest power of two such that keys 0..`above` fall in at most `buckets` ranges.
std::int64_t width_for(std::int64_t above, std::int64_t buckets = kBuckets);
/// `s` with ranges doubled in width (their counts summed) until keys up to `above` fall in at
/// most 4 × kBuckets of them.
RangeState fit(RangeState s, std::int64_t above);

/// The ranges (merged where consecutive) that hold `buckets`.
std::vector<BucketRange> ranges_of(std::vector<std::int64_t> buckets);
/// Tonight's slice of the ranges 0..bucket(`above`): part `night` % `slices` of `slices`
/// contiguous parts; part 0 also holds range -1 (negative keys).
std::vector<BucketRange> slice(std::int64_t above, std::int64_t width, std::int64_t night, std::int64_t slices = kSlices);
/// The highest ranges, holding the last `share` of the keys up to `above` (at least two
/// ranges): where rows committed late land.
BucketRange recent(std::int64_t above, std::int64_t width, double share = 0.01);
/// `ranges` with `more` added, overlapping or adjacent ones merged, in order.
std::vector<BucketRange> merge(std::vector<BucketRange> ranges, BucketRange more);
/// True when bucket `b` is in one of `ranges`.
bool within(const std::vector<BucketRange>& ranges, std::int64_t b);

/// The counts of `c` in `ranges` only.
Counts restrict_to(const Counts& c, const std::vector<BucketRange>& ranges);
/// The target as it stands, from what was `stored` and what was `counted` in `ranges` tonight.
Counts assume(const Counts& stored, const std::vector<BucketRange>& ranges, const Counts& counted);
/// The ranges outside `counted` where the backup's `dump` counts differ from the `assumed`
/// target's: the only others to count on the target.
std::vector<std::int64_t> to_recount(const Counts& dump, const Counts& assumed, const std::vector<BucketRange>& counted);
/// How many ranges `ranges` cover.
std::int64_t size_of(const std::vector<BucketRange>& ranges);

}  // namespace pixrep::restore
