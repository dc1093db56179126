#pragma once
// What steps share during one run. Steps see this and nothing of the host's internals.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pixrep/log.hpp>
#include <pixrep/plan.hpp>

namespace pixrep {

/// The verified backup a source step hands to the following steps.
struct Backup {
    std::filesystem::path dump;       ///< Custom-format file or directory-format folder.
    std::string format;               ///< "custom" or "directory".
    std::string id;                   ///< Source-specific id (Scalingo backup id, file path...).
    std::string name;                 ///< Human name, e.g. the Scalingo backup name.
    std::string created_at;           ///< RFC 3339 creation time, when known.
    std::int64_t archive_bytes = -1;  ///< Size of the archive as fetched, -1 when unknown.
};

/// SQL a step wants run once the data it needs is in. pg-restore runs these in its own worker
/// pool, beside pg_restore's jobs, so extra indexes and deferred constraints do not wait for the
/// whole restore or for each other.
struct DeferredSql {
    std::string key;                 ///< Unique name; "toc:<dump id>" when it replaces a TOC entry.
    std::vector<std::string> sql;    ///< Statements run in order on one connection.
    std::string table;               ///< "schema.table" whose data must be loaded first; "" = the whole restore.
    std::vector<int> toc_deps;       ///< Dump ids it depends on; those deferred too ("toc:<id>") must finish first.
    std::string by;                  ///< Step that asked for it, for logs and the plan preview.
};

/// Timing of one item restored by pg_restore, for the run report.
struct ItemTiming {
    int id = 0;                 ///< Dump id.
    std::string desc;           ///< Kind, e.g. "INDEX".
    std::string tag;            ///< Object name.
    double start_s = 0;         ///< Seconds since the restore started.
    double seconds = 0;         ///< Duration.
};

/// Figures the host prints in the end-of-run report.
struct RunReport {
    std::vector<std::pair<std::string, double>> step_seconds;  ///< Wall time per step, in order.
    std::vector<ItemTiming> restore_items;                     ///< pg_restore items, as finished.
    double restore_wall_seconds = 0;                           ///< Wall time of pg_restore.
    std::int64_t bytes_downloaded = 0;                         ///< Bytes fetched by the source.
    std::map<std::string, std::int64_t> rows_restored;         ///< Rows per restored table.
};

/// Shared state of one run. The host owns it; each step gets it in prepare/execute/finish.
struct RunContext {
    Logger* logger = nullptr;                    ///< Logger tagged with the current step.
    std::string target_url;                      ///< Target database URL (may hold a password).
    std::filesystem::path work_dir;              ///< Scratch directory, kept between retries.
    bool dry_run = false;                        ///< Prepare only: nothing may touch the target.
    const std::atomic<bool>* stop = nullptr;     ///< Set when SIGTERM/SIGINT asked the run to stop.
    std::optional<Backup> backup;                ///< Set by the source step during prepare().
    RestorePlan plan;                            ///< Filled by the source, filtered by other steps.
    std::vector<DeferredSql> deferred_sql;       ///< Statements run by pg-restore's pool (see DeferredSql).
    std::map<std::string, std::string> facts;    ///< Free-form values one step hands another.
    RunReport report;                            ///< Figures for the end-of-run report.

    /// The logger of the current step.
    Logger& log() const { return *logger; }
    /// True when the run must stop as soon as possible.
    bool stopping() const { return stop && stop->load(); }
};

/// How a run ended, given to every step's finish().
struct RunOutcome {
    bool success = false;      ///< True when every step succeeded.
    std::string error;         ///< The error that ended the run, redacted; empty on success.
    std::string failed_step;   ///< Config name of the step that failed, if any.
    double seconds = 0;        ///< Wall time of the run.
    int attempt = 1;           ///< 1 for the first try, 2 for the first retry...
};

}  // namespace pixrep
