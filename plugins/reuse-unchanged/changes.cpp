#include "changes.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "copy_in.hpp"
#include "copy_text.hpp"
#include "db.hpp"
#include "pg_errors.hpp"

namespace pixrep::reuse {

using Clock = std::chrono::steady_clock;

namespace {

std::string quoted(const TocEntry& table) { return common::quote_ident(table.schema) + "." + common::quote_ident(table.tag); }

// The written rows, masked, with their keys; false and `why` on a key that is not an integer or
// past `max_bytes`.
bool read_rows(RunContext& ctx, const TocEntry& data, const LiveRows& last, std::int64_t max_bytes, Changes& c, std::vector<std::int64_t>& keys,
               std::string& why) {
    const auto at = std::find(c.columns.begin(), c.columns.end(), c.key);
    if (at == c.columns.end()) return why = "its rows have no column '" + c.key + "'", false;
    const std::size_t key_at = static_cast<std::size_t>(at - c.columns.begin());
    std::unique_ptr<RowFilter> filter;
    if (const RowFilterSpec* spec = ctx.row_filter(c.table)) filter = spec->make(c.columns);
    bool over = false;
    ctx.live()->copy(
        data, written_since_sql(last),
        [&](std::string_view row) {
            c.bytes_read += static_cast<std::int64_t>(row.size()) + 1;
            const auto field = common::copy_field(row, key_at);
            const auto key = field ? common::integer_field(*field) : std::nullopt;
            if (!key) return void(why = "a key of its written rows is not an integer");
            keys.push_back(*key);
            try {
                const std::string_view out = filter ? filter->apply(row) : row;
                c.rows.append(out.data(), out.size()).push_back('\n');
            } catch (const std::invalid_argument& e) {
                throw StepError(ErrorKind::input, "masking the rows of " + c.table + ": " + e.what());
            }
            if (static_cast<std::int64_t>(c.rows.size()) > max_bytes) over = true;
        },
        [&] { return over || !why.empty() || ctx.env().stopping(); });
    if (ctx.env().stopping()) throw StepError(ErrorKind::fatal, "stopped while reading the changes of " + c.table);
    if (over) why = "its written rows are over " + std::to_string(max_bytes >> 20) + " MiB (changes_max_bytes): a rebuild streams them";
    c.written = static_cast<std::int64_t>(keys.size());
    return why.empty();
}

// How many rows yesterday's copy holds, and how many of `keys` among them.
std::pair<std::int64_t, std::int64_t> on_the_target(RunContext& ctx, const Changes& c, const std::vector<std::int64_t>& keys) {
    std::string list;
    for (std::int64_t k : keys) list += (list.empty() ? "" : ",") + std::to_string(k);
    common::Session s(ctx.env(), "reuse-unchanged");
    return s.run([&](common::Connection& conn) {
        pqxx::read_transaction tx(conn);
        // Both sides bigint: the server then hashes the keys instead of comparing each row with each.
        auto r = tx.exec("SELECT count(*), count(*) FILTER (WHERE " + common::quote_ident(c.key) + "::bigint = ANY ('{" + list +
                         "}'::bigint[])) FROM ONLY " + c.name);
        return std::make_pair(r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>());
    });
}

}  // namespace

std::optional<Changes> read_changes(RunContext& ctx, const TocEntry& table, const TocEntry& data, const std::string& key, const LiveRows& last,
                                    const LiveCount& tonight, std::int64_t max_bytes, std::string& why) {
    Changes c;
    c.table = table.table, c.name = quoted(table), c.key = key, c.columns = common::copy_columns(data.copy);
    c.source_rows = tonight.rows;
    std::vector<std::int64_t> keys;
    if (!read_rows(ctx, data, last, max_bytes, c, keys, why)) return std::nullopt;
    const auto [target_rows, present] = on_the_target(ctx, c, keys);
    c.deleted = rows_deleted(target_rows, c.written, present, c.source_rows);
    if (c.deleted < 0) {
        why = "yesterday's copy holds " + std::to_string(target_rows) + " rows, fewer than its changes account for";
        return std::nullopt;
    }
    if (c.deleted > 0) {
        const std::string k = common::quote_ident(key);
        c.source_keys = ctx.live()->query("SELECT coalesce(string_agg(" + k + "::text, E'\\n'), '') FROM ONLY " + c.name).value_or("");
        c.bytes_read += static_cast<std::int64_t>(c.source_keys.size());
    }
    return c;
}

namespace {

// One table's changes, inside the transaction `in` holds open.
void apply(common::CopyIn& in, const Changes& c, int n) {
    const std::string rows = "pixrep_changed_" + std::to_string(n), keys = "pixrep_kept_keys_" + std::to_string(n);
    const std::string key = common::quote_ident(c.key), cols = common::quote_ident_list(c.columns);
    auto feed = [&in](std::string_view lines) {
        while (!lines.empty()) {
            const auto end = std::min(lines.find('\n'), lines.size());
            in.row(lines.substr(0, end));
            lines.remove_prefix(std::min(end + 1, lines.size()));
        }
    };
    // LIKE copies the columns' types only: no default, identity or generation runs on them.
    in.exec("CREATE TEMPORARY TABLE " + rows + " (LIKE " + c.name + ") ON COMMIT DROP");
    in.start("COPY " + rows + " (" + cols + ") FROM STDIN");
    feed(c.rows);
    in.end();
    // Its size known, the planner finds the rows to replace through the key's index, not by a scan.
    in.exec("ANALYZE " + rows);
    in.exec("DELETE FROM ONLY " + c.name + " t USING " + rows + " w WHERE t." + key + " = w." + key);
    if (c.deleted > 0) {
        in.exec("CREATE TEMPORARY TABLE " + keys + " ON COMMIT DROP AS SELECT " + key + " FROM ONLY " + c.name + " LIMIT 0");
        in.start("COPY " + keys + " FROM STDIN");
        feed(c.source_keys);
        in.end();
        in.exec("DELETE FROM ONLY " + c.name + " t WHERE NOT EXISTS (SELECT FROM " + keys + " k WHERE k." + key + " = t." + key + ")");
    }
    in.exec("INSERT INTO " + c.name + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " + cols + " FROM " + rows);
    const std::string held = in.exec("SELECT count(*) FROM ONLY " + c.name);
    if (held != std::to_string(c.source_rows))
        throw StepError(ErrorKind::fatal, c.table + ": with its changes yesterday's copy would hold " + held + " rows, the source " +
                                              std::to_string(c.source_rows) + " (was it written to since this run began?); no change was applied. Set "
                                              "REUSE_CHANGES_SHARE=0 for one run to rebuild it");
}

}  // namespace

void apply_changes(RunContext& ctx, const std::vector<Changes>& all) {
    if (all.empty()) return;
    const auto t0 = Clock::now();
    common::CopyIn in(ctx.env(), "reuse-unchanged changes");
    in.exec("BEGIN");
    // Readers' locks never conflict with these row changes; a lock held by another writer might.
    in.exec("SET LOCAL lock_timeout = '60s'");
    in.exec("SET LOCAL statement_timeout = '30min'");
    try {
        int n = 0;
        for (const auto& c : all) {
            const auto t = Clock::now();
            apply(in, c, n++);
            ctx.add_timing("CHANGES", c.table, t, std::chrono::duration<double>(Clock::now() - t).count());
        }
        in.exec("COMMIT");
    } catch (...) {
        in.abort();
        throw;
    }
    std::int64_t written = 0, deleted = 0;
    for (const auto& c : all) written += c.written, deleted += c.deleted;
    ctx.log().info("changes applied to yesterday's copy", {{"tables", static_cast<std::int64_t>(all.size())}, {"rows_written", written},
                                                           {"rows_deleted", deleted},
                                                           {"duration_ms", static_cast<std::int64_t>(
                                                                                std::chrono::duration<double>(Clock::now() - t0).count() * 1000)}});
}

}  // namespace pixrep::reuse
