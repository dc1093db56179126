#include "requests.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "db.hpp"
#include "home.hpp"
#include "pg_conn.hpp"
#include "pg_errors.hpp"
#include "target.hpp"

namespace pixrep {

std::string Requests::table() const { return common::quote_ident(schema_) + ".requests"; }

bool Requests::exists() { return conn_.scalar("SELECT to_regclass($1) IS NOT NULL", {table()}) == std::optional<std::string>("t"); }

bool valid_backup_id(const std::string& id) {
    if (id.empty() || id.size() > 200 || common::cut_utf8(id, 200) != id) return false;
    for (char c : id)
        if ((c >= 0 && c < ' ') || c == 0x7f) return false;
    return true;
}

Added Requests::add(const std::string& by, const std::string& reason, const std::string& backup_id, const std::string& state) {
    Home(conn_, schema_).ensure();
    const std::vector<std::optional<std::string>> values{by, reason.empty() ? std::nullopt : std::optional<std::string>(reason),
                                                         backup_id.empty() ? std::nullopt : std::optional<std::string>(backup_id), state};
    const std::string insert = "INSERT INTO " + table() + " (requested_by, reason, backup_id, state) VALUES ($1, $2, $3, $4) ";
    if (state != "pending") return {std::stoll(conn_.scalar(insert + "RETURNING id", values).value_or("0")), false};
    // The unique index on the pending state decides, whoever asks at the same moment.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (auto id = conn_.scalar(insert + "ON CONFLICT (state) WHERE state = 'pending' DO NOTHING RETURNING id", values))
            return {std::stoll(*id), false};
        if (auto id = conn_.scalar("SELECT id FROM " + table() + " WHERE state = 'pending'")) return {std::stoll(*id), true};
    }
    throw std::runtime_error("could not record the request: the pending one kept changing");
}

namespace {
const char* const kStartedKey = "requests_run_started_at";
}  // namespace

std::string Requests::not_before(std::chrono::milliseconds min_interval) {
    auto at = conn_.scalar("SELECT to_char((value::timestamptz + $1::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM " +
                               common::quote_ident(schema_) + ".state WHERE step = '' AND key = $2 AND value::timestamptz + $1::interval > now()",
                           {std::to_string(min_interval.count()) + " milliseconds", std::string(kStartedKey)});
    return at.value_or("");
}

void Requests::mark_started() {
    conn_.exec("INSERT INTO " + common::quote_ident(schema_) + ".state (step, key, value) VALUES ('', $1, now()::text) "
               "ON CONFLICT (step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
               {std::string(kStartedKey)});
}

namespace {

const char* const kColumns =
    "id, state, to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), requested_by, reason, backup_id, run_id, "
    "to_char(answered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), outcome";

nlohmann::json row_json(const std::vector<std::optional<std::string>>& r) {
    auto text = [&](std::size_t i) { return r[i] ? nlohmann::json(*r[i]) : nlohmann::json(nullptr); };
    return {{"id", std::stoll(*r[0])}, {"state", text(1)}, {"requested_at", text(2)}, {"requested_by", text(3)}, {"reason", text(4)},
            {"backup_id", text(5)}, {"run_id", r[6] ? nlohmann::json(std::stoll(*r[6])) : nlohmann::json(nullptr)},
            {"answered_at", text(7)}, {"outcome", text(8)}};
}

}  // namespace

std::optional<nlohmann::json> Requests::get(std::int64_t id) {
    if (!exists()) return std::nullopt;
    auto rows = conn_.exec(std::string("SELECT ") + kColumns + " FROM " + table() + " WHERE id = $1", {std::to_string(id)});
    if (rows.empty()) return std::nullopt;
    return row_json(rows[0]);
}

nlohmann::json Requests::recent(int limit) {
    nlohmann::json out = nlohmann::json::array();
    if (!exists()) return out;
    for (const auto& r : conn_.exec(std::string("SELECT ") + kColumns + " FROM " + table() + " ORDER BY id DESC LIMIT " + std::to_string(limit)))
        out.push_back(row_json(r));
    return out;
}

std::vector<Claimed> Requests::take(const std::string& from, const std::string& to, bool answered) {
    std::vector<Claimed> out;
    if (!exists()) return out;
    // One statement: the rows locked, marked and returned together; another process's rows skipped.
    for (const auto& r : conn_.exec("UPDATE " + table() + " SET state = $1" + (answered ? ", answered_at = now()" : "") + " WHERE id IN (SELECT id FROM " +
                                        table() + " WHERE state = $2 ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING id, coalesce(backup_id, '')",
                                    {to, from}))
        out.push_back({std::stoll(*r[0]), *r[1]});
    return out;
}

bool Requests::has_pending() {
    return exists() && conn_.scalar("SELECT count(*) FROM " + table() + " WHERE state = 'pending'") != std::optional<std::string>("0");
}

std::vector<Claimed> Requests::claim() {
    std::vector<Claimed> out;
    if (!exists()) return out;
    for (const auto& r : conn_.exec("UPDATE " + table() + " SET state = 'running', claimed_at = now() WHERE id IN (SELECT id FROM " + table() +
                                    " WHERE state = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING id, coalesce(backup_id, '')"))
        out.push_back({std::stoll(*r[0]), *r[1]});
    return out;
}

namespace {

// Back to pending, the requests `which` selects: the oldest when none is pending, the others join it.
std::string back_to_pending_sql(const std::string& table, const std::string& which) {
    return "WITH s AS (SELECT id FROM " + table + " WHERE " + which + " ORDER BY id FOR UPDATE SKIP LOCKED), "
           "keeper AS (SELECT min(id) AS id FROM s WHERE NOT EXISTS (SELECT 1 FROM " + table + " WHERE state = 'pending')) "
           "UPDATE " + table + " r SET claimed_at = NULL, "
           "state = CASE WHEN r.id = (SELECT id FROM keeper) THEN 'pending' ELSE 'joined' END, "
           "answered_at = CASE WHEN r.id = (SELECT id FROM keeper) THEN NULL ELSE now() END, "
           "outcome = CASE WHEN r.id = (SELECT id FROM keeper) THEN NULL ELSE 'joined the pending request' END "
           "FROM s WHERE r.id = s.id RETURNING r.id";
}

}  // namespace

std::int64_t Requests::take_up_orphans() {
    if (!exists()) return 0;
    // Taken by a process that no longer runs anything: no session holds the run's lock.
    return static_cast<std::int64_t>(
        conn_.exec(back_to_pending_sql(table(), "state = 'running' AND (claimed_at IS NULL OR claimed_at < now() - interval '1 minute') AND NOT " +
                                                    lock_held_sql()))
            .size());
}

void Requests::put_back(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) return;
    std::string list;
    for (auto id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    conn_.exec(back_to_pending_sql(table(), "id IN (" + list + ")"));
}

std::vector<Claimed> Requests::take_failed_backups() { return take("backup_failed", "reported", true); }

void Requests::answer(const std::vector<std::int64_t>& ids, const std::string& state, std::optional<std::int64_t> run_id,
                      const std::string& outcome) {
    if (ids.empty()) return;
    std::string list;
    for (auto id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    conn_.exec("UPDATE " + table() + " SET state = $1, run_id = $2, outcome = $3, answered_at = now() WHERE id IN (" + list + ")",
               {state, run_id ? std::optional<std::string>(std::to_string(*run_id)) : std::nullopt, outcome});
}

int request_run(const Target& target, const std::string& schema, const std::string& reason, HostLogger& log, std::ostream& out) {
    common::PgConn conn(target.conninfo + " application_name='pix-db-replication request'", target.label, std::chrono::seconds(30), nullptr);
    const char* user = std::getenv("USER");
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    const auto added = Requests(conn, schema).add(std::string("request ") + (user ? user : "?") + "@" + host, reason, "");
    log.info(added.joined ? "run requested: joined the pending request" : "run requested", {{"id", added.id}, {"reason", reason}});
    out << added.id << "\n";
    return 0;
}


}  // namespace pixrep
