#include "rollback.hpp"

#include "beside.hpp"
#include "db.hpp"
#include "pg_conn.hpp"
#include "pipeline.hpp"
#include "target.hpp"

#include <algorithm>

namespace pixrep {
namespace {

std::vector<beside::Movable> movables(common::PgConn& conn, const std::string& schema) {
    std::vector<beside::Movable> out;
    for (const auto& r : conn.exec(beside::movable_sql(), {schema})) out.push_back({*r[0], *r[1], *r[2], *r[3]});
    return out;
}

// One previous-copy schema and the live one it was, swapped through a scratch schema.
int swap_back(common::PgConn& conn, const std::string& home, const std::string& prev, const std::string& live, const std::vector<std::string>& stayed) {
    if (conn.scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", {live}) != std::optional<std::string>("t")) {
        conn.exec("ALTER SCHEMA " + common::sql_name(prev) + " RENAME TO " + common::sql_name(live));
        return 1;
    }
    const std::string scratch = beside::build_schema_name(home, live);
    conn.exec("CREATE SCHEMA " + common::sql_name(scratch));
    int moved = 0;
    for (const auto& m : movables(conn, live))
        if (std::find(stayed.begin(), stayed.end(), m.kind + " " + m.name) == stayed.end()) conn.exec(beside::move_statement(m, scratch)), ++moved;
    for (const auto& m : movables(conn, prev)) conn.exec(beside::move_statement(m, live)), ++moved;
    for (const auto& m : movables(conn, scratch)) conn.exec(beside::move_statement(m, prev));
    conn.exec("DROP SCHEMA " + common::sql_name(scratch));
    return moved;
}

}  // namespace

int rollback(const Target& target, const std::string& home, std::chrono::milliseconds lock_wait, HostLogger& log) {
    common::IdleConnections idle;
    auto session = postgres_sessions()(target, {home, {}}, std::chrono::seconds(60), [] { return false; }, log, idle);
    try {
        session->lock(lock_wait);
    } catch (const LockBusy& e) {
        log.error(e.what());
        return kExitLocked;
    }
    common::PgConn conn(target.conninfo, "pix-db-replication rollback", std::chrono::seconds(30), [] { return false; });
    auto rows = conn.exec("SELECT nspname, coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE nspowner = "
                          "(SELECT oid FROM pg_roles WHERE rolname = current_user) AND nspname LIKE $1 ORDER BY 1",
                          {beside::previous_schema_pattern(home)});
    int moved = 0, schemas = 0;
    conn.exec("BEGIN");
    try {
        conn.exec("SET LOCAL lock_timeout = '30s'");
        for (const auto& r : rows) {
            std::string live;
            std::vector<std::string> stayed;
            if (!beside::read_previous_comment(*r[1], live, stayed)) continue;
            moved += swap_back(conn, home, *r[0], live, stayed);
            ++schemas;
        }
        conn.exec("COMMIT");
    } catch (const std::exception& e) {
        conn.exec("ROLLBACK");
        log.error(std::string("rollback failed, nothing changed: ") + e.what());
        return kExitRunFailed;
    }
    if (schemas == 0) {
        log.error("nothing to roll back: no previous copy is kept in " + target.label + " (a run with KEEP_PREVIOUS=true keeps one)");
        return kExitRunFailed;
    }
    log.info("rolled back: yesterday's copy is live again, tonight's is kept in its place until the next run",
             {{"schemas", static_cast<std::int64_t>(schemas)}, {"objects_moved", static_cast<std::int64_t>(moved)}});
    return kExitOk;
}

}  // namespace pixrep
