#pragma once
// The restore plan: the dump's table of contents, and what each step decided to leave out.
// Sources fill it during prepare(); filtering steps exclude entries by identity (dump id and
// dependencies), never by matching names with regular expressions.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace pixrep {

/// One entry of the dump's table of contents (one line of `pg_restore -l`).
struct TocEntry {
    int id = 0;                ///< pg_dump's dump id, unique in the archive.
    std::string desc;          ///< Kind: "TABLE", "TABLE DATA", "INDEX", "FK CONSTRAINT"...
    std::string schema;        ///< Schema name, "-" when the object has none.
    std::string tag;           ///< pg_dump's tag: "users", "users users_pkey", "COLUMN users.name".
    std::string owner;         ///< Owner in the source database.
    std::string list_line;     ///< The exact `pg_restore -l` line, written back to the --use-list file.
    std::vector<int> deps;     ///< Dump ids this entry depends on.
    std::string sql;           ///< Definition, for schema entries (empty for data entries).
    std::string table;         ///< "schema.table" the entry belongs to, "" when none.
    std::string excluded_by;   ///< Step that excluded it; empty when it will be restored.
    std::string reason;        ///< Why it was excluded, for the plan preview.
    bool deferred = false;     ///< Excluded from pg_restore's list but created by a step instead.

    /// True when pg_restore will restore this entry.
    bool kept() const { return excluded_by.empty(); }
};

/// Ordered table of contents plus exclusions.
class RestorePlan {
public:
    std::vector<TocEntry> entries;  ///< In archive order.
    std::string archive_version;    ///< Custom-format version, e.g. "1.14".
    std::string dumped_by;          ///< pg_dump version that wrote the dump.

    /// True once a source has read a table of contents into the plan.
    bool loaded() const { return !entries.empty(); }

    /// Entry with dump id `id`, or nullptr.
    const TocEntry* find(int id) const {
        for (const auto& e : entries)
            if (e.id == id) return &e;
        return nullptr;
    }

    /// Excludes every kept entry matching `pred`, then every entry that depends (transitively)
    /// on an excluded one, because pg_restore could not create it. Returns how many it excluded.
    template <class Pred>
    std::size_t exclude(Pred pred, const std::string& by, const std::string& reason) {
        std::size_t n = 0;
        for (auto& e : entries)
            if (e.kept() && pred(static_cast<const TocEntry&>(e))) {
                e.excluded_by = by;
                e.reason = reason;
                ++n;
            }
        if (n == 0) return 0;
        // Deferred entries are still to be created (by a step): they go with what they depend on.
        for (bool changed = true; changed;) {
            changed = false;
            for (auto& e : entries) {
                if (!e.kept() && !e.deferred) continue;
                for (int d : e.deps) {
                    const TocEntry* dep = find(d);
                    if (dep && !dep->kept() && !dep->deferred) {
                        e.deferred = false;
                        e.excluded_by = by;
                        e.reason = "depends on excluded " + dep->desc + " " + dep->tag;
                        ++n;
                        changed = true;
                        break;
                    }
                }
            }
        }
        return n;
    }

    /// Takes entry `id` out of pg_restore's list without touching its dependents, because step
    /// `by` will create it itself (see RunContext::deferred_sql). Returns false if not kept.
    bool defer(int id, const std::string& by, const std::string& reason) {
        for (auto& e : entries)
            if (e.id == id && e.kept()) {
                e.excluded_by = by;
                e.reason = reason;
                e.deferred = true;
                return true;
            }
        return false;
    }

    /// True when entry `id` exists and will be created neither by pg_restore nor by a step.
    bool dropped(int id) const {
        const TocEntry* e = find(id);
        return e && !e->kept() && !e->deferred;
    }

    /// Number of entries pg_restore will restore.
    std::size_t kept_count() const {
        return static_cast<std::size_t>(
            std::count_if(entries.begin(), entries.end(), [](const TocEntry& e) { return e.kept(); }));
    }
};

}  // namespace pixrep
