#pragma once
// Whether a table can keep yesterday's copy tonight: its definition (the table, what hangs on
// it, what it stands on, as the backup writes them) and its rows (the SHA-256 of its data
// block; from a live source, no row written since and as many rows) are what they were when the
// tool last restored it, and the target's table is still the one it made then. Pure: the facts
// are read elsewhere.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pixrep/plan.hpp>

namespace pixrep::reuse {

/// What the tool kept of a table it restored.
struct Remembered {
    std::string definition;  ///< definition_of() then.
    std::string rows;        ///< The SHA-256 of its rows then, or format_live() of a live source's.
    std::int64_t node = 0;   ///< The target table's relfilenode once restored (a TRUNCATE or rewrite changes it).
    bool changed = false;    ///< Its rows then differed from those of the restore before (a backup's).
};

/// "definition=<hex> rows=<hex> node=<n>", then " changed" when it is.
std::string format(const Remembered& r);
/// format()'s text back; nullopt for anything else ("" forgets a table).
std::optional<Remembered> parse(const std::string& text);

/// The SHA-256 (hex) of what makes `table` (a TABLE entry of `plan`) what it is: its CREATE, its
/// data entry's COPY columns, every entry of the plan that belongs to it and will exist tonight
/// (indexes, keys, triggers, policies, comments), and the entries it depends on directly (types,
/// sequences, functions of its defaults), schemas aside; in a fixed order.
std::string definition_of(const RestorePlan& plan, const TocEntry& table);

/// Why `table` cannot keep yesterday's copy whatever its rows ("" when it can): what the kept
/// tables' engine keeps beside it must be only its own plain parts (indexes, keys, defaults,
/// comments, an owned sequence); a partition or a parent, a table using a type, domain or
/// function of the backup's (whose casts, operators... are rebuilt), one with triggers, rules
/// or policies is rebuilt every night.
std::string ineligible(const RestorePlan& plan, const TocEntry& table);

/// The index names `plan` makes on `table` (INDEX entries, and the indexes of its keys).
std::vector<std::string> planned_indexes(const RestorePlan& plan, const TocEntry& table);

/// What the target holds under the table's name.
struct TargetTable {
    bool exists = false;
    std::int64_t node = 0;               ///< Its relfilenode.
    std::vector<std::string> indexes;    ///< Its index names, but those a later step marked as its own (beside::is_step_index_comment).
    std::string key;                     ///< Its primary key's column when that is one integer column, else "".
};

/// The decision and why.
struct Verdict {
    bool reuse = false;
    std::string why;
};

/// A candidate (reuse = true: its rows are still to be compared) when `last` was remembered
/// with tonight's `definition`, and the target's table is the one then restored, with no index
/// that the backup does not make (a later step's, which it would make again, and fail on).
Verdict judge(const std::optional<Remembered>& last, const std::string& definition, const TargetTable& target,
              const std::vector<std::string>& planned);

/// Reused when tonight's rows (the data block's SHA-256, "" unknown) are `last`'s.
Verdict judge_rows(const Remembered& last, const std::string& rows);

/// Rebuilt at once, without waiting for tonight's checksum, when `last` says the rows changed
/// at the last restore (a table written every day); else still a candidate (reuse = true).
/// Their block may be the last to arrive, and the whole build would wait for it.
Verdict judge_changing(const Remembered& last);

/// What a live source's table was at a restore. No checksum of its rows exists there without
/// reading them all; what proves them unchanged is that no visible row was written by a
/// transaction the snapshot of then could not see, and that as many rows are visible.
struct LiveRows {
    std::uint64_t xmin = 0;   ///< The snapshot's xmin then (64-bit): a row written since has an xmin at or above it.
    std::int64_t rows = 0;    ///< The rows copied then.
    std::int64_t writes = -1; ///< The source's statistics then: rows inserted, updated and deleted in all; -1 unknown.
};

/// "live:<xmin>:<rows>:<writes>".
std::string format_live(const LiveRows& r);
/// format_live()'s text back; nullopt for anything else (a backup's checksum).
std::optional<LiveRows> parse_live(const std::string& text);

/// Tonight's snapshot of the live source: its xmin and xmax (64-bit).
struct LiveSnapshot {
    std::uint64_t xmin = 0;
    std::uint64_t xmax = 0;
};

/// Whether rows remembered as `last_rows` may still be the source's tonight (reuse = true: count
/// them to be sure): not when the source's statistics counted writes since (`writes`, -1
/// unknown), nor when its transactions are behind those of then (another server), nor so far
/// ahead that a 32-bit transaction age no longer orders them.
Verdict judge_live(const std::string& last_rows, const LiveSnapshot& tonight, std::int64_t writes);

/// The condition on a row of the source that it was written since the snapshot of `last` (or
/// by a transaction that snapshot could not see): its xmin at or above `last.xmin`.
std::string written_since_sql(const LiveRows& last);

/// A query of the snapshot counting, in one scan of `table` (quoted), its rows and those
/// written since `last` (written_since_sql): "<rows> <written since>".
std::string live_count_sql(const std::string& table, const LiveRows& last);

/// What live_count_sql() found.
struct LiveCount {
    std::int64_t rows = 0;     ///< Rows in tonight's snapshot.
    std::int64_t written = 0;  ///< Of them, written since the last restore.
};
/// live_count_sql()'s answer read; nullopt when it is not two counts.
std::optional<LiveCount> parse_live_count(const std::string& answer);

/// Reused when live_count_sql()'s `answer` finds as many rows as `last` and none written since.
Verdict judge_live_count(const LiveRows& last, const std::string& answer);

/// Whether a live source's table whose rows changed takes only its changes on yesterday's copy
/// (reuse = true) instead of being rebuilt: the rows written since (`tonight.written`) replace
/// those of the same key and the rows gone at the source are deleted, which needs a
/// single-column integer primary key (`key`, "" when none) that masking leaves as it is, and at
/// most `max_share` of the table written since (above it, a rebuild costs less).
Verdict judge_changes(const LiveCount& tonight, const std::string& key, bool key_rewritten, double max_share);

/// The rows of yesterday's copy that the source no longer has: the copy holds `target_rows`,
/// `present` of the `written` rows' keys among them, and tonight's snapshot `source_rows`.
/// Since a key is never reused unwritten, the copy once changed holds every key of the source
/// and these. Negative: the copy is not what the tool left (it is then rebuilt).
std::int64_t rows_deleted(std::int64_t target_rows, std::int64_t written, std::int64_t present, std::int64_t source_rows);

}  // namespace pixrep::reuse
