#pragma once
// Appends the new rows of the tables kept on the target, one thread and one connection per
// table, beside pg_restore: each table's rows are streamed out of the dump by pg_restore, those
// whose key is above the target's largest go in with COPY, in one transaction per table.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pixrep/step.hpp>

#include "copy_in.hpp"
#include "late_rows.hpp"
#include "threads.hpp"

namespace pixrep::restore {

class Appender {
public:
    /// Starts at once. `settings` are run with SET on each connection first; `loaded(table)` is
    /// called once a table's new rows are committed.
    Appender(RestoreContext& ctx, std::vector<std::string> settings, bool analyze, std::function<void(const std::string&)> loaded);
    ~Appender();
    Appender(const Appender&) = delete;
    Appender& operator=(const Appender&) = delete;

    /// Stops reading and rolls back what is not committed yet.
    void abandon();
    /// Waits for every table; throws StepError with the first failure.
    void wait();

private:
    using Clock = std::chrono::steady_clock;
    /// Rows read, appended above the key, and found committed late below it.
    struct Tally {
        std::int64_t scanned = 0, appended = 0, late = 0;
        Fields phases;  ///< Where the time went ("waited_ms": for the block...), for the log.
    };
    void run(const Append& a);
    void append(const Append& a);
    void append_live(const Append& a, const TocEntry& data, const std::string& name, Clock::time_point t0);
    /// Analyzes when enough rows came, tells the pool, and reports.
    void finish(const Append& a, common::CopyIn& in, const std::string& name, const Tally& n, Clock::time_point t0);
    /// Why `a` cannot go on: the dump's largest key (nullopt: no row) is below the kept one (an
    /// older dump, or a source reset, which appending cannot repair); retried, the table's
    /// step decides again on the dump's keys.
    static StepError older_dump(const Append& a, std::optional<std::int64_t> largest);
    std::unique_ptr<common::CopyIn> connect();
    std::unique_ptr<common::CopyIn> open(const std::string& copy_sql);
    bool stopping();
    /// Rows put in (committed late at the source) and taken out (deleted there) below the key.
    struct Repaired {
        std::int64_t late = 0, removed = 0;
    };
    /// Finds and appends the dump's rows up to `a.above` that the target lacks, and removes the
    /// target's rows the dump no longer has (deleted at the source); nullopt when the ranges that
    /// differ were too many to repair. Rows go through `filter` when given.
    std::optional<Repaired> recover_late_rows(const Append& a, const TocEntry& data, const std::string& name, const std::string& copy_sql,
                                                  std::size_t key, const KeyBuckets& buckets, const Counts& target, common::CopyIn& in,
                                                  RowFilter* filter);
    /// What the target holds of a kept table, by key range.
    struct TargetCount {
        bool partial = false;             ///< Counted in `ranges` only; last night's counts stand for the rest.
        std::vector<BucketRange> ranges;  ///< What was counted, when partial.
        Counts counts;                    ///< Rows per range (counted, or as last night left them).
        std::int64_t counted = 0, total = 0;  ///< Ranges counted tonight, of all.
        std::int64_t night = 0;           ///< Nights counted from the kept counts before tonight.
        TableFile file;                   ///< The table's file and write counters tonight, before the appends.
        bool proven = false;              ///< Not counted: its counters show no write but the tool's since the kept counts.
        bool written = false;             ///< Counted in full: its counters show writes the tool did not make.
    };
    /// The target's rows counted by range on a connection of its own while the dump is read;
    /// cancelled, not waited for, when the read fails.
    class TargetCounting {
    public:
        TargetCounting(Appender& self, const Append& a, const std::string& name, const KeyBuckets& buckets,
                       const std::optional<RangeState>& recalled);
        ~TargetCounting();
        /// Waits for the count; throws its error.
        TargetCount result();

    private:
        Appender& self_;
        std::atomic<common::CopyIn*> counter_{nullptr};
        TargetCount target_;
        std::optional<StepError> error_;
        common::JoinedThread thread_;  ///< Last: started once the rest is in place, joined first.
    };
    /// What reading a kept table's rows in the dump found.
    struct DumpRead {
        std::size_t key = 0;   ///< Where the key is among the dump's columns.
        std::string copy_sql;  ///< The COPY that appends the dump's rows.
        std::int64_t scanned = 0, appended = 0;
        std::optional<std::int64_t> largest;  ///< The dump's largest key; nullopt: no row.
    };
    /// Reads the dump's rows of `a`: counts their keys into `buckets`, and sends those above
    /// `a.above` to `in` (opened at the first), through `filter` when given.
    DumpRead read_dump(const Append& a, const TocEntry& data, const std::string& name, KeyBuckets& buckets,
                       std::unique_ptr<common::CopyIn>& in, RowFilter* filter);
    /// Counts on the target, too, the ranges of a partial count where the dump's counts differ from last night's.
    void recount_changed(const Append& a, const std::string& name, const KeyBuckets& buckets, TargetCount& target, common::CopyIn& in);
    /// Reads `name`'s file and counters into `t` and judges them against `recalled`: proven,
    /// written, or neither; where `recalled` still describes the file, `t.ranges` is tonight's slice.
    static void judge_target(common::CopyIn& c, const std::string& name, std::int64_t above, std::int64_t width,
                             const std::optional<RangeState>& recalled, TargetCount& t);
    /// Counts the target's rows of `name` on `c`: not at all when its counters prove `recalled`
    /// exact, in tonight's slice when its file is the same but its counters cannot tell, else everywhere.
    TargetCount count_target(common::CopyIn& c, const Append& a, const std::string& name, const KeyBuckets& buckets,
                             const std::optional<RangeState>& recalled);
    /// `name`'s TableFile read on `c`, after flushing `c`'s own write counters when `flush`.
    static TableFile table_file(common::CopyIn& c, const std::string& name, bool flush);
    /// What the target holds tonight for the next night: `counts` by ranges of `width`, and the
    /// counters to check then, kept when `target`'s counters moved by just the tool's writes.
    RangeState ranges_to_keep(common::CopyIn& in, const std::string& name, const TargetCount& target, std::int64_t width, Counts counts,
                              std::int64_t inserted, std::int64_t removed);
    /// Last night's counts of `a`'s table, regrouped for keys up to `a.above`; nullopt when none.
    std::optional<RangeState> recall_ranges(const Append& a) const;
    /// Keeps `s` for the next night; nullopt forgets (the next night counts everything).
    void remember_ranges(const Append& a, const std::optional<RangeState>& s);
    /// Reports how much of the table was counted tonight on each side, and why.
    void say_counted(const Append& a, const KeyBuckets& buckets, const TargetCount& t, bool live);
    static inline const std::string kRangesMemo = "key_ranges.";
    /// Removes the target's rows of `diff`'s emptied key ranges, and those of its long ones whose
    /// key `source_keys` lacks; returns how many, and reports.
    std::int64_t remove_deleted(const Append& a, common::CopyIn& in, const std::string& name, const KeyBuckets& buckets, const BucketDiff& diff,
                                const std::vector<std::int64_t>& source_keys);
    /// True (and said) when the key ranges that differ are too many to search row by row.
    bool too_spread(const Append& a, const BucketDiff& diff);
    /// More key ranges differing than this: not searched row by row.
    static constexpr std::size_t kMaxShortBuckets = 256;
    void close(common::CopyIn* in);

    RestoreContext& ctx_;
    std::vector<std::string> settings_;
    bool analyze_;
    std::function<void(const std::string&)> loaded_;
    std::mutex mu_;
    bool abandoned_ = false;
    std::vector<common::CopyIn*> active_;
    std::optional<StepError> failure_;
    std::vector<std::thread> threads_;
};

}  // namespace pixrep::restore
