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

KeyBuckets::KeyBuckets(std::int64_t above, std::int64_t buckets)
    : above_(above), width_(std::max<std::int64_t>(1, above / std::max<std::int64_t>(1, buckets) + 1)) {}

void KeyBuckets::add(std::int64_t key) {
    if (key <= above_) ++counts_[bucket(key)];
}

std::string KeyBuckets::bucket_sql(const std::string& k) const {
    return "CASE WHEN " + k + " < 0 THEN -1 ELSE " + k + " / " + std::to_string(width_) + " END";
}

std::string KeyBuckets::target_counts_sql(const std::string& table, const std::string& key) const {
    return "SELECT coalesce(string_agg(b || ':' || n, ','), '') FROM (SELECT " + bucket_sql(common::quote_ident(key)) + " AS b, count(*) AS n FROM " + table +
           " WHERE " + common::quote_ident(key) + " <= " + std::to_string(above_) + " GROUP BY 1) s";
}

std::string KeyBuckets::target_keys_sql(const std::string& table, const std::string& key, const std::vector<std::int64_t>& buckets) const {
    std::string list;
    for (auto b : buckets) list += (list.empty() ? "" : ",") + std::to_string(b);
    const std::string k = common::quote_ident(key);
    return "SELECT coalesce(string_agg(" + k + "::text, ','), '') FROM " + table + " WHERE " + k + " <= " + std::to_string(above_) +
           " AND (" + bucket_sql(common::quote_ident(key)) + ") IN (" + list + ")";
}

std::string KeyBuckets::delete_absent_sql(const std::string& table, const std::string& key, const std::vector<std::int64_t>& buckets,
                                          const std::string& keys) const {
    std::string list;
    for (auto b : buckets) list += (list.empty() ? "" : ",") + std::to_string(b);
    const std::string k = common::quote_ident(key);
    return "WITH gone AS (DELETE FROM " + table + " t WHERE t." + k + " <= " + std::to_string(above_) + " AND (" + bucket_sql("t." + k) +
           ") IN (" + list + ") AND NOT EXISTS (SELECT 1 FROM " + keys + " s WHERE s.k = t." + k + ") RETURNING 1) SELECT count(*) FROM gone";
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
