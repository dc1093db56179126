#include "key_ranges.hpp"

#include <algorithm>
#include <sstream>

#include "db.hpp"
#include "late_rows.hpp"

namespace pixrep::restore {

namespace {

std::optional<Writes> parse_writes(const std::string& text) {
    Writes w;
    char c1 = 0, c2 = 0;
    std::istringstream in(text);
    if (!(in >> w.inserted >> c1 >> w.updated >> c2 >> w.deleted) || c1 != ':' || c2 != ':' || !in.eof()) return std::nullopt;
    return w;
}

}  // namespace

std::string format(const RangeState& s) {
    std::string counts;
    for (const auto& [b, n] : s.counts) counts += (counts.empty() ? "" : ",") + std::to_string(b) + ":" + std::to_string(n);
    const std::string writes = s.writes ? std::to_string(s.writes->inserted) + ":" + std::to_string(s.writes->updated) + ":" +
                                              std::to_string(s.writes->deleted)
                                        : "-";
    return "v2 " + std::to_string(s.width) + " " + std::to_string(s.night) + " " + s.filenode + " " + writes + ";" + counts;
}

std::optional<RangeState> parse_state(const std::string& text) {
    auto semi = text.find(';');
    if (semi == std::string::npos) return std::nullopt;
    std::istringstream head(text.substr(0, semi));
    std::string version, writes;
    RangeState s;
    if (!(head >> version >> s.width >> s.night >> s.filenode) || s.width < 1 || s.night < 0) return std::nullopt;
    if (version == "v2") {
        if (!(head >> writes)) return std::nullopt;
        if (writes != "-" && !(s.writes = parse_writes(writes))) return std::nullopt;
    } else if (version != "v1") {
        return std::nullopt;
    }
    if ((s.width & (s.width - 1)) != 0) return std::nullopt;
    try {
        s.counts = parse_counts(text.substr(semi + 1));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return s;
}

std::int64_t width_for(std::int64_t above, std::int64_t buckets) {
    std::int64_t w = 1;
    while (above / w + 1 > buckets) w *= 2;
    return w;
}

RangeState fit(RangeState s, std::int64_t above) {
    while (above / s.width + 1 > 4 * kBuckets) {
        Counts wider;
        for (const auto& [b, n] : s.counts) wider[b < 0 ? -1 : b / 2] += n;
        s.counts = std::move(wider);
        s.width *= 2;
    }
    return s;
}

std::vector<BucketRange> ranges_of(std::vector<std::int64_t> buckets) {
    std::sort(buckets.begin(), buckets.end());
    buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
    std::vector<BucketRange> out;
    for (auto b : buckets) {
        if (!out.empty() && out.back().last + 1 == b && out.back().last >= 0) out.back().last = b;
        else out.push_back({b, b});
    }
    return out;
}

std::vector<BucketRange> slice(std::int64_t above, std::int64_t width, std::int64_t night, std::int64_t slices) {
    const std::int64_t top = std::max<std::int64_t>(0, above) / width, part = night % slices;
    const std::int64_t per = (top + 1 + slices - 1) / slices;
    std::vector<BucketRange> out;
    if (part == 0) out.push_back({-1, -1});
    const std::int64_t first = part * per, last = std::min(top, first + per - 1);
    if (first <= last) out.push_back({first, last});
    return out;
}

BucketRange recent(std::int64_t above, std::int64_t width, double share) {
    const std::int64_t top = std::max<std::int64_t>(0, above) / width;
    const std::int64_t from = static_cast<std::int64_t>(static_cast<double>(std::max<std::int64_t>(0, above)) * (1.0 - share)) / width;
    return {std::max<std::int64_t>(0, std::min(from, top - 1)), top};
}

std::vector<BucketRange> merge(std::vector<BucketRange> ranges, BucketRange more) {
    ranges.push_back(more);
    std::sort(ranges.begin(), ranges.end(), [](const BucketRange& x, const BucketRange& y) { return x.first < y.first; });
    std::vector<BucketRange> out;
    for (const auto& r : ranges) {
        if (!out.empty() && r.first <= out.back().last + 1 && (r.first >= 0) == (out.back().last >= 0)) out.back().last = std::max(out.back().last, r.last);
        else out.push_back(r);
    }
    return out;
}

bool within(const std::vector<BucketRange>& ranges, std::int64_t b) {
    return std::any_of(ranges.begin(), ranges.end(), [b](const BucketRange& r) { return b >= r.first && b <= r.last; });
}

std::string table_file_sql(const std::string& table) {
    return "SELECT pg_relation_filenode(o) || ' ' || CASE WHEN current_setting('server_version_num')::int >= 150000 AND "
           "current_setting('track_counts')::bool THEN pg_stat_get_tuples_inserted(o) || ':' || pg_stat_get_tuples_updated(o) || ':' || "
           "pg_stat_get_tuples_deleted(o) ELSE '-' END FROM (SELECT " +
           common::quote_literal(table) + "::regclass AS o) t";
}

std::optional<TableFile> parse_table_file(const std::string& text) {
    auto space = text.find(' ');
    if (space == std::string::npos || space == 0) return std::nullopt;
    TableFile f{text.substr(0, space), std::nullopt};
    const std::string writes = text.substr(space + 1);
    if (writes == "-") return f;
    if (!(f.writes = parse_writes(writes))) return std::nullopt;
    return f;
}

Writers writers_since(const RangeState& s, const std::string& filenode, const std::optional<Writes>& now) {
    if (s.filenode != filenode || !s.writes || !now) return Writers::unknown;
    const Writes& was = *s.writes;
    if (now->inserted < was.inserted || now->updated < was.updated || now->deleted < was.deleted) return Writers::unknown;
    return *now == was ? Writers::tool : Writers::others;
}

std::optional<Writes> writes_to_keep(const std::optional<Writes>& before, std::int64_t inserted, std::int64_t deleted,
                                     const std::optional<Writes>& after) {
    if (!before || !after) return std::nullopt;
    const Writes mine{before->inserted + inserted, before->updated, before->deleted + deleted};
    if (!(*after == mine)) return std::nullopt;
    return after;
}

Counts restrict_to(const Counts& c, const std::vector<BucketRange>& ranges) {
    Counts out;
    for (const auto& [b, n] : c)
        if (within(ranges, b)) out[b] = n;
    return out;
}

Counts assume(const Counts& stored, const std::vector<BucketRange>& ranges, const Counts& counted) {
    Counts out;
    for (const auto& [b, n] : stored)
        if (!within(ranges, b)) out[b] = n;
    for (const auto& [b, n] : counted) out[b] = n;
    return out;
}

std::vector<std::int64_t> to_recount(const Counts& dump, const Counts& assumed, const std::vector<BucketRange>& counted) {
    std::vector<std::int64_t> out;
    auto at = [](const Counts& c, std::int64_t b) {
        auto it = c.find(b);
        return it == c.end() ? 0 : it->second;
    };
    for (const auto& [b, n] : dump)
        if (!within(counted, b) && n != at(assumed, b)) out.push_back(b);
    for (const auto& [b, n] : assumed)
        if (!within(counted, b) && !dump.count(b) && n != 0) out.push_back(b);
    std::sort(out.begin(), out.end());
    return out;
}

std::int64_t size_of(const std::vector<BucketRange>& ranges) {
    std::int64_t n = 0;
    for (const auto& r : ranges) n += r.last - r.first + 1;
    return n;
}

}  // namespace pixrep::restore
