#include "scalingo_client.hpp"

namespace pixrep::scalingo {

using json = nlohmann::json;

Client::Client(Account account, common::HttpClient& http, Logger& log) : account_(std::move(account)), http_(http), log_(log) {
    log_.add_secret(account_.api_token);
}

common::HttpResponse Client::request(const std::string& method, const std::string& url, const std::string& what,
                                     const std::string& bearer) {
    common::HttpRequest req;
    req.what = "Scalingo " + what;
    req.method = method;
    req.url = url;
    req.headers = {"Accept: application/json"};
    if (method == "POST") {
        req.headers.push_back("Content-Type: application/json");
        req.body = "{}";
    }
    if (!bearer.empty()) req.headers.push_back("Authorization: Bearer " + bearer);
    return http_.send(req);
}

void Client::exchange_token() {
    common::HttpRequest req;
    req.what = "Scalingo token exchange";
    req.method = "POST";
    req.url = account_.auth_url + "/v1/tokens/exchange";
    req.headers = {"Accept: application/json"};
    req.body = "";
    req.basic_auth = ":" + account_.api_token;
    auto r = http_.send(req);
    if (r.status == 401 || r.status == 403)
        throw StepError(ErrorKind::config, "Scalingo refused the API token (SCALINGO_API_TOKEN): HTTP " + std::to_string(r.status) +
                                               ": " + error_text(r.body));
    if (r.status < 200 || r.status >= 300)
        throw StepError(r.status >= 500 ? ErrorKind::transient : ErrorKind::input,
                        "Scalingo token exchange answered HTTP " + std::to_string(r.status) + ": " + error_text(r.body));
    bearer_ = parse_json(r.body, "token exchange").value("token", "");
    if (bearer_.empty()) throw StepError(ErrorKind::input, "Scalingo token exchange gave no token");
    log_.add_secret(bearer_);
}

// An API call with the user bearer (or an addon token); a 401 on the user bearer renews it once.
json Client::call(const std::string& method, const std::string& url, const std::string& what, const std::string* addon_token) {
    const bool user = addon_token == nullptr;
    if (user && bearer_.empty()) exchange_token();
    auto r = request(method, url, what, user ? bearer_ : *addon_token);
    if (r.status == 401 && user) {
        log_.info("Scalingo bearer refused; renewing it once");
        exchange_token();
        r = request(method, url, what, bearer_);
    }
    if (r.status == 404) {
        std::string text = error_text(r.body);
        if (what == "addon list" || text.rfind("app", 0) == 0)
            throw StepError(ErrorKind::config, "Scalingo app '" + account_.app + "' not found in region '" + account_.region + "' (" +
                                                   text + "): check SCALINGO_APP and SCALINGO_REGION");
        throw StepError(ErrorKind::input, "Scalingo " + what + ": not found (" + text + ")");
    }
    if (r.status == 401 || r.status == 403)
        throw StepError(ErrorKind::config, "Scalingo refused the " + std::string(user ? "API token's bearer" : "addon token") + " for " +
                                               what + " (HTTP " + std::to_string(r.status) + ": " + error_text(r.body) +
                                               "): is the token's user a collaborator of '" + account_.app + "'?");
    if (r.status < 200 || r.status >= 300)
        throw StepError(r.status >= 500 ? ErrorKind::transient : ErrorKind::input,
                        "Scalingo " + what + " answered HTTP " + std::to_string(r.status) + ": " + error_text(r.body));
    return parse_json(r.body, what);
}

std::string Client::addon(const std::string& wanted) {
    return pick_addon(call("GET", account_.api_url + "/v1/apps/" + account_.app + "/addons", "addon list", nullptr), account_.app, wanted);
}

std::string Client::addon_token(const std::string& addon) {
    auto j = call("POST", account_.api_url + "/v1/apps/" + account_.app + "/addons/" + addon + "/token", "addon token", nullptr);
    std::string t = j.contains("addon") && j["addon"].is_object() ? j["addon"].value("token", "") : "";
    if (t.empty()) throw StepError(ErrorKind::input, "Scalingo gave no addon token for " + addon);
    log_.add_secret(t);
    return t;
}

std::vector<BackupInfo> Client::backups(const std::string& addon, const std::string& token) {
    return parse_backups(call("GET", account_.db_url + "/api/databases/" + addon + "/backups", "backup list", &token));
}

std::string Client::archive_url(const std::string& addon, const std::string& backup, const std::string& token) {
    auto url = call("GET", account_.db_url + "/api/databases/" + addon + "/backups/" + backup + "/archive", "archive URL", &token)
                   .value("download_url", "");
    if (url.empty()) throw StepError(ErrorKind::input, "Scalingo gave no download_url for backup " + backup);
    log_.add_secret(url);
    return url;
}

}  // namespace pixrep::scalingo
