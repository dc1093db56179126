#pragma once
// Rows of a kept table that the target lacks below its largest key: a key taken before last
// night's dump and committed after it (many API workers insert at once) is never above the
// target's max, so "append what is above the max" alone would miss it forever. Both sides are
// counted by buckets of keys; where a bucket differs, the keys of that bucket are compared.
// Where the target has more rows than the source, the rows deleted at the source are found the
// same way, and removed. Pure: the counts are read elsewhere.
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "key_ranges.hpp"

namespace pixrep::restore {

class KeyBuckets {
public:
    /// Buckets of `width` keys over keys 0..`above` (keys below 0 share bucket -1).
    KeyBuckets(std::int64_t above, std::int64_t width);
    /// Counts `key`: among counts() when it is at most `above`, among all_counts() always.
    void add(std::int64_t key);
    /// The bucket of `key`.
    std::int64_t bucket(std::int64_t key) const { return key < 0 ? -1 : key / width_; }
    /// Keys per bucket in one bucket.
    std::int64_t width() const { return width_; }
    const std::map<std::int64_t, std::int64_t>& counts() const { return flush(), counts_; }
    /// Every key counted, those above `above` too.
    const std::map<std::int64_t, std::int64_t>& all_counts() const { return flush(), all_; }
    /// SQL counting the rows of `table` up to `above` by the same buckets, as "bucket:count,...";
    /// only in `ranges` when given (read through the key's index).
    std::string target_counts_sql(const std::string& table, const std::string& key, const std::vector<BucketRange>& ranges = {}) const;
    /// SQL listing, as "k1,k2,...", the target's keys up to `above` that fall in `buckets`.
    std::string target_keys_sql(const std::string& table, const std::string& key, const std::vector<std::int64_t>& buckets) const;
    /// SQL deleting the target's rows of `table` in `buckets` (up to `above`) whose key table
    /// `keys` (one bigint column, k) does not hold: the source's keys there. Gives the count.
    std::string delete_absent_sql(const std::string& table, const std::string& key, const std::vector<std::int64_t>& buckets,
                                  const std::string& keys) const;
    /// `column` (SQL, quoted) within `ranges` (up to `above`), as ORed BETWEENs; "" when none.
    std::string ranges_sql(const std::string& column, const std::vector<BucketRange>& ranges) const;

private:
    /// At most this many ranges are counted each by its own scan.
    static constexpr std::size_t kUnionRanges = 8;
    /// The bucket of `column` (SQL, quoted) in SQL, as bucket() computes it.
    std::string bucket_sql(const std::string& column) const;
    /// `column` (SQL, quoted) up to `above` and within `ranges`, as a condition an index serves.
    std::string within_sql(const std::string& column, const std::vector<BucketRange>& ranges) const;
    /// Adds the run of keys in one bucket to the maps.
    void flush() const;
    std::int64_t above_, width_;
    mutable std::map<std::int64_t, std::int64_t> counts_, all_;
    /// The keys counted since the bucket last changed: a dump lists a table's rows mostly in key
    /// order, so the maps are touched once per run of keys, not once per row.
    mutable struct {
        std::int64_t bucket = 0, all = 0, counted = 0;
    } run_;
};

/// "3:10,4:7" -> {3: 10, 4: 7}; "" -> {}. Throws std::invalid_argument on anything else.
std::map<std::int64_t, std::int64_t> parse_counts(const std::string& text);

/// How the two sides compare.
struct BucketDiff {
    std::vector<std::int64_t> short_buckets;  ///< Buckets where the target has fewer rows than the dump.
    std::vector<std::int64_t> long_buckets;   ///< Buckets where the target has more rows than the dump (some deleted at the source).
    std::vector<std::int64_t> emptied_buckets;  ///< Buckets the dump has no row of and the target has (all deleted at the source).
    std::int64_t missing = 0;                 ///< Rows the target lacks there, in all.
    std::int64_t extra = 0;                   ///< Rows the target has beyond the dump's (deleted at the source), in all.
};
BucketDiff compare(const std::map<std::int64_t, std::int64_t>& dump, const std::map<std::int64_t, std::int64_t>& target);

/// "1,2,3" -> {1, 2, 3}. Throws std::invalid_argument on anything else.
std::unordered_set<std::int64_t> parse_keys(const std::string& text);

}  // namespace pixrep::restore
