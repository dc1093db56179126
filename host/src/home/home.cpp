#include "home.hpp"

#include <tuple>

#include <pixrep/step.hpp>

#include "db.hpp"
#include "pg_conn.hpp"
#include "pg_errors.hpp"
#include "sql_rewrite.hpp"
#include "target.hpp"

namespace pixrep {
namespace {

using common::quote_ident;
using common::quote_literal;

// Marks "interrupted" the runs of `schema` still "running" for which `condition` holds.
std::string mark_interrupted_sql(const std::string& schema, const std::string& condition) {
    return "UPDATE " + quote_ident(schema) + ".runs SET status = 'interrupted', finished_at = coalesce(finished_at, now()) "
           "WHERE status = 'running' AND " + condition;
}

std::optional<std::string> text_or_null(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    // Whatever a message held, the row must be written: invalid UTF-8 becomes U+FFFD.
    if (j[key].is_string()) return common::cut_utf8(j[key].get<std::string>(), 100000);
    return j[key].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

namespace {

const char* const kTables[][2] = {
    {"runs", "(id bigserial PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, status text NOT NULL, "
             "exit_code integer, attempts integer, error text, backup_id text, backup_name text, backup_created_at text, "
             "duration_s double precision, host text, pid integer, steps jsonb, rows jsonb, figures jsonb, "
             "notes jsonb)"},
    {"access_rules", "(kind text NOT NULL, schema_name text NOT NULL, name text NOT NULL, args text NOT NULL, grantee text NOT NULL, "
                     "privilege text NOT NULL, grantable boolean NOT NULL, saved_at timestamptz NOT NULL DEFAULT now(), object_oid oid)"},
    {"state", "(step text NOT NULL, key text NOT NULL, value text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), "
              "PRIMARY KEY (step, key))"},
    // Runs asked for (POST /runs, Scalingo's notifier, `request`): the schedule process serves them.
    {"requests", "(id bigserial PRIMARY KEY, requested_at timestamptz NOT NULL DEFAULT now(), requested_by text NOT NULL, reason text, "
                 "backup_id text, state text NOT NULL DEFAULT 'pending', run_id bigint, answered_at timestamptz, outcome text, "
                 "claimed_at timestamptz)"}};

// At most one pending request: later ones join it (Requests::add).
const char* const kOnePending = "requests_one_pending";
std::string one_pending_ddl(const std::string& schema) {
    return std::string("CREATE UNIQUE INDEX ") + kOnePending + " ON " + quote_ident(schema) + ".requests (state) WHERE state = 'pending'";
}

}  // namespace

std::vector<std::string> home_ddl(const std::string& schema) {
    // One statement makes the schema and its tables, atomically.
    const std::string s = quote_ident(schema);
    std::string create = "CREATE SCHEMA " + s;
    for (const auto& t : kTables) create += std::string(" CREATE TABLE ") + t[0] + " " + t[1];
    create += std::string(" CREATE UNIQUE INDEX ") + kOnePending + " ON requests (state) WHERE state = 'pending'";
    return {create, "COMMENT ON SCHEMA " + s + " IS " +
                        quote_literal("pix-db-replication: the history of the runs that restored this database, and what they keep "
                                      "from one run to the next. Kept across runs; see the runs table for how fresh the data is.")};
}

std::vector<std::string> home_read_sql(const std::string& schema, const std::string& role) {
    const std::string s = quote_ident(schema), r = quote_ident(role);
    return {"GRANT USAGE ON SCHEMA " + s + " TO " + r, "GRANT SELECT ON " + s + ".runs TO " + r,
            "REVOKE ALL ON " + s + ".access_rules, " + s + ".state, " + s + ".requests FROM PUBLIC, " + r};
}

std::string Home::table(const std::string& name) const { return quote_ident(schema_) + "." + name; }

void Home::ensure() {
    try {
        if (conn_.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {schema_}) == std::optional<std::string>("0")) {
            for (const auto& sql : home_ddl(schema_)) conn_.exec(sql);
            return;
        }
        // A home made by an older version may lack a table.
        for (const auto& t : kTables)
            if (conn_.scalar("SELECT to_regclass($1) IS NULL", {table(t[0])}) == std::optional<std::string>("t"))
                conn_.exec("CREATE TABLE " + table(t[0]) + " " + t[1]);
        // ... or a column (checked first: ALTER TABLE would queue behind the page's readers).
        for (const auto& [t, column, type] : {std::tuple<const char*, const char*, const char*>{"runs", "notes", "jsonb"},
                                              {"access_rules", "object_oid", "oid"}, {"requests", "claimed_at", "timestamptz"}})
            if (conn_.scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2", {table(t), column}) ==
                std::optional<std::string>("0"))
                conn_.exec("ALTER TABLE " + table(t) + " ADD COLUMN " + column + " " + type);
        if (conn_.scalar("SELECT to_regclass($1) IS NULL", {quote_ident(schema_) + "." + kOnePending}) == std::optional<std::string>("t")) {
            // Pending requests an older version let pile up are one request.
            conn_.exec("UPDATE " + table("requests") + " SET state = 'joined', answered_at = now(), outcome = 'joined the oldest pending request' "
                       "WHERE state = 'pending' AND id > (SELECT min(id) FROM " + table("requests") + " WHERE state = 'pending')");
            conn_.exec(one_pending_ddl(schema_));
        }
    } catch (const std::exception& e) {
        throw StepError(ErrorKind::config, "cannot create the tool's schema '" + schema_ + "' in the target (" + e.what() +
                                               "): grant CREATE on the database to the role of DATABASE_URL, or set REPLICATION_SCHEMA "
                                               "to a schema it owns");
    }
}

std::int64_t Home::begin_run(const std::string& host, long pid) {
    // The caller holds the run's lock: a run still marked running was killed. Say so in the
    // table itself, for the readers who query it.
    conn_.exec(mark_interrupted_sql(schema_, "true"));
    return std::stoll(*conn_.scalar("INSERT INTO " + table("runs") + " (status, host, pid) VALUES ('running', $1, $2) RETURNING id",
                                    {host, std::to_string(pid)}));
}

void Home::end_run(std::int64_t id, const nlohmann::json& o) {
    try {
        write_end(id, o);
    } catch (const std::exception&) {
        // A run must never stay "running": its status and code go in even if the rest cannot.
        nlohmann::json brief{{"status", o.value("status", "failure")}, {"exit_code", o.contains("exit_code") ? o["exit_code"] : nullptr},
                             {"error", "the run's full outcome could not be recorded: see the logs"}};
        write_end(id, brief);
    }
}

void Home::write_end(std::int64_t id, const nlohmann::json& o) {
    conn_.exec("UPDATE " + table("runs") +
                   " SET finished_at = now(), status = $2, exit_code = $3, attempts = $4, error = $5, backup_id = $6, backup_name = $7, "
                   "backup_created_at = $8, duration_s = $9, steps = $10, rows = $11, figures = $12, notes = $13 WHERE id = $1",
               {std::to_string(id), text_or_null(o, "status"), text_or_null(o, "exit_code"), text_or_null(o, "attempts"),
                text_or_null(o, "error"), text_or_null(o, "backup_id"), text_or_null(o, "backup_name"), text_or_null(o, "backup_created_at"),
                text_or_null(o, "duration_s"), text_or_null(o, "steps"), text_or_null(o, "rows"), text_or_null(o, "figures"),
                text_or_null(o, "notes")});
}

std::size_t Home::save_access_rules(const std::vector<std::string>& schemas) {
    // Read from the catalog at every run, so that what a DBA granted or revoked since the last
    // run counts. Only when the last saved set was never re-applied (a run failed after its
    // drop) are its rules kept for the objects that run dropped or rebuilt: those whose oid
    // changed. Objects it never touched are read as they are now.
    const std::string cols = "kind, schema_name, name, args, grantee, privilege, grantable, object_oid";
    auto applied = conn_.scalar("SELECT value FROM " + table("state") + " WHERE step = '' AND key = 'access_rules_applied'");
    common::PgRows carried;
    if (applied == std::optional<std::string>("false"))
        carried = conn_.exec("SELECT " + cols + " FROM " + table("access_rules") + " WHERE kind <> 'default' AND (object_oid IS NULL OR "
                             "object_oid IS DISTINCT FROM (" + current_oid_sql() + "))");
    conn_.exec("BEGIN");
    try {
        conn_.exec("DELETE FROM " + table("access_rules"));
        auto rows = conn_.exec("INSERT INTO " + table("access_rules") + " (" + cols + ") " + capture_rules_sql() + " RETURNING 1",
                               {text_array(schemas)});
        std::size_t saved = rows.size();
        for (const auto& r : carried)
            saved += conn_.exec("INSERT INTO " + table("access_rules") + " (" + cols + ") SELECT $1, $2, $3, $4, $5, $6, $7::boolean, $8::oid "
                                "WHERE NOT EXISTS (SELECT 1 FROM " + table("access_rules") + " WHERE kind = $1 AND schema_name = $2 AND "
                                "name = $3 AND args = $4 AND grantee = $5 AND privilege = $6) RETURNING 1",
                                {r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]})
                         .size();
        conn_.exec("INSERT INTO " + table("state") + " (step, key, value) VALUES ('', 'access_rules_applied', 'false') "
                   "ON CONFLICT (step, key) DO UPDATE SET value = 'false', updated_at = now()");
        conn_.exec("COMMIT");
        return saved;
    } catch (...) {
        conn_.exec("ROLLBACK");
        throw;
    }
}

std::vector<std::string> Home::reapply_access_rules(const std::vector<std::string>& schemas, const std::vector<std::string>& readers,
                                                    const beside::BuildNames* built) {
    auto exists = [&](const std::string& schema) {
        return conn_.scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", {schema}) == std::optional<std::string>("t");
    };
    std::vector<AccessRule> rules;
    std::vector<std::string> gone, defaults;
    for (const auto& row : conn_.exec("SELECT kind, schema_name, name, args, grantee, privilege, grantable FROM " + table("access_rules"))) {
        AccessRule r{*row[0], *row[1], *row[2], *row[3], *row[4], *row[5], row[6] == std::optional<std::string>("t")};
        if (!built) {
            rules.push_back(r);
            continue;
        }
        auto mapped = for_build(r, *built, r.kind != "schema" || exists(r.schema));
        if (!mapped) {
            gone.push_back(r.kind + " " + r.schema + "." + r.name + " no longer exists (" + r.privilege + " for " + r.grantee + " not re-applied)");
            continue;
        }
        rules.push_back(*mapped);
        if (built->schemas.count(r.schema))
            for (auto& sql : default_grants_sql(r, built->schema_of(r.schema))) defaults.push_back(std::move(sql));
    }
    auto missing = reapply(conn_, rules);
    missing.insert(missing.end(), gone.begin(), gone.end());
    for (const auto& sql : defaults) conn_.exec(sql);
    std::vector<std::string> with_home;
    for (const auto& s : schemas) {
        if (built && built->schemas.count(s)) with_home.push_back(built->schema_of(s));
        if (!built || exists(s)) with_home.push_back(s);
    }
    for (const auto& role : readers) {
        for (const auto& sql : read_access_sql(role, with_home)) conn_.exec(sql);
        for (const auto& sql : home_read_sql(schema_, role)) conn_.exec(sql);
    }
    conn_.exec("INSERT INTO " + table("state") + " (step, key, value) VALUES ('', 'access_rules_applied', 'true') "
               "ON CONFLICT (step, key) DO UPDATE SET value = 'true', updated_at = now()");
    return missing;
}

std::map<std::string, std::map<std::string, std::string>> Home::recall_all() {
    std::map<std::string, std::map<std::string, std::string>> out;
    for (const auto& row : conn_.exec("SELECT step, key, value FROM " + table("state") + " WHERE step <> ''")) out[*row[0]][*row[1]] = *row[2];
    return out;
}

void Home::remember(const std::map<std::string, std::map<std::string, std::string>>& by_step) {
    for (const auto& [step, values] : by_step)
        for (const auto& [k, v] : values)
            conn_.exec("INSERT INTO " + table("state") + " (step, key, value) VALUES ($1, $2, $3) "
                       "ON CONFLICT (step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                       {step, k, v});
}

nlohmann::json read_runs(common::PgConn& conn, const std::string& schema, int limit) {
    // A run still "running" whose lock no session holds was killed: say so.
    const std::string held = lock_held_sql();
    try {  // in the table itself, for readers who query it; a read-only role only sees it here
        conn.exec(mark_interrupted_sql(schema, "NOT " + held));
    } catch (const std::exception&) {
    }
    auto rows = conn.exec(
        "SELECT id, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "CASE WHEN status = 'running' AND NOT " + held + " THEN 'interrupted' ELSE status END, exit_code, attempts, error, backup_id, "
        "backup_name, backup_created_at, duration_s, coalesce(steps, '{}'), coalesce(rows, '{}'), coalesce(figures, '{}'), coalesce(notes, '[]') FROM " +
            quote_ident(schema) + ".runs ORDER BY id DESC LIMIT " + std::to_string(limit));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
        auto text = [&](std::size_t i) { return r[i] ? nlohmann::json(*r[i]) : nlohmann::json(nullptr); };
        auto number = [&](std::size_t i) { return r[i] ? nlohmann::json(std::stod(*r[i])) : nlohmann::json(nullptr); };
        nlohmann::json j{{"id", std::stoll(*r[0])}, {"started_at", text(1)}, {"finished_at", text(2)}, {"status", text(3)},
                         {"exit_code", r[4] ? nlohmann::json(std::stoi(*r[4])) : nlohmann::json(nullptr)},
                         {"attempts", r[5] ? nlohmann::json(std::stoi(*r[5])) : nlohmann::json(nullptr)},
                         {"error", text(6)}, {"backup_id", text(7)}, {"backup_name", text(8)}, {"backup_created_at", text(9)},
                         {"duration_s", number(10)}, {"steps", nlohmann::json::parse(*r[11])}, {"rows", nlohmann::json::parse(*r[12])},
                         {"figures", nlohmann::json::parse(*r[13])}, {"notes", nlohmann::json::parse(*r[14])}};
        out.push_back(j);
    }
    return out;
}

}  // namespace pixrep
