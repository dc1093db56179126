#pragma once
// What a night counts of a kept table. The rows per key range that the target held after the
// last successful night are kept in the tool's state; tonight the target is counted only where
// the backup's counts differ from those (rows committed late, rows deleted at the source) and in
// one slice of the key space, a different one each night, so a full check of the target is
// spread over kSlices nights instead of scanning the whole table every night. Pure.
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

/// A kept table's rows per key range after the last successful night.
struct RangeState {
    std::int64_t width = 1;   ///< Keys per range (a power of two, so ranges regroup exactly).
    std::int64_t night = 0;   ///< Nights counted from this state so far: picks tonight's slice.
    std::string filenode;     ///< The target table's file then; another one means it was rewritten.
    Counts counts;            ///< Rows per range (range -1: negative keys).
};

/// "v1 <width> <night> <filenode>;b:n,b:n...".
std::string format(const RangeState& s);
/// format()'s text back; nullopt when it is not one (an older tool's, or damaged).
std::optional<RangeState> parse_state(const std::string& text);

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

/// The target as it stands, from what was `stored` and what was `counted` in `ranges` tonight.
Counts assume(const Counts& stored, const std::vector<BucketRange>& ranges, const Counts& counted);
/// The ranges outside `counted` where the backup's `dump` counts differ from the `assumed`
/// target's: the only others to count on the target.
std::vector<std::int64_t> to_recount(const Counts& dump, const Counts& assumed, const std::vector<BucketRange>& counted);
/// How many ranges `ranges` cover.
std::int64_t size_of(const std::vector<BucketRange>& ranges);

}  // namespace pixrep::restore
