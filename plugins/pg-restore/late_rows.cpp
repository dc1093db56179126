#include "late_rows.hpp"

#include <stdexcept>

#include "db.hpp"

namespace pixrep::restore {
namespace {

std::int64_t number(const std::string& s) {
    std::size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size()) throw std::invalid_argument("not a number: " + s);
    return v;
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    if (text.empty()) return out;
    std::size_t start = 0;
    for (std::size_t p; (p = text.find(sep, start)) != std::string::npos; start = p + 1) out.push_back(text.substr(start, p - start));
    out.push_back(text.substr(start));
    return out;
}

}  // namespace

KeyBuckets::KeyBuckets(std::int64_t above, std::int64_t width) : above_(above), width_(std::max<std::int64_t>(1, width)) {}

void KeyBuckets::add(std::int64_t key) {
    const std::int64_t b = bucket(key);
    if (b != run_.bucket) flush(), run_.bucket = b;
    ++run_.all;
    if (key <= above_) ++run_.counted;
}

void KeyBuckets::flush() const {
    if (run_.all > 0) all_[run_.bucket] += run_.all;
    if (run_.counted > 0) counts_[run_.bucket] += run_.counted;
    run_.all = run_.counted = 0;
}

std::string KeyBuckets::bucket_sql(const std::string& k) const {
    return "CASE WHEN " + k + " < 0 THEN -1 ELSE " + k + " / " + std::to_string(width_) + " END";
}

std::string KeyBuckets::ranges_sql(const std::string& k, const std::vector<BucketRange>& ranges) const {
    std::string any;
    for (const auto& r : ranges) {
        const std::string lo = r.first < 0 ? "" : std::to_string(r.first * width_);
        const std::string hi = std::to_string(r.last < 0 ? -1 : std::min(above_, (r.last + 1) * width_ - 1));
        any += (any.empty() ? "" : " OR ") + (lo.empty() ? k + " <= " + hi : k + " BETWEEN " + lo + " AND " + hi);
    }
    return any;
}

std::string KeyBuckets::within_sql(const std::string& k, const std::vector<BucketRange>& ranges) const {
    const std::string any = ranges_sql(k, ranges);
    return k + " <= " + std::to_string(above_) + (any.empty() ? "" : " AND (" + any + ")");
}

std::string KeyBuckets::target_counts_sql(const std::string& table, const std::string& key, const std::vector<BucketRange>& ranges) const {
    const std::string k = common::quote_ident(key);
    auto count = [&](const std::string& where) { return "SELECT " + bucket_sql(k) + " AS b, count(*) AS n FROM " + table + " WHERE " + where + " GROUP BY 1"; };
    std::string each;
    // A few ranges: one index range scan each, which reads only the index where the table's pages
    // are all visible; ORed together they would make one bitmap scan, which reads the table too.
    if (!ranges.empty() && ranges.size() <= kUnionRanges)
        for (const auto& r : ranges) each += (each.empty() ? "" : " UNION ALL ") + count(ranges_sql(k, {r}));
    return "SELECT coalesce(string_agg(b || ':' || n, ','), '') FROM (" + (each.empty() ? count(within_sql(k, ranges)) : each) + ") s";
}

std::string KeyBuckets::target_keys_sql(const std::string& table, const std::string& key, const std::vector<std::int64_t>& buckets) const {
    const std::string k = common::quote_ident(key);
    return "SELECT coalesce(string_agg(" + k + "::text, ','), '') FROM " + table + " WHERE " + within_sql(k, ranges_of(buckets));
}

std::string KeyBuckets::delete_absent_sql(const std::string& table, const std::string& key, const std::vector<std::int64_t>& buckets,
                                          const std::string& keys) const {
    if (buckets.empty()) return "SELECT 0";
    const std::string k = "t." + common::quote_ident(key);
    return "WITH gone AS (DELETE FROM " + table + " t WHERE " + within_sql(k, ranges_of(buckets)) + " AND NOT EXISTS (SELECT 1 FROM " + keys +
           " s WHERE s.k = " + k + ") RETURNING 1) SELECT count(*) FROM gone";
}

std::map<std::int64_t, std::int64_t> parse_counts(const std::string& text) {
    std::map<std::int64_t, std::int64_t> out;
    for (const auto& item : split(text, ',')) {
        auto colon = item.find(':');
        if (colon == std::string::npos) throw std::invalid_argument("not bucket:count: " + item);
        out[number(item.substr(0, colon))] = number(item.substr(colon + 1));
    }
    return out;
}

BucketDiff compare(const std::map<std::int64_t, std::int64_t>& dump, const std::map<std::int64_t, std::int64_t>& target) {
    BucketDiff d;
    for (const auto& [bucket, n] : dump) {
        auto it = target.find(bucket);
        const std::int64_t t = it == target.end() ? 0 : it->second;
        if (t < n) d.short_buckets.push_back(bucket), d.missing += n - t;
        if (t > n) d.long_buckets.push_back(bucket), d.extra += t - n;
    }
    for (const auto& [bucket, t] : target)
        if (!dump.count(bucket)) d.emptied_buckets.push_back(bucket), d.extra += t;
    return d;
}

std::unordered_set<std::int64_t> parse_keys(const std::string& text) {
    std::unordered_set<std::int64_t> out;
    for (const auto& item : split(text, ',')) out.insert(number(item));
    return out;
}

}  // namespace pixrep::restore
