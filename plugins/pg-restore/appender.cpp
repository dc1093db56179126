#include "appender.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <chrono>
#include <tuple>

#include "copy_text.hpp"
#include "db.hpp"
#include "pg_errors.hpp"
#include "entry_stream.hpp"
#include "late_rows.hpp"
#include "row_filters.hpp"
#include "threads.hpp"

namespace pixrep::restore {

using Clock = std::chrono::steady_clock;

namespace {

// Where `key` is among the rows' `columns` (read from `whose` rows, for the error), and the COPY
// that appends those rows to `name`.
std::pair<std::size_t, std::string> copy_into(const std::vector<std::string>& columns, const std::string& key, const std::string& name,
                                              const std::string& whose) {
    auto at = std::find(columns.begin(), columns.end(), key);
    if (at == columns.end()) throw StepError(ErrorKind::input, whose + " rows have no column '" + key + "'");
    return {static_cast<std::size_t>(at - columns.begin()), "COPY " + name + " (" + common::quote_ident_list(columns) + ") FROM STDIN"};
}

}  // namespace

Appender::Appender(RestoreContext& ctx, std::vector<std::string> settings, bool analyze, std::function<void(const std::string&)> loaded)
    : ctx_(ctx), settings_(std::move(settings)), analyze_(analyze), loaded_(std::move(loaded)) {
    for (const auto& a : ctx_.appends()) threads_.emplace_back([this, a] { run(a); });
}

Appender::~Appender() {
    abandon();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void Appender::abandon() {
    std::lock_guard<std::mutex> lock(mu_);
    abandoned_ = true;
    for (auto* in : active_) in->cancel();
}

void Appender::wait() {
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_) throw *failure_;
}

void Appender::run(const Append& a) {
    try {
        append(a);
    } catch (const StepError& e) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!failure_ && !abandoned_) failure_ = StepError(e.kind(), "appending the new rows of " + a.table + ": " + e.what());
    } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!failure_ && !abandoned_)
            failure_ = StepError(common::exception_error_kind(e), "appending the new rows of " + a.table + ": " + e.what());
    }
}

std::unique_ptr<common::CopyIn> Appender::connect() {
    auto in = std::make_unique<common::CopyIn>(ctx_.env(), "pg-restore append");
    for (const auto& s : settings_) in->exec("SET " + s);
    std::lock_guard<std::mutex> lock(mu_);
    if (abandoned_) throw StepError(ErrorKind::fatal, "stopped");
    active_.push_back(in.get());
    return in;
}

std::unique_ptr<common::CopyIn> Appender::open(const std::string& copy_sql) {
    auto in = connect();
    in->begin(copy_sql);
    return in;
}

void Appender::close(common::CopyIn* in) {
    std::lock_guard<std::mutex> lock(mu_);
    active_.erase(std::remove(active_.begin(), active_.end(), in), active_.end());
}

void Appender::append(const Append& a) {
    const auto t0 = Clock::now();
    const TocEntry* listed = ctx_.plan().find(a.data);
    const TocEntry* table = ctx_.plan().table(a.table);
    if (!listed || !table) throw StepError(ErrorKind::config, "no such data entry in the plan");
    const TocEntry arrived = common::arrived_entry(ctx_, *listed);
    const TocEntry* data = &arrived;
    const auto t_arrived = Clock::now();
    const std::string name = common::quote_ident(table->schema) + "." + common::quote_ident(table->tag);
    if (ctx_.live()) return append_live(a, *data, name, t0);
    // Connected at the first new row only: a connection idle through a long scan of old rows
    // would be closed by Scalingo's proxy (30 min without a word from the server).
    std::unique_ptr<common::CopyIn> in;
    struct Unregister {
        Appender* self;
        std::unique_ptr<common::CopyIn>& in;
        ~Unregister() { self->close(in.get()); }
    } unregister{this, in};
    const auto recalled = recall_ranges(a);
    KeyBuckets buckets(a.above, recalled ? recalled->width : width_for(a.above));
    // The target's side of the late-rows check is counted by the server while the dump is read:
    // all of it, or tonight's slice when last night's counts still describe the table.
    TargetCounting counting(*this, a, name, buckets, recalled);
    auto filter = filter_rows(ctx_, a.table, *data);
    const DumpRead read = read_dump(a, *data, name, buckets, in, filter.get());
    const auto t_read = Clock::now();
    // Nothing was appended (no key above), nothing is written: the table is reloaded instead.
    if (!read.largest || *read.largest < a.above) throw older_dump(a, read.largest);
    if (in) in->commit();
    TargetCount target = counting.result();
    const auto t_counted = Clock::now();
    if (!in) in = connect();
    if (target.partial) recount_changed(a, name, buckets, target, *in);
    say_counted(a, buckets, target, false);
    const auto late = recover_late_rows(a, *data, name, read.copy_sql, read.key, buckets, target.counts, *in, filter.get());
    if (filter) count_filtered(ctx_, a.table, *filter);
    // What the target holds now, for tomorrow: the dump's counts, once every range is repaired.
    remember_ranges(a, late ? std::optional<RangeState>(ranges_to_keep(*in, name, target, buckets.width(), buckets.all_counts(),
                                                                       read.appended + late->late, late->removed))
                            : std::nullopt);
    auto ms = [](Clock::time_point from, Clock::time_point to) { return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count(); };
    finish(a, *in, name,
           {read.scanned, read.appended, late ? late->late : 0,
            {{"waited_ms", ms(t0, t_arrived)}, {"read_ms", ms(t_arrived, t_read)}, {"count_wait_ms", ms(t_read, t_counted)},
             {"checked_ms", ms(t_counted, Clock::now())}}},
           t0);
}

Appender::DumpRead Appender::read_dump(const Append& a, const TocEntry& data, const std::string& name, KeyBuckets& buckets,
                                       std::unique_ptr<common::CopyIn>& in, RowFilter* filter) {
    DumpRead r;
    auto last_log = Clock::now();
    common::stream_rows(
        ctx_.env(), *ctx_.backup(), data,
        [&](const std::vector<std::string>& columns) { std::tie(r.key, r.copy_sql) = copy_into(columns, a.key, name, "the dump's"); },
        [&](std::string_view row) {
            ++r.scanned;
            auto field = common::copy_field(row, r.key);
            auto k = field ? common::integer_field(*field) : std::nullopt;
            if (!k) throw StepError(ErrorKind::input, "row " + std::to_string(r.scanned) + " of the dump has no integer " + a.key);
            buckets.add(*k);
            r.largest = std::max(r.largest.value_or(*k), *k);
            if (*k > a.above) {
                if (!in) in = open(r.copy_sql);
                in->row(filter ? filtered(*filter, row, a.table) : row), ++r.appended;
            }
            if (r.scanned % 65536 == 0 && Clock::now() - last_log >= std::chrono::seconds(60)) {
                last_log = Clock::now();
                ctx_.log().info("appending new rows", {{"table", a.table}, {"rows_scanned", r.scanned}, {"rows_appended", r.appended}});
            }
        },
        [this] { return stopping(); });
    return r;
}

// Where the backup's counts differ from last night's, the target is counted too.
void Appender::recount_changed(const Append& a, const std::string& name, const KeyBuckets& buckets, TargetCount& target, common::CopyIn& in) {
    if (target.proven) return;  // what the tool left is what the target holds, everywhere
    auto more = to_recount(buckets.counts(), target.counts, target.ranges);
    if (more.empty()) return;
    auto ranges = ranges_of(more);
    target.counts = assume(target.counts, ranges, parse_counts(in.exec(buckets.target_counts_sql(name, a.key, ranges))));
    target.counted += size_of(ranges);
}

Appender::TargetCounting::TargetCounting(Appender& self, const Append& a, const std::string& name, const KeyBuckets& buckets,
                                         const std::optional<RangeState>& recalled)
    : self_(self), thread_([this, &a, &name, &buckets, &recalled] {
          error_ = common::capture_error(
              [&] {
                  auto c = self_.connect();
                  struct Release {
                      Appender& self;
                      std::unique_ptr<common::CopyIn>& c;
                      std::atomic<common::CopyIn*>& shown;
                      ~Release() {
                          shown = nullptr;  // a cancel under way holds mu_, which close() waits for
                          self.close(c.get());
                      }
                  } release{self_, c, counter_};
                  counter_ = c.get();
                  target_ = self_.count_target(*c, a, name, buckets, recalled);
              },
              ErrorKind::transient, "counting the target's rows of " + a.table);
      }) {}

Appender::TargetCounting::~TargetCounting() {
    // Still counting: the scan failed, and the count is cancelled rather than waited for.
    std::lock_guard<std::mutex> lock(self_.mu_);
    if (auto* c = counter_.load()) c->cancel();
}

Appender::TargetCount Appender::TargetCounting::result() {
    thread_.join();
    if (error_) throw *error_;
    return std::move(target_);
}

StepError Appender::older_dump(const Append& a, std::optional<std::int64_t> largest) {
    return StepError(ErrorKind::transient, "the dump's " + a.table + " ends below the key kept on the target (" + a.key + " " +
                                               std::to_string(a.above) + " there, " + (largest ? std::to_string(*largest) : "no row") +
                                               " in the dump): an older backup, or a source that was reset; the next attempt reloads it in full");
}

std::optional<RangeState> Appender::recall_ranges(const Append& a) const {
    auto text = ctx_.recall(kRangesMemo + a.table);
    auto s = text ? parse_state(*text) : std::nullopt;
    if (!s) return std::nullopt;
    return fit(*s, a.above);
}

void Appender::remember_ranges(const Append& a, const std::optional<RangeState>& s) {
    ctx_.remember(kRangesMemo + a.table, s ? format(*s) : "");
}

TableFile Appender::table_file(common::CopyIn& c, const std::string& name, bool flush) {
    // A backend sends its counters to the server's statistics only now and then: forced here, so
    // that those read next (and tomorrow's) hold every write this connection made.
    if (flush) c.exec("SELECT pg_stat_force_next_flush()");
    const std::string text = c.exec(table_file_sql(name));
    auto f = parse_table_file(text);
    if (!f) throw StepError(ErrorKind::transient, "reading the file and statistics of " + name + ": unexpected answer '" + text + "'");
    return *f;
}

RangeState Appender::ranges_to_keep(common::CopyIn& in, const std::string& name, const TargetCount& target, std::int64_t width, Counts counts,
                                    std::int64_t inserted, std::int64_t removed) {
    RangeState s{width, target.night + 1, target.file.filenode, std::move(counts), std::nullopt};
    if (target.file.writes) s.writes = writes_to_keep(target.file.writes, inserted, removed, table_file(in, name, true).writes);
    return s;
}

// Judges how much of the target to count, from what the last night left: a table whose counters
// moved by the tool's writes only is not counted; one written by someone else is counted in full.
void Appender::judge_target(common::CopyIn& c, const std::string& name, std::int64_t above, std::int64_t width,
                            const std::optional<RangeState>& recalled, TargetCount& t) {
    t.file = table_file(c, name, false);
    t.total = above / width + 1;
    if (!recalled || recalled->filenode != t.file.filenode) return;
    t.night = recalled->night;
    t.ranges = slice(above, width, t.night);
    const Writers w = writers_since(*recalled, t.file.filenode, t.file.writes);
    t.proven = w == Writers::tool;
    t.written = w == Writers::others;
}

Appender::TargetCount Appender::count_target(common::CopyIn& c, const Append& a, const std::string& name, const KeyBuckets& buckets,
                                             const std::optional<RangeState>& recalled) {
    TargetCount t;
    judge_target(c, name, a.above, buckets.width(), recalled, t);
    if (t.proven) {
        t.partial = true;
        t.counts = recalled->counts;
        return t;
    }
    if (t.written) t.ranges.clear();
    if (t.ranges.empty()) {  // no counts to trust (first night, a table rewritten) or a tiny table
        t.counts = parse_counts(c.exec(buckets.target_counts_sql(name, a.key)));
        t.counted = t.total;
        return t;
    }
    t.partial = true;
    t.counts = assume(recalled->counts, t.ranges, parse_counts(c.exec(buckets.target_counts_sql(name, a.key, t.ranges))));
    t.counted = size_of(t.ranges);
    return t;
}

void Appender::say_counted(const Append& a, const KeyBuckets& buckets, const TargetCount& t, bool live) {
    const std::int64_t ranges = t.counted;  // at the source (live) or on the target (backup)
    const std::int64_t on_target = t.proven ? 0 : live && t.written ? t.total : ranges;
    ctx_.add_figure("incremental." + a.table + ".key_ranges_counted", static_cast<double>(on_target));
    ctx_.add_figure("incremental." + a.table + ".key_ranges", static_cast<double>(t.total));
    if (live) ctx_.add_figure("incremental." + a.table + ".key_ranges_counted_at_source", static_cast<double>(ranges));
    const std::string width = " key ranges of " + std::to_string(buckets.width()) + " key(s)";
    const std::string of = std::to_string(ranges) + " of " + std::to_string(t.total) + width;
    const std::string slice_is = "tonight's slice (" + std::to_string(t.night % kSlices + 1) + "/" + std::to_string(kSlices) + ")";
    const std::string mine = "its statistics show no write since the last run but the tool's";
    const std::string theirs = "its statistics show writes the tool did not make";
    std::string text;
    if (!t.partial) text = "counted in all " + of + (t.written ? ": " + theirs : ": no counts kept from a last night on this table");
    else if (!live && t.proven) text = "not counted on the target, " + mine + ": the backup's counts compared with those kept in all " +
                                       std::to_string(t.total) + width;
    else if (!live) text = "counted in " + of + ": " + slice_is + " and those the backup changed";
    else if (t.proven) text = "counted in " + of + " at the source: " + slice_is + " and those where rows committed late land; not on the target, " + mine;
    else if (t.written) text = "counted in all " + std::to_string(t.total) + width + " on the target, " + theirs + ", and in " +
                               std::to_string(ranges) + " at the source: " + slice_is + ", those where rows committed late land and those where the target changed";
    else text = "counted in " + of + ": " + slice_is + " and those where rows committed late land";
    ctx_.add_note(a.table + ": " + text);
}

void Appender::finish(const Append& a, common::CopyIn& in, const std::string& name, const Tally& n, Clock::time_point t0) {
    const std::int64_t scanned = n.scanned, appended = n.appended, late = n.late;
    bool analyzed = false;
    if (appended + late > 0) {
        // The table had statistics already: refreshed once the new rows reach a tenth of it,
        // as autovacuum would (autovacuum_analyze_scale_factor), which takes over below that.
        // reltuples is still what the last ANALYZE or VACUUM saw
        const double before = std::stod("0" + in.exec("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = " +
                                                      common::quote_literal(name) + "::regclass"));
        if (analyze_ && static_cast<double>(appended + late) >= 0.1 * before) in.exec("ANALYZE " + name), analyzed = true;
    }
    loaded_(a.table);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    ctx_.add_figure("incremental." + a.table + ".rows_scanned", static_cast<double>(scanned));
    ctx_.add_figure("incremental." + a.table + ".rows_appended", static_cast<double>(appended));
    ctx_.add_timing("APPEND", a.table, t0, secs);
    ctx_.add_note(a.table + ": " + std::to_string(appended) + " new row(s) appended (key " + a.key + " above " + std::to_string(a.above) +
                  "), " + std::to_string(scanned) + " scanned");
    Fields fields{{"table", a.table}, {"rows_scanned", scanned}, {"rows_appended", appended},
                  {"above", a.above}, {"analyzed", analyzed}, {"duration_ms", static_cast<std::int64_t>(secs * 1000)}};
    fields.insert(fields.end(), n.phases.begin(), n.phases.end());
    ctx_.log().info("new rows appended", fields);
}

// From a live source, the rows the target lacks come with one WHERE there: those above the
// target's largest key, and those of the key ranges where the source counts more rows than the
// target (committed late); never the whole table.
void Appender::append_live(const Append& a, const TocEntry& data, const std::string& name, Clock::time_point t0) {
    std::unique_ptr<common::CopyIn> in = connect();
    struct Unregister {
        Appender* self;
        common::CopyIn* in;
        ~Unregister() { self->close(in); }
    } unregister{this, in.get()};
    const auto recalled = recall_ranges(a);
    KeyBuckets buckets(a.above, recalled ? recalled->width : width_for(a.above));
    const std::string key_sql = common::quote_ident(a.key);
    // Where last night's counts still describe the target, the source is counted only in
    // tonight's slice and the highest ranges (where rows land that were committed after the last
    // run), and the target only when someone else wrote to it; elsewhere production is not read.
    TargetCount target;
    judge_target(*in, name, a.above, buckets.width(), recalled, target);
    if (!target.ranges.empty()) target.ranges = merge(target.ranges, recent(a.above, buckets.width()));
    target.partial = !target.ranges.empty();
    const bool count_here = !(target.partial && (target.proven || target.written));
    if (target.partial && target.proven) target.counts = restrict_to(recalled->counts, target.ranges);
    if (target.partial && target.written) {
        // Counted in full first: where it differs from what the tool left, the source is counted too.
        const Counts all = parse_counts(in->exec(buckets.target_counts_sql(name, a.key)));
        for (const auto& r : ranges_of(to_recount(all, recalled->counts, target.ranges))) target.ranges = merge(target.ranges, r);
        target.counts = restrict_to(all, target.ranges);
    }
    target.counted = target.partial ? size_of(target.ranges) : target.total;
    BucketDiff diff;
    Counts source_counts;
    {
        std::string source_text;
        std::optional<StepError> source_error;
        common::JoinedThread counting([&] {
            source_error = common::capture_error(
                [&] { source_text = ctx_.live()->query(buckets.target_counts_sql(name, a.key, target.ranges)).value_or(""); },
                ErrorKind::transient, "counting the source's rows of " + a.table);
        });
        if (count_here) target.counts = parse_counts(in->exec(buckets.target_counts_sql(name, a.key, target.ranges)));
        counting.join();
        if (source_error) throw *source_error;
        source_counts = parse_counts(source_text);
        diff = compare(source_counts, target.counts);
    }
    say_counted(a, buckets, target, true);
    const auto t_counted = Clock::now();
    std::vector<std::int64_t> short_buckets = diff.short_buckets;
    const bool spread = too_spread(a, diff);
    if (spread) short_buckets.clear(), diff.long_buckets.clear();
    std::int64_t removed = 0;
    if (!diff.long_buckets.empty() || !diff.emptied_buckets.empty()) {
        // The source's keys where the target has more: what it lacks of them was deleted there.
        std::vector<std::int64_t> keys;
        if (!diff.long_buckets.empty())
            for (auto k : parse_keys(ctx_.live()->query(buckets.target_keys_sql(name, a.key, diff.long_buckets)).value_or(""))) keys.push_back(k);
        removed = remove_deleted(a, *in, name, buckets, diff, keys);
    }
    const auto present = short_buckets.empty() ? std::unordered_set<std::int64_t>{}
                                               : parse_keys(in->exec(buckets.target_keys_sql(name, a.key, short_buckets)));
    const std::string late_ranges = buckets.ranges_sql(key_sql, ranges_of(short_buckets));
    const std::string where = key_sql + " > " + std::to_string(a.above) + (late_ranges.empty() ? "" : " OR " + late_ranges);
    std::size_t key = 0;
    std::string copy_sql;
    std::int64_t appended = 0, late = 0;
    bool begun = false;
    auto filter = filter_rows(ctx_, a.table, data);
    const std::int64_t read = common::read_rows(
        ctx_, data, where,
        [&](const std::vector<std::string>& columns) { std::tie(key, copy_sql) = copy_into(columns, a.key, name, "the source's"); },
        [&](std::string_view row) {
            auto field = common::copy_field(row, key);
            auto k = field ? common::integer_field(*field) : std::nullopt;
            if (!k) throw StepError(ErrorKind::input, "a row of the source has no integer " + a.key);
            if (*k <= a.above && present.count(*k)) return;
            if (!begun) in->begin(copy_sql), begun = true;
            in->row(filter ? filtered(*filter, row, a.table) : row);
            if (*k > a.above) buckets.add(*k);  // tomorrow's counts: the late ones are in the source's already
            ++(*k > a.above ? appended : late);
        },
        [this] { return stopping(); });
    if (begun) in->commit();
    ctx_.add_figure("incremental." + a.table + ".rows_committed_late", static_cast<double>(late));
    if (filter) count_filtered(ctx_, a.table, *filter);
    // What the target holds now: the source's counts where counted, last night's elsewhere, and
    // tonight's new rows.
    if (spread) {
        remember_ranges(a, std::nullopt);
    } else {
        Counts now = target.partial ? assume(recalled->counts, target.ranges, source_counts) : source_counts;
        for (const auto& [b, n] : buckets.all_counts()) now[b] += n;
        remember_ranges(a, ranges_to_keep(*in, name, target, buckets.width(), std::move(now), appended + late, removed));
    }
    auto ms = [](Clock::time_point from, Clock::time_point to) { return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count(); };
    finish(a, *in, name, {read, appended, late, {{"counted_ms", ms(t0, t_counted)}, {"copied_ms", ms(t_counted, Clock::now())}}}, t0);
}

bool Appender::too_spread(const Append& a, const BucketDiff& diff) {
    const std::size_t ranges = diff.short_buckets.size() + diff.long_buckets.size();
    if (ranges <= kMaxShortBuckets) return false;
    ctx_.log().warn(a.table + ": the target differs from the source in " + std::to_string(ranges) + " key ranges below its largest key (" +
                    std::to_string(diff.missing) + " row(s) lacking, " + std::to_string(diff.extra) +
                    " too many): too many to search one by one; leave the table out of BACKUP_MODE for one run to reload it in full");
    ctx_.add_note(a.table + ": differs from the source below key " + std::to_string(a.above) + " in " + std::to_string(ranges) +
                  " key ranges, not repaired (too spread out)");
    return true;
}

std::int64_t Appender::remove_deleted(const Append& a, common::CopyIn& in, const std::string& name, const KeyBuckets& buckets,
                                      const BucketDiff& diff, const std::vector<std::int64_t>& source_keys) {
    // Where the source has none left, the whole range goes: no key to compare.
    std::vector<std::int64_t> ranges = diff.long_buckets;
    ranges.insert(ranges.end(), diff.emptied_buckets.begin(), diff.emptied_buckets.end());
    const std::string keys = "pg_temp.pixrep_source_keys";
    in.exec("DROP TABLE IF EXISTS " + keys);
    in.exec("CREATE TEMP TABLE pixrep_source_keys (k bigint)");
    if (!source_keys.empty()) {
        in.begin("COPY " + keys + " (k) FROM STDIN");
        for (auto k : source_keys) in.row(std::to_string(k));
        in.commit();
    }
    const std::int64_t removed = std::stoll("0" + in.exec(buckets.delete_absent_sql(name, a.key, ranges, keys)));
    in.exec("DROP TABLE " + keys);
    ctx_.add_figure("incremental." + a.table + ".rows_removed", static_cast<double>(removed));
    ctx_.add_figure("incremental." + a.table + ".key_ranges_reread", static_cast<double>(diff.long_buckets.size()));
    ctx_.add_note(a.table + ": " + std::to_string(removed) + " row(s) deleted at the source removed (" + std::to_string(diff.emptied_buckets.size()) +
                  " key range(s) emptied there, " + std::to_string(diff.long_buckets.size()) + " read again)");
    return removed;
}

bool Appender::stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return abandoned_ || ctx_.env().stopping();
}

std::optional<Appender::Repaired> Appender::recover_late_rows(const Append& a, const TocEntry& data, const std::string& name,
                                                        const std::string& copy_sql, std::size_t key, const KeyBuckets& buckets,
                                                        const Counts& target, common::CopyIn& in, RowFilter* filter) {
    // The dump's rows up to the target's max, counted by buckets of keys, against the target's.
    const auto diff = compare(buckets.counts(), target);
    if (too_spread(a, diff)) return std::nullopt;
    if (diff.short_buckets.empty() && diff.long_buckets.empty()) {
        return Repaired{0, diff.emptied_buckets.empty() ? 0 : remove_deleted(a, in, name, buckets, diff, {})};
    }
    const auto present = diff.short_buckets.empty() ? std::unordered_set<std::int64_t>{}
                                                    : parse_keys(in.exec(buckets.target_keys_sql(name, a.key, diff.short_buckets)));
    const std::unordered_set<std::int64_t> wanted(diff.short_buckets.begin(), diff.short_buckets.end());
    const std::unordered_set<std::int64_t> checked(diff.long_buckets.begin(), diff.long_buckets.end());
    ctx_.log().info(a.table + ": reading the backup again for the key ranges that differ from the target",
                    {{"rows_committed_late", diff.missing}, {"rows_deleted_at_source", diff.extra},
                     {"key_ranges", static_cast<std::int64_t>(wanted.size() + checked.size())}});
    std::int64_t found = 0;
    std::vector<std::int64_t> source_keys;
    common::stream_rows(
        ctx_.env(), *ctx_.backup(), data, [](const std::vector<std::string>&) {},
        [&](std::string_view row) {
            auto field = common::copy_field(row, key);
            auto kv = field ? common::integer_field(*field) : std::nullopt;
            if (!kv || *kv > a.above) return;
            const std::int64_t b = buckets.bucket(*kv);
            if (checked.count(b)) source_keys.push_back(*kv);
            if (!wanted.count(b) || present.count(*kv)) return;
            if (found++ == 0) in.begin(copy_sql);
            in.row(filter ? filtered(*filter, row, a.table) : row);
        },
        [this] { return stopping(); });
    if (found > 0) in.commit();
    std::int64_t removed = 0;
    if (!diff.long_buckets.empty() || !diff.emptied_buckets.empty()) removed = remove_deleted(a, in, name, buckets, diff, source_keys);
    ctx_.add_figure("incremental." + a.table + ".rows_committed_late", static_cast<double>(found));
    if (diff.missing > 0)
        ctx_.add_note(a.table + ": " + std::to_string(found) + " row(s) below key " + std::to_string(a.above) +
                      " committed after the last backup was taken, appended");
    return Repaired{found, removed};
}

}  // namespace pixrep::restore
