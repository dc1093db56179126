#pragma once
// The restore plan: the dump's table of contents, and what becomes of each entry. A source step
// builds it from the dump; other steps change it only through RunContext's verbs (exclude,
// defer), which act by identity (dump id and dependencies), never by matching names.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pixrep {

/// pg_dump's id of a table-of-contents entry, unique in one archive.
enum class DumpId : int {};

/// The number behind a DumpId, for messages and list files.
inline int raw(DumpId id) { return static_cast<int>(id); }

/// What becomes of a table-of-contents entry.
enum class Fate {
    restore,   ///< pg_restore restores it.
    excluded,  ///< Left out, with everything that depends on it.
    deferred,  ///< Left out of pg_restore's list; a step's deferred work creates it instead.
    kept,      ///< Already on the target, kept as it is (an incremental table and what it needs).
};

/// What the verification found of one data entry once its block had arrived whole.
struct Arrived {
    std::int64_t rows = -1;                     ///< Rows of COPY data; -1 unknown (not decompressed, or no data).
    std::optional<std::int64_t> first_key_max;  ///< Largest integer starting a row, when every row starts with one.
    std::int64_t data_offset = -1;              ///< Where its block starts in a custom-format dump file; -1 unknown.
    std::string sha256;                         ///< SHA-256 of its rows (COPY text, decompressed), hex; "" unknown.
};

/// One entry of the dump's table of contents.
struct TocEntry {
    DumpId id{};                ///< pg_dump's dump id.
    std::string desc;           ///< Kind: "TABLE", "TABLE DATA", "INDEX", "FK CONSTRAINT"...
    std::string schema;         ///< Schema name, "-" when the object has none.
    std::string tag;            ///< pg_dump's tag: "users", "users users_pkey", "COLUMN users.name".
    std::string owner;          ///< Owner in the source database.
    std::string catalog_id;     ///< "<tableoid> <oid>" in the source, as `pg_restore -l` prints it.
    std::vector<DumpId> deps;   ///< Entries this one depends on.
    std::string sql;            ///< Definition (schema entries), as pg_dump wrote it.
    std::string copy;           ///< COPY statement of a data entry ("" for others or INSERT-style data).
    std::string table;          ///< "schema.table" the entry belongs to, "" when none.
    std::int64_t rows = -1;     ///< Rows of a data entry, counted while the dump was verified; -1 unknown.
    std::optional<std::int64_t> first_key_max;  ///< Largest integer of a data entry's first column, when every row starts with one.
    std::int64_t data_offset = -1;  ///< Where a data entry's block starts in a custom-format dump file, as the verification read it; -1 unknown.
    std::string data_sha256;        ///< SHA-256 of a data entry's rows (COPY text, decompressed), hex; "" unknown.
    Fate fate = Fate::restore;  ///< What becomes of it.
    std::string by;             ///< Step that excluded or deferred it.
    std::string reason;         ///< Why, for the plan preview.

    /// What the verification found of its data (rows, first_key_max, data_offset, sha256).
    Arrived arrival() const { return {rows, first_key_max, data_offset, data_sha256}; }
    /// Takes what the verification found of its data once its block arrived.
    void take(const Arrived& a) { rows = a.rows, first_key_max = a.first_key_max, data_offset = a.data_offset, data_sha256 = a.sha256; }
    /// True when pg_restore will restore this entry.
    bool restored() const { return fate == Fate::restore; }
    /// True when the entry will exist after the run (restored, or created by deferred work).
    bool created() const { return fate != Fate::excluded; }
    /// "schema.tag", or the tag alone when the entry has no schema.
    std::string qualified() const { return schema == "-" || schema.empty() ? tag : schema + "." + tag; }
};

/// The table of contents, in archive order, with each entry's fate.
struct RestorePlan {
    std::vector<TocEntry> entries;  ///< In archive order.

    /// True once a source has read a table of contents into the plan.
    bool loaded() const { return !entries.empty(); }
    /// Entry `id`, or nullptr.
    const TocEntry* find(DumpId id) const {
        for (const auto& e : entries)
            if (e.id == id) return &e;
        return nullptr;
    }
    /// The TABLE entry of "schema.table", or nullptr.
    const TocEntry* table(const std::string& qualified) const {
        for (const auto& e : entries)
            if (e.desc == "TABLE" && e.table == qualified) return &e;
        return nullptr;
    }
    /// Number of entries pg_restore will restore.
    std::size_t restored_count() const {
        return static_cast<std::size_t>(
            std::count_if(entries.begin(), entries.end(), [](const TocEntry& e) { return e.restored(); }));
    }
};

}  // namespace pixrep
