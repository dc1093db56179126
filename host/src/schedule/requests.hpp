#pragma once
// Runs asked for, kept in the tool's home in the target (the one place the web process and the
// schedule process both reach): who asked, when, why, the backup it names, its state and the run
// that served it. At most one request is pending: later ones join it. The schedule process takes
// it with FOR UPDATE SKIP LOCKED, no sooner than TRIGGER_MIN_INTERVAL after the last run a
// request started, and never while another process's run holds the target.
#include <chrono>
#include <cstdint>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <pixrep/context.hpp>

#include "logger.hpp"

namespace pixrep {

namespace common {
class PgConn;
}  // namespace common

/// A request recorded, or the pending one it joined.
struct Added {
    std::int64_t id = 0;
    bool joined = false;  ///< A request was pending already: this one is that one.
};

/// What a backup id may be: 1 to 200 bytes of UTF-8 text without control characters (Scalingo's
/// ids, "live:<time>", a local file's path). Pure.
bool valid_backup_id(const std::string& id);

/// A request taken by the schedule process.
struct Claimed {
    std::int64_t id = 0;
    std::string backup_id;  ///< "" when it names none.
};

class Requests {
public:
    Requests(common::PgConn& conn, std::string schema) : conn_(conn), schema_(std::move(schema)) {}

    /// Records a request in `state` ("pending": a run is wanted; "backup_failed": Scalingo says a
    /// backup failed, for the operators to hear of), or joins the pending one. Makes the tool's
    /// home first when missing.
    Added add(const std::string& by, const std::string& reason, const std::string& backup_id, const std::string& state = "pending");
    /// When the pending request will be served at the earliest ("" = at the next look), given
    /// `min_interval` between runs started by requests: RFC 3339, UTC.
    std::string not_before(std::chrono::milliseconds min_interval);
    /// Notes that a run started by requests starts now (for not_before()).
    void mark_started();
    /// Request `id` as JSON (id, state, requested_at, requested_by, reason, backup_id, run_id,
    /// outcome), or nullopt.
    std::optional<nlohmann::json> get(std::int64_t id);
    /// The last `limit` requests, newest first.
    nlohmann::json recent(int limit);
    /// True when a request is pending.
    bool has_pending();
    /// Takes every pending request (state "running"); none when there is no home yet.
    std::vector<Claimed> claim();
    /// Takes the failed backups not reported yet (state "reported").
    std::vector<Claimed> take_failed_backups();
    /// Says how the requests `ids` ended: `state` ("served", "failed", "fresh"), the run, a word.
    void answer(const std::vector<std::int64_t>& ids, const std::string& state, std::optional<std::int64_t> run_id,
                const std::string& outcome);
    /// Puts back to "pending" the requests left "running" by a schedule process that died: taken
    /// more than a minute ago, and no run holds the target. Returns how many.
    std::int64_t take_up_orphans();
    /// Puts the requests `ids` back to "pending" (their run could not start: another held the target).
    void put_back(const std::vector<std::int64_t>& ids);

private:
    std::string table() const;
    /// False until a run or a request made the table (readers may look before).
    bool exists();
    /// Moves the requests in state `from` to `to` (stamping answered_at when `answered`), taking them.
    std::vector<Claimed> take(const std::string& from, const std::string& to, bool answered);
    common::PgConn& conn_;
    std::string schema_;
};

/// `pix-db-replication request`: records a pending request for `target`, logs and prints its id;
/// returns the exit code.
int request_run(const Target& target, const std::string& schema, const std::string& reason, HostLogger& log, std::ostream& out);

}  // namespace pixrep
