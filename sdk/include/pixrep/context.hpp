#pragma once
// What a step sees of a run: a read-only environment, and a few verbs to hand over the backup,
// shape the restore plan, leave work for the restorer and record figures. Nothing else of the
// host, and nothing of another step.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/config.hpp>

#include <pixrep/log.hpp>
#include <pixrep/plan.hpp>

/// libpq's connection (PGconn), declared here so that the SDK does not need libpq's headers.
struct pg_conn;

namespace pixrep {

/// A program the run uses, as found on this machine.
struct Tool {
    std::filesystem::path path;  ///< Absolute path of the binary.
    std::string version;         ///< Its version, e.g. "17.6".
    int major = 0;               ///< Major version, e.g. 17.
};

/// How to reach the target database; the host derives every form once from DATABASE_URL.
struct Target {
    std::string conninfo;         ///< libpq connection string with the password and timeouts (none for a step that does not connect): never log it.
    std::string conninfo_public;  ///< The same without the password (nor sslpassword), fit for a child's command line.
    std::string password;         ///< For a child's PGPASSWORD; "" when none, or for a step that does not connect.
    std::string sslpassword;      ///< The TLS key's passphrase, for a child's service file (libpq reads it from no variable); "" when none.
    std::string label;            ///< user@host:port/dbname, for messages.
};

/// The verified backup a source step hands to the following steps.
struct Backup {
    std::filesystem::path dump;       ///< Custom-format file or directory-format folder.
    std::string format;               ///< "custom" or "directory".
    std::string id;                   ///< Source-specific id (Scalingo backup id, file path...).
    std::string name;                 ///< Human name, e.g. the Scalingo backup name.
    std::string created_at;           ///< RFC 3339 creation time, when known.
    std::int64_t archive_bytes = -1;  ///< Size of the archive as fetched, -1 when unknown.
    std::string archive_version;      ///< Archive format version, e.g. "1.16".
    std::string pg_dump_version;      ///< Version of the pg_dump that wrote it, e.g. "17.6".
    std::string server_version;       ///< Version of the server it was dumped from.
};

/// Unit of a figure in the run report.
enum class Unit { count, bytes, seconds };

/// Work a step leaves to the restorer (pg-restore), which runs it on its own connections beside
/// pg_restore's jobs as soon as what it waits for is there.
struct Deferred {
    std::string label;               ///< What it makes, for logs, the plan preview and the report.
    std::string kind;                ///< Kind in the report: "INDEX", "FK CONSTRAINT", "ANALYZE", "SQL"...
    std::vector<std::string> sql;    ///< Statements, run in order on one connection.
    std::string table;               ///< "schema.table" whose data must be loaded first; "" = the whole restore.
    std::vector<DumpId> after;       ///< Entries created by other deferred work that must be done first.
    std::optional<DumpId> replaces;  ///< The entry this work creates instead of pg_restore (set by defer()).
    std::string by;                  ///< Step that asked for it (set by the host).
};

/// New rows of a table kept on the target, appended from the dump by the restorer.
struct Append {
    DumpId data{};           ///< The table's TABLE DATA entry in the dump.
    std::string table;       ///< "schema.table".
    std::string key;         ///< Key column: the rows whose key is greater than `above` are appended.
    std::int64_t above = 0;  ///< The target's largest key when the plan was made.
    std::string by;          ///< Step that asked for it (set by the host).
};

/// Rewrites the rows of one stream of a table on their way to the target (masking). One per
/// stream: never shared between threads.
class BOOST_SYMBOL_VISIBLE RowFilter {
public:
    virtual ~RowFilter() = default;
    /// `row` (COPY text, no newline) as the target is to take it; the view lives until the next
    /// call. Throws std::invalid_argument, naming the column and never the value, on a value it
    /// cannot read.
    virtual std::string_view apply(std::string_view row) = 0;
    /// Values rewritten so far, by column.
    virtual std::map<std::string, std::int64_t> counts() const = 0;
};

/// How a table's rows are rewritten wherever they go to the target.
struct RowFilterSpec {
    /// Makes the filter of one stream of rows whose COPY names `columns`, in that order.
    std::function<std::unique_ptr<RowFilter>(const std::vector<std::string>& columns)> make;
    std::vector<std::string> columns;  ///< The columns it rewrites.
    std::string fingerprint;           ///< Changes when the rewriting does (rules, key); holds no secret.
    std::string by;                    ///< Step that asked for it (set by the host).
};

/// A figure of the run report.
struct Figure {
    double value = 0;         ///< The sum of what was recorded.
    Unit unit = Unit::count;  ///< How to print it.
};

/// One timed item of work (a pg_restore entry, a deferred statement).
struct Timing {
    std::string kind;    ///< "TABLE DATA", "INDEX"...
    std::string name;    ///< Object name.
    double start_s = 0;  ///< Seconds since the attempt started.
    double seconds = 0;  ///< Duration.
};

/// What the end-of-run report is made of.
struct RunReport {
    std::vector<std::pair<std::string, double>> step_seconds;  ///< "step (phase)" -> seconds, in order.
    std::map<std::string, Figure> figures;                     ///< "bytes_downloaded", "rows.public.users"...
    std::vector<Timing> timings;                               ///< Items of work, as they finished.
    std::vector<std::pair<std::string, std::string>> notes;    ///< (step, decision and why), in order.
};

class RunEnv;

/// What a source's transfer is given while its dump arrives on a thread of the host's (see
/// RunContext::stream()); thread-safe. It lives as long as the transfer, unlike the RunContext
/// of the prepare() that started it.
class BOOST_SYMBOL_VISIBLE Arrival {
public:
    virtual ~Arrival() = default;
    /// The source step's environment; stopping() also turns true when the attempt ends early.
    virtual const RunEnv& env() const = 0;
    /// The source step's logger, tagged as its transfer.
    virtual Logger& log() const = 0;
    /// The dump's table of contents has arrived and is checked: hands over the backup (its file
    /// still growing) and the plan, as RunContext::adopt() does. Call once, before arrived().
    virtual void toc(Backup backup, RestorePlan plan) = 0;
    /// Data entry `id`'s block is on disk whole and checked; `what` is what its check found.
    virtual void arrived(DumpId id, const Arrived& what) = 0;
    /// True when a step reads data entry `id`'s rows whole and checks them itself (the new rows
    /// of a kept table are appended from them): the transfer may walk its block without
    /// decompressing it, and say arrived() with its rows, key and checksum unknown.
    virtual bool read_by_a_step(DumpId id) const = 0;
    /// Adds `value` to figure `name` of the run report.
    virtual void add_figure(const std::string& name, double value, Unit unit = Unit::count) = 0;
};

/// A live database serving the rows of the plan's data entries, from one snapshot for the whole
/// attempt (see RunContext::serve()); thread-safe, each call on a connection of its own.
class BOOST_SYMBOL_VISIBLE LiveSource {
public:
    virtual ~LiveSource() = default;
    /// Streams the rows of data entry `data` matching `where` (SQL over its columns; "" = every
    /// row) in COPY text format, one row per `on_row` call without its newline; `stop` ends it
    /// early. Returns the rows sent. Throws StepError.
    virtual std::int64_t copy(const TocEntry& data, const std::string& where, const std::function<void(std::string_view)>& on_row,
                              const std::function<bool()>& stop) = 0;
    /// The first column of the first row of the read-only query `sql`, or nullopt. Throws StepError.
    virtual std::optional<std::string> query(const std::string& sql) = 0;
    /// Where entry `data`'s rows may be cut into about `parts` pieces of equal size, as
    /// conditions for copy() that together take every row once; {""} when it cannot be cut.
    virtual std::vector<std::string> split(const TocEntry& data, int parts) = 0;
};

/// The run's environment, the same for every step, read-only.
class RunEnv {
public:
    virtual ~RunEnv() = default;
    /// The target database.
    virtual const Target& target() const = 0;
    /// This run's own scratch directory (kept across its attempts, removed when it ends).
    virtual const std::filesystem::path& work_dir() const = 0;
    /// Prepare only: nothing may touch the target.
    virtual bool dry_run() const = 0;
    /// True when the run must stop as soon as possible (a signal, or its lock on the target lost).
    virtual bool stopping() const = 0;
    /// 1 for the first attempt, 2 for the first retry...
    virtual int attempt() const = 0;
    /// Sleeps `d`, waking early when the run must stop; returns false then.
    virtual bool sleep_for(std::chrono::milliseconds d) const = 0;
    /// The pg_restore every step uses to read and restore dumps (PG_RESTORE_BIN, or the newest found).
    virtual const Tool& pg_restore() const = 0;
    /// The tool's own schema in the target (run history...): emptying steps must leave it alone.
    virtual const std::string& home_schema() const = 0;
    /// True when tonight's copy is built beside the live one, in schemas of the tool's own, and
    /// swapped in at commit (REFRESH=beside); false when the target is emptied and rebuilt in place.
    virtual bool beside() const = 0;
    /// The schema in which the backup's schema `schema` is built tonight: a schema of the tool's
    /// own when beside(), else `schema` itself.
    virtual std::string build_schema(const std::string& schema) const = 0;
    /// A connection to the target that an earlier session of this run handed back (libpq's
    /// PGconn; the caller owns it), or nullptr. A new connection costs tens of milliseconds (a
    /// TLS handshake and SCRAM on Scalingo) and a night opens dozens of short sessions in a row.
    virtual ::pg_conn* reuse_target_connection() const = 0;
    /// Hands over `conn`, a connection to the target outside any transaction whose session state
    /// was discarded (DISCARD ALL), for a later session of the run, which closes it at its end.
    virtual void keep_target_connection(::pg_conn* conn) const = 0;
};

/// A run as one step sees it, during prepare(), execute() and finish().
class BOOST_SYMBOL_VISIBLE RunContext {
public:
    virtual ~RunContext() = default;

    /// The run's read-only environment.
    virtual const RunEnv& env() const = 0;
    /// The logger of the current step (tagged with its name); thread-safe.
    virtual Logger& log() const = 0;

    /// Source steps, in prepare(): hands over the verified backup and its table of contents.
    virtual void adopt(Backup backup, RestorePlan plan) = 0;
    /// Source steps, in prepare(), instead of adopt(): runs `transfer` on a thread of the host's,
    /// which calls Arrival::toc() once the dump's table of contents has arrived and returns once
    /// the whole dump is on disk and verified (throwing StepError otherwise). When tonight's copy
    /// is built beside (and this is no dry run), stream() returns at toc() and the transfer goes
    /// on while the next steps prepare and execute; the run waits for its end before commit.
    /// Otherwise stream() returns when it has ended. Throws the transfer's error.
    virtual void stream(std::function<void(Arrival&)> transfer) = 0;
    /// What the verification found of data entry `id`, waiting until its block has arrived when
    /// the dump is still arriving. Throws StepError when the transfer failed or the run stops.
    virtual Arrived arrived(DumpId id) const = 0;
    /// Source steps, in prepare(), after adopt(): the plan's data entries are read from `live`
    /// (a live database) instead of the dump, which then holds the schema only. The host drops it
    /// when the attempt ends.
    virtual void serve(std::shared_ptr<LiveSource> live) = 0;
    /// The live source serving the data entries, or nullptr when their rows are in the dump.
    virtual LiveSource* live() const = 0;
    /// The backup handed over by the source, or nullptr.
    virtual const Backup* backup() const = 0;
    /// The restore plan (empty until a source adopted a backup).
    virtual const RestorePlan& plan() const = 0;

    /// Leaves out every restored entry matching `match`, then everything depending on those.
    /// Returns how many entries it left out. Only before the plan is sealed.
    virtual std::size_t exclude(const std::function<bool(const TocEntry&)>& match, const std::string& reason) = 0;
    /// Takes entry `id` out of pg_restore's list: `work` creates it instead, without touching its
    /// dependents. Returns false when the entry is not restored. Only before the plan is sealed.
    virtual bool defer(DumpId id, Deferred work, const std::string& reason) = 0;
    /// Leaves `work` to the restorer, to run once `work.table` is loaded (or after the restore).
    virtual void add_work(Deferred work) = 0;
    /// Marks entry `id` as already on the target and kept: pg_restore does not create it, and
    /// what depends on it stays in the plan. Returns false when the entry is not restored.
    /// Only before the plan is sealed.
    virtual bool keep(DumpId id, const std::string& reason) = 0;
    /// Keeps a table's data entry on the target and has the restorer append the dump's rows
    /// whose key is greater than `append.above`. Only before the plan is sealed.
    virtual bool append(Append append, const std::string& reason) = 0;
    /// Every append asked for so far (a kept data entry without one is not read at all).
    virtual const std::vector<Append>& appends() const = 0;
    /// Has `table`'s rows ("schema.table") rewritten by `spec`'s filters wherever the tool
    /// writes them to the target: tonight's build, a kept table's appends. Only before the plan
    /// is sealed; once per table.
    virtual void filter_rows(const std::string& table, RowFilterSpec spec) = 0;
    /// The rewriting asked for `table`'s rows, or nullptr.
    virtual const RowFilterSpec* row_filter(const std::string& table) const = 0;
    /// Adds `value` to figure `name` of the run report; thread-safe.
    virtual void add_figure(const std::string& name, double value, Unit unit = Unit::count) = 0;
    /// Records one timed item of work of kind `kind`; thread-safe.
    virtual void add_timing(const std::string& kind, const std::string& name, std::chrono::steady_clock::time_point start,
                            double seconds) = 0;
    /// Adds a decision and its reason to the run report ("public.answers: incremental, ..."); thread-safe.
    virtual void add_note(const std::string& text) = 0;
    /// A copy of the report so far.
    virtual RunReport report() const = 0;

    /// What this step remembered under `key` in an earlier run (kept in the tool's schema).
    virtual std::optional<std::string> recall(const std::string& key) const = 0;
    /// Remembers `value` under `key` for later runs of this step, once this run succeeds.
    virtual void remember(const std::string& key, const std::string& value) = 0;
};

/// What the restorer sees beyond RunContext: the work the other steps left it, and the
/// sealing of the plan. Only the step whose StepInfo says `restorer` is given one.
class BOOST_SYMBOL_VISIBLE RestoreContext : public RunContext {
public:
    /// Every piece of deferred work.
    virtual const std::vector<Deferred>& deferred() const = 0;
    /// Freezes the plan and returns it, before pg_restore's list is written: any later
    /// exclude(), defer(), keep() or append() is a configuration error naming the step.
    virtual const RestorePlan& seal_plan() = 0;
};

/// How a run ended, given to every step's finish().
struct RunOutcome {
    bool success = false;     ///< True when every step succeeded.
    std::string error;        ///< The error that ended the run, redacted; empty on success.
    std::string failed_step;  ///< Config name of the step that failed, if any.
    double seconds = 0;       ///< Wall time of the run.
    int attempt = 1;          ///< 1 for the first try, 2 for the first retry...
};

}  // namespace pixrep
