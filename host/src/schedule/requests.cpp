#include "requests.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "db.hpp"
#include "home.hpp"
#include "pg_conn.hpp"

namespace pixrep {

std::string Requests::table() const { return common::quote_ident(schema_) + ".requests"; }

bool Requests::exists() { return conn_.scalar("SELECT to_regclass($1) IS NOT NULL", {table()}) == std::optional<std::string>("t"); }

std::int64_t Requests::add(const std::string& by, const std::string& reason, const std::string& backup_id, const std::string& state) {
    Home(conn_, schema_).ensure();
    auto id = conn_.scalar("INSERT INTO " + table() + " (requested_by, reason, backup_id, state) VALUES ($1, $2, $3, $4) RETURNING id",
                           {by, reason.empty() ? std::nullopt : std::optional<std::string>(reason),
                            backup_id.empty() ? std::nullopt : std::optional<std::string>(backup_id), state});
    return std::stoll(id.value_or("0"));
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

std::vector<Claimed> Requests::claim() { return take("pending", "running", false); }

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
    const auto id = Requests(conn, schema).add(std::string("request ") + (user ? user : "?") + "@" + host, reason, "");
    log.info("run requested", {{"id", id}, {"reason", reason}});
    out << id << "\n";
    return 0;
}

void Requests::release_stale() {
    if (!exists()) return;
    conn_.exec("UPDATE " + table() + " SET state = 'pending' WHERE state = 'running'");
}

}  // namespace pixrep
