#include "web.hpp"

#include <ctime>

#include "pg_conn.hpp"
#include "requests.hpp"
#include "status.hpp"
#include "status_page.hpp"

namespace pixrep {
namespace {

constexpr std::chrono::seconds kDatabaseTimeout{3};
const char* const kCookie = "pixrep_session";

HttpResponse json(int status, const nlohmann::json& body) { return {status, "application/json", body.dump(), {}}; }

HttpResponse html(int status, std::string body) { return {status, "text/html; charset=utf-8", std::move(body), {}}; }

HttpResponse see_other(const std::string& where) { return {303, "text/plain", "", {{"Location", where}}}; }

}  // namespace

nlohmann::json public_facts(const nlohmann::json& runs) {
    nlohmann::json out{{"copy", false}, {"backup_created_at", nullptr}, {"restored_at", nullptr}, {"running", false}, {"last_run", nullptr}};
    if (!runs.is_array() || runs.empty()) return out;
    const auto& last = runs[0];
    out["running"] = last.value("status", "") == "running";
    out["last_run"] = {{"status", last.value("status", "")}, {"started_at", last.contains("started_at") ? last["started_at"] : nullptr},
                       {"finished_at", last.contains("finished_at") ? last["finished_at"] : nullptr}};
    for (const auto& r : runs)
        if (r.value("status", "") == "success") {
            out["copy"] = true;
            out["backup_created_at"] = r.contains("backup_created_at") ? r["backup_created_at"] : nullptr;
            out["restored_at"] = r.contains("finished_at") ? r["finished_at"] : nullptr;
            break;
        }
    return out;
}

WebApp::WebApp(WebSettings settings, HostLogger& log) : settings_(std::move(settings)), log_(log) {
    trigger_.conninfo = settings_.conninfo;
    trigger_.label = settings_.label;
    trigger_.schema = settings_.schema;
    trigger_.runs = !settings_.tokens.trigger.empty();
    trigger_.hook_token = settings_.tokens.hook;
    trigger_.app = settings_.app;
    trigger_.min_interval = settings_.min_interval;
    trigger_.writes = &writes_;
}

Access WebApp::access_of(const HttpRequest& r) {
    Access a = bearer_access(r.authorization, settings_.tokens);
    if (a == Access::anyone && sessions_.valid(cookie_value(r.cookie, kCookie), std::chrono::steady_clock::now())) a = Access::reader;
    return a;
}

HttpResponse WebApp::handle(const HttpRequest& request) {
    HttpResponse res;
    try {
        const Access access = access_of(request);
        // Guessing a token costs a minute's quota of failures.
        if (access == Access::anyone && !request.authorization.empty()) {
            const auto now = std::chrono::steady_clock::now();
            if (!failures_.allow(now)) {
                res = json(429, {{"error", "too many attempts with a wrong token this minute"}});
                res.headers.emplace_back("Retry-After", std::to_string(failures_.retry_after(now)));
                return res;
            }
        }
        res = route(request, access);
    } catch (const std::exception& e) {
        // Whatever the database or the files say, the page answers and the process lives on.
        log_.warn("web request failed: " + log_.redact(e.what()), {{"path", request.path.substr(0, 64)}});
        res = json(500, {{"error", "the status could not be read; see the logs"}});
    }
    res.body = scrub(std::move(res.body), settings_.hidden);
    return res;
}

HttpResponse WebApp::login(const HttpRequest& r) {
    const auto now = std::chrono::steady_clock::now();
    if (r.method == "POST" && r.path == "/logout") {
        sessions_.close(cookie_value(r.cookie, kCookie));
        auto res = see_other("/");
        res.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
        return res;
    }
    if (r.method != "POST") return json(405, {{"error", "POST only"}});
    const Access a = bearer_access("Bearer " + form_value(r.body, "token"), settings_.tokens);
    if (a == Access::anyone) {
        if (!failures_.allow(now)) return html(429, render_public_page(nlohmann::json::object(), std::time(nullptr), true, "Too many attempts: wait a minute."));
        log_.warn("a login failed on the page");
        return html(401, render_public_page(public_facts(read_history(settings_.conninfo, settings_.schema, 10, settings_.work_dir, kDatabaseTimeout)),
                                            std::time(nullptr), true, "Wrong token."));
    }
    auto res = see_other("/");
    res.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=" + sessions_.open(now) + "; Path=/; Max-Age=" +
                                               std::to_string(sessions_.lifetime().count()) + "; HttpOnly; SameSite=Strict" +
                                               (r.https ? "; Secure" : ""));
    log_.info("logged in on the page");
    return res;
}

HttpResponse WebApp::route(const HttpRequest& r, Access access) {
    if (auto a = answer_trigger(r.method, r.path, access, r.body, trigger_)) {
        if (!a->log.empty()) log_.info(a->log, {{"status", static_cast<std::int64_t>(a->status)}});
        HttpResponse res{a->status, "application/json", a->body, {}};
        if (a->retry_after > 0) res.headers.emplace_back("Retry-After", std::to_string(a->retry_after));
        return res;
    }
    if (r.path == "/login" || r.path == "/logout") return login(r);
    const bool can_log_in = !settings_.tokens.status.empty() || !settings_.tokens.trigger.empty();
    if (r.path == "/status") {
        auto runs = read_history(settings_.conninfo, settings_.schema, 10, settings_.work_dir, kDatabaseTimeout);
        if (access == Access::anyone) return json(200, public_facts(runs));
        return json(200, {{"last_run", runs.empty() ? nlohmann::json(nullptr) : runs[0]}, {"runs", runs}});
    }
    if (r.path == "/") {
        auto runs = read_history(settings_.conninfo, settings_.schema, 30, settings_.work_dir, kDatabaseTimeout);
        if (access == Access::anyone) return html(200, render_public_page(public_facts(runs), std::time(nullptr), can_log_in, ""));
        nlohmann::json requests = nlohmann::json::array();
        if (!settings_.conninfo.empty()) try {
                common::PgConn conn(settings_.conninfo, settings_.label, kDatabaseTimeout, nullptr);
                conn.set_statement_deadline(kDatabaseTimeout);
                requests = Requests(conn, settings_.schema).recent(20);
            } catch (const std::exception&) {  // the page shows the runs without them
            }
        return html(200, render_status_page(runs, std::time(nullptr), requests));
    }
    return json(404, {{"error", "not found; try /, /health or /status"}});
}

}  // namespace pixrep
