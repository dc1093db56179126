#pragma once
// The one HTTP client of the plugins (libcurl): retries with the shared backoff, Retry-After
// honoured, every transfer abandoned within a second of a stop request or after a stall, and
// messages that name the call, never its URL (which may be signed) nor its credentials.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pixrep/backoff.hpp>
#include <pixrep/step.hpp>

namespace pixrep::common {

/// One request.
struct HttpRequest {
    std::string what;                        ///< Names the call in messages: "Scalingo addon list".
    std::string method = "GET";
    std::string url;                         ///< Never logged.
    std::vector<std::string> headers;        ///< "Name: value"; values may be secrets.
    std::optional<std::string> body;         ///< Sent as is (POST/PUT).
    std::optional<std::string> basic_auth;   ///< "user:password".
    std::chrono::milliseconds timeout{60'000};
};

/// What came back.
struct HttpResponse {
    long status = 0;
    std::string body;
    std::optional<std::chrono::milliseconds> retry_after;  ///< From a Retry-After header.
};

/// How hard to try.
struct HttpPolicy {
    int retries = 5;                                 ///< Retries after the first try.
    std::chrono::milliseconds first_delay{1000};     ///< Doubled at each retry...
    std::chrono::milliseconds max_delay{60'000};     ///< ...up to this.
    std::chrono::milliseconds stall{60'000};         ///< A transfer with no byte for this long fails.
    std::chrono::milliseconds connect_timeout{30'000};
};

/// True for the libcurl errors a retry can heal (network, timeouts, cut transfers).
bool retryable_curl(int curl_code);
/// True for the HTTP statuses a retry can heal: 429, 502, 503, 504.
bool retryable_status(long status);
/// Why `url` may not carry a secret (an Authorization header, a token in its path): "" when it is
/// https, or http to this machine (tests); else what is wrong, without quoting the URL. Pure
/// (libcurl's URL parser).
std::string secret_url_problem(const std::string& url);
/// A Retry-After header's value in seconds ("120"); nullopt for dates or garbage.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value);

class HttpClient {
public:
    /// `env` gives the stop flag and the interruptible sleep; `log` gets the retry warnings.
    HttpClient(HttpPolicy policy, const RunEnv& env, Logger& log);

    /// Sends `req`, retrying network errors and retryable statuses; returns the last response
    /// (which may be an error status). Throws StepError: transient when the network kept
    /// failing, fatal when the run is stopping.
    HttpResponse send(const HttpRequest& req);

    /// Receives body bytes; returns false to abandon the transfer.
    using Sink = std::function<bool(const char* data, std::size_t n)>;
    /// GETs `req.url` (no credentials sent), streaming the body to `sink` from its first byte
    /// to its last exactly once: a cut transfer resumes with a Range request, or restarts and
    /// skips what was delivered when the server ignores Range. `delivered` counts the bytes.
    /// Throws StepError: transient after the retries, fatal when stopped or abandoned.
    void download(const HttpRequest& req, const Sink& sink, std::int64_t& delivered);

private:
    bool wait_before_retry(Backoff& backoff, const std::string& what, const std::string& cause, int attempt,
                           std::chrono::milliseconds hint, std::int64_t at_byte = -1);
    HttpPolicy policy_;
    const RunEnv& env_;
    Logger& log_;
};

}  // namespace pixrep::common
