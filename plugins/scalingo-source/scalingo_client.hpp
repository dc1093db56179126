#pragma once
// Scalingo's API (scalingo-api.md), call by call, returning typed values: the token exchange,
// the app's PostgreSQL addon, its token, its backups and a backup's download URL. Secrets
// (the API token, bearers, the signed URL) are registered with the logger as they appear.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http.hpp"
#include "scalingo_api.hpp"

namespace pixrep::scalingo {

/// Where the three APIs are, and whose app.
struct Account {
    std::string auth_url, api_url, db_url;  ///< Base URLs, without the /v1 or /api prefix.
    std::string app, region, api_token;
};

class Client {
public:
    Client(Account account, common::HttpClient& http, Logger& log);

    /// The PostgreSQL addon of the app (`wanted` when set). Throws StepError.
    std::string addon(const std::string& wanted);
    /// A token for the database API of `addon`.
    std::string addon_token(const std::string& addon);
    /// The addon's backups.
    std::vector<BackupInfo> backups(const std::string& addon, const std::string& addon_token);
    /// The pre-signed download URL of `backup` (a secret).
    std::string archive_url(const std::string& addon, const std::string& backup, const std::string& addon_token);

private:
    nlohmann::json call(const std::string& method, const std::string& url, const std::string& what, const std::string* addon_token);
    common::HttpResponse request(const std::string& method, const std::string& url, const std::string& what, const std::string& bearer);
    void exchange_token();

    Account account_;
    common::HttpClient& http_;
    Logger& log_;
    std::string bearer_;
};

}  // namespace pixrep::scalingo
