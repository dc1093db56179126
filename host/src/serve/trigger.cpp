#include "trigger.hpp"

#include <chrono>
#include <stdexcept>

#include "db.hpp"
#include "pg_conn.hpp"
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

Answer hook(const std::string& body, const TriggerSource& source) {
    HookEvent e;
    try {
        e = parse_hook(body, source.app);
    } catch (const std::invalid_argument& x) {
        return json_answer(400, {{"error", std::string("not a Scalingo event: ") + x.what()}});
    }
    if (!e.ours || e.kind == HookEvent::Kind::other)
        return json_answer(200, {{"ignored", true}}, "Scalingo event ignored: " + e.type + " for app " + e.app);
    if (e.kind == HookEvent::Kind::backup_failed)  // no run; the schedule process reports it through the steps that report
        return with_requests(source, [&](Requests& r, common::PgConn&) {
            const auto id = r.add("scalingo notifier", "database_backup_failed", e.backup_id, "backup_failed");
            return json_answer(200, {{"ignored", false}, {"requested", false}, {"recorded", id}},
                               "Scalingo says the backup of " + e.app + " failed: tonight's copy stays at the last good backup");
        });
    return with_requests(source, [&](Requests& r, common::PgConn&) {
        const auto id = r.add("scalingo notifier", "database_backup_succeeded", e.backup_id);
        return json_answer(202, {{"id", id}, {"state", "pending"}},
                           "run requested by Scalingo's notifier: backup " + (e.backup_id.empty() ? "(unnamed)" : e.backup_id) +
                               " is done, request " + std::to_string(id));
    });
}

}  // namespace

bool same_secret(const std::string& a, const std::string& b) {
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0, y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

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
    if (data.contains("backup_id") && data["backup_id"].is_string()) e.backup_id = data["backup_id"].get<std::string>();
    e.kind = e.type == "database_backup_succeeded" ? HookEvent::Kind::backup_done
             : e.type == "database_backup_failed"  ? HookEvent::Kind::backup_failed
                                                   : HookEvent::Kind::other;
    e.ours = !app.empty() && e.app == app;
    return e;
}

std::optional<Answer> answer_trigger(const std::string& method, const std::string& path, const std::string& authorization,
                                     const std::string& body, const TriggerSource& source) {
    const std::string hooks = "/hooks/scalingo/";
    const bool is_runs = path == "/runs" || path.rfind("/runs/", 0) == 0, is_hook = path.rfind(hooks, 0) == 0;
    if (!is_runs && !is_hook) return std::nullopt;
    if (source.token.empty()) return not_found();  // off unless TRIGGER_TOKEN is set
    if (is_hook) {
        if (!same_secret(path.substr(hooks.size()), source.token)) return not_found();
        if (method != "POST") return json_answer(405, {{"error", "POST only"}});
        return hook(body, source);
    }
    const std::string bearer = "Bearer ";
    if (authorization.rfind(bearer, 0) != 0 || !same_secret(authorization.substr(bearer.size()), source.token))
        return json_answer(401, {{"error", "missing or wrong bearer token (Authorization: Bearer <TRIGGER_TOKEN>)"}});
    if (path == "/runs") {
        if (method != "POST") return json_answer(405, {{"error", "POST /runs makes a request; GET /runs/<id> tells its state"}});
        RunAsk ask;
        try {
            ask = parse_run_ask(body);
        } catch (const std::invalid_argument& x) {
            return json_answer(400, {{"error", x.what()}});
        }
        return with_requests(source, [&](Requests& r, common::PgConn&) {
            const auto id = r.add(ask.requested_by.empty() ? "POST /runs" : ask.requested_by, ask.reason, "");
            return json_answer(202, {{"id", id}, {"state", "pending"}, {"url", "/runs/" + std::to_string(id)}},
                               "run requested over HTTP: request " + std::to_string(id));
        });
    }
    const std::string id = path.substr(6);
    if (method != "GET" || id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos) return not_found();
    return with_requests(source, [&](Requests& r, common::PgConn& conn) { return run_state(r, conn, source, std::stoll(id)); });
}

}  // namespace pixrep
