#include "trigger.hpp"

#include <chrono>
#include <stdexcept>

#include "db.hpp"
#include "pg_conn.hpp"
#include "pg_errors.hpp"
#include "requests.hpp"

namespace pixrep {
namespace {

constexpr std::size_t kMaxText = 500;

std::string text_field(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return "";
    if (!j[key].is_string()) throw std::invalid_argument(std::string("'") + key + "' must be a string");
    auto v = j[key].get<std::string>();
    if (v.size() > kMaxText) throw std::invalid_argument(std::string("'") + key + "' is longer than 500 characters");
    return v;
}

Answer json_answer(int status, const nlohmann::json& body, std::string log = "") { return {status, body.dump(), std::move(log)}; }

Answer not_found() { return json_answer(404, {{"error", "not found; try /, /health or /status"}}); }

// The request's own numbers, then the run's outcome once served.
Answer run_state(Requests& requests, common::PgConn& conn, const TriggerSource& source, std::int64_t id) {
    auto r = requests.get(id);
    if (!r) return json_answer(404, {{"error", "no request " + std::to_string(id)}});
    if ((*r)["run_id"].is_number()) {
        auto rows = conn.exec("SELECT status, exit_code, error, backup_id FROM " + common::quote_ident(source.schema) + ".runs WHERE id = $1",
                              {std::to_string((*r)["run_id"].get<long long>())});
        if (!rows.empty())
            (*r)["run"] = {{"status", rows[0][0] ? *rows[0][0] : ""}, {"exit_code", rows[0][1] ? std::stoi(*rows[0][1]) : -1},
                           {"error", rows[0][2] ? nlohmann::json(*rows[0][2]) : nlohmann::json(nullptr)},
                           {"backup_id", rows[0][3] ? nlohmann::json(*rows[0][3]) : nlohmann::json(nullptr)}};
    }
    return json_answer(200, *r);
}

template <class F>
Answer with_requests(const TriggerSource& source, F&& f) {
    if (source.conninfo.empty()) return json_answer(503, {{"error", "DATABASE_URL is not set: requests live in the target"}});
    common::PgConn conn(source.conninfo, source.label, std::chrono::seconds(3), nullptr);
    conn.set_statement_deadline(std::chrono::seconds(5));
    Requests requests(conn, source.schema);
    return f(requests, conn);
}

// 202: the request recorded, or the pending one it joined, and when it will be served at the earliest.
Answer accepted(Requests& r, const Added& added, const TriggerSource& source, const std::string& what) {
    nlohmann::json body{{"id", added.id}, {"state", "pending"}, {"joined", added.joined}, {"url", "/runs/" + std::to_string(added.id)}};
    std::string log = what + ": request " + std::to_string(added.id) + (added.joined ? " (joined the pending one)" : "");
    if (auto at = r.not_before(source.min_interval); !at.empty()) {
        body["not_before"] = at;
        body["message"] = "served at " + at + " at the earliest: runs started by requests are TRIGGER_MIN_INTERVAL apart";
        log += ", not before " + at;
    }
    return json_answer(202, body, log);
}

Answer hook(const std::string& body, const TriggerSource& source) {
    HookEvent e;
    try {
        e = parse_hook(body, source.app);
    } catch (const std::invalid_argument& x) {
        return json_answer(400, {{"error", std::string("not a Scalingo event: ") + x.what()}});
    }
    if (!e.ours || e.kind == HookEvent::Kind::other)
        return json_answer(200, {{"ignored", true}}, "Scalingo event ignored: " + e.type + " for app " + common::cut_utf8(e.app, 100));
    if (e.kind == HookEvent::Kind::backup_failed)  // no run; the schedule process reports it through the steps that report
        return with_requests(source, [&](Requests& r, common::PgConn&) {
            const auto id = r.add("scalingo notifier", "database_backup_failed", e.backup_id, "backup_failed").id;
            return json_answer(200, {{"ignored", false}, {"requested", false}, {"recorded", id}},
                               "Scalingo says the backup of " + e.app + " failed: tonight's copy stays at the last good backup");
        });
    return with_requests(source, [&](Requests& r, common::PgConn&) {
        const auto added = r.add("scalingo notifier", "database_backup_succeeded", e.backup_id);
        return accepted(r, added, source,
                        "run requested by Scalingo's notifier: backup " + (e.backup_id.empty() ? "(unnamed)" : e.backup_id) + " is done");
    });
}

}  // namespace

RunAsk parse_run_ask(const std::string& body) {
    RunAsk ask;
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) return ask;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception&) {
        throw std::invalid_argument("the body is not JSON");
    }
    if (!j.is_object()) throw std::invalid_argument("the body must be a JSON object");
    for (const auto& [k, v] : j.items())
        if (k != "reason" && k != "requested_by") throw std::invalid_argument("unknown key '" + k + "' (allowed: reason, requested_by)");
    ask.reason = text_field(j, "reason");
    ask.requested_by = text_field(j, "requested_by");
    return ask;
}

HookEvent parse_hook(const std::string& body, const std::string& app) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception&) {
        throw std::invalid_argument("the body is not JSON");
    }
    if (j.is_object() && j.contains("event") && j["event"].is_object()) j = j["event"];
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) throw std::invalid_argument("no event type");
    HookEvent e;
    e.type = j["type"].get<std::string>();
    e.app = text_field(j, "app_name");
    const auto data = j.contains("type_data") && j["type_data"].is_object() ? j["type_data"] : nlohmann::json::object();
    if (data.contains("backup_id") && data["backup_id"].is_string()) {
        e.backup_id = data["backup_id"].get<std::string>();
        if (!e.backup_id.empty() && !valid_backup_id(e.backup_id))
            throw std::invalid_argument("'backup_id' is not a backup id (at most 200 bytes of text, no control character)");
    }
    if (e.type.size() > 100) throw std::invalid_argument("'type' is longer than 100 characters");
    e.kind = e.type == "database_backup_succeeded" ? HookEvent::Kind::backup_done
             : e.type == "database_backup_failed"  ? HookEvent::Kind::backup_failed
                                                   : HookEvent::Kind::other;
    e.ours = !app.empty() && e.app == app;
    return e;
}

std::optional<Answer> answer_trigger(const std::string& method, const std::string& path, Access access, const std::string& body,
                                     const TriggerSource& source) {
    const std::string hooks = "/hooks/scalingo/";
    const bool is_runs = path == "/runs" || path.rfind("/runs/", 0) == 0, is_hook = path.rfind(hooks, 0) == 0;
    if (!is_runs && !is_hook) return std::nullopt;
    auto limited = [&]() -> std::optional<Answer> {
        const auto now = std::chrono::steady_clock::now();
        if (!source.writes || source.writes->allow(now)) return std::nullopt;
        Answer a = json_answer(429, {{"error", "too many requests this minute; a pending request already stands for them"}},
                               "request refused: too many this minute");
        a.retry_after = source.writes->retry_after(now);
        return a;
    };
    if (is_hook) {
        if (source.hook_token.empty() || !same_secret(path.substr(hooks.size()), source.hook_token)) return not_found();
        if (method != "POST") return json_answer(405, {{"error", "POST only"}});
        if (auto a = limited()) return a;
        return hook(body, source);
    }
    if (!source.runs) return not_found();  // off unless TRIGGER_TOKEN is set
    if (path == "/runs") {
        if (access != Access::trigger)
            return json_answer(401, {{"error", "missing or wrong bearer token (Authorization: Bearer <TRIGGER_TOKEN>)"}});
        if (method != "POST") return json_answer(405, {{"error", "POST /runs makes a request; GET /runs/<id> tells its state"}});
        RunAsk ask;
        try {
            ask = parse_run_ask(body);
        } catch (const std::invalid_argument& x) {
            return json_answer(400, {{"error", x.what()}});
        }
        if (auto a = limited()) return a;
        return with_requests(source, [&](Requests& r, common::PgConn&) {
            const auto added = r.add(ask.requested_by.empty() ? "POST /runs" : ask.requested_by, ask.reason, "");
            return accepted(r, added, source, "run requested over HTTP");
        });
    }
    if (access == Access::anyone) return json_answer(401, {{"error", "missing or wrong bearer token (STATUS_TOKEN or TRIGGER_TOKEN)"}});
    const std::string id = path.substr(6);
    if (method != "GET" || id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos) return not_found();
    return with_requests(source, [&](Requests& r, common::PgConn& conn) { return run_state(r, conn, source, std::stoll(id)); });
}

}  // namespace pixrep
