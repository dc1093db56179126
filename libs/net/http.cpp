#include "http.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <cctype>
#include <memory>
#include <mutex>

#include <pixrep/backoff.hpp>

namespace pixrep::common {
namespace {

using Ms = std::chrono::milliseconds;

void init_curl() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What one transfer needs from its callbacks.
struct Transfer {
    const RunEnv* env = nullptr;
    std::string body;                       // send(): the whole body
    const HttpClient::Sink* sink = nullptr;  // download(): where the bytes go
    std::int64_t* delivered = nullptr;
    std::int64_t skip = 0;                   // bytes of this response already delivered by an earlier one
    bool resuming = false;
    bool checked = false, abandoned = false;
    long status = 0;
    std::optional<Ms> retry_after;
    CURL* curl = nullptr;
};

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    std::string h(p, size * n);
    if (h.size() > 12 && strncasecmp(h.c_str(), "retry-after:", 12) == 0) t->retry_after = parse_retry_after(h.substr(12));
    return size * n;
}

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    std::size_t len = size * n;
    if (!t->checked) {
        t->checked = true;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
        if (t->sink && t->status == 200 && t->resuming) t->skip = *t->delivered;  // Range ignored: skip what we have
    }
    if (!t->sink || (t->status != 200 && t->status != 206)) {
        if (t->body.size() < (t->sink ? 2000u : 64u << 20)) t->body.append(p, len);
        return len;
    }
    std::size_t off = 0;
    if (t->skip > 0) {
        off = static_cast<std::size_t>(std::min<std::int64_t>(t->skip, static_cast<std::int64_t>(len)));
        t->skip -= static_cast<std::int64_t>(off);
    }
    if (off < len) {
        if (!(*t->sink)(p + off, len - off)) {
            t->abandoned = true;
            return 0;
        }
        *t->delivered += static_cast<std::int64_t>(len - off);
    }
    return len;
}

// Called about once a second even when nothing arrives: a stop request aborts within a second.
int on_progress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(ud)->env->stopping() ? 1 : 0;
}

struct Handle {
    std::unique_ptr<CURL, void (*)(CURL*)> curl{curl_easy_init(), &curl_easy_cleanup};
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers{nullptr, &curl_slist_free_all};
};

void setup(Handle& h, Transfer& t, const HttpRequest& req, const HttpPolicy& policy) {
    CURL* c = h.curl.get();
    t.curl = c;
    curl_slist* list = nullptr;
    for (const auto& header : req.headers) list = curl_slist_append(list, header.c_str());
    h.headers.reset(list);
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(policy.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // a stalled transfer is an error
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(policy.stall.count() / 1000)));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    if (req.method != "GET") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body->c_str());
    if (req.basic_auth) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, req.basic_auth->c_str());
    }
}

}  // namespace

bool retryable_curl(int code) {
    switch (static_cast<CURLcode>(code)) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

bool retryable_status(long s) { return s == 429 || s == 502 || s == 503 || s == 504; }

std::optional<Ms> parse_retry_after(const std::string& value) {
    std::string v = value;
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t\r\n") + 1);
    if (v.empty() || v.size() > 9) return std::nullopt;
    for (char c : v)
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    return Ms(std::min(300L, std::atol(v.c_str())) * 1000);  // never more than 5 minutes
}

HttpClient::HttpClient(HttpPolicy policy, const RunEnv& env, Logger& log) : policy_(policy), env_(env), log_(log) { init_curl(); }

bool HttpClient::wait_before_retry(Backoff& backoff, const std::string& what, const std::string& cause, int attempt, Ms hint,
                                   std::int64_t at_byte) {
    Ms wait = backoff.next(hint);
    Fields f{{"retry_in_ms", static_cast<std::int64_t>(wait.count())}, {"attempt", static_cast<std::int64_t>(attempt + 1)}};
    if (at_byte >= 0) {
        f.emplace_back("at_byte", at_byte);
        log_.warn("download interrupted (" + cause + "); resuming " + what, f);
    } else {
        log_.warn(what + " failed (" + cause + "); retrying", f);
    }
    return env_.sleep_for(wait);
}

HttpResponse HttpClient::send(const HttpRequest& req) {
    Backoff backoff(policy_.first_delay, policy_.max_delay);
    for (int attempt = 0;; ++attempt) {
        Handle h;
        Transfer t;
        t.env = &env_;
        setup(h, t, req, policy_);
        curl_easy_setopt(h.curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
        CURLcode rc = curl_easy_perform(h.curl.get());
        if (env_.stopping()) throw StepError(ErrorKind::fatal, req.what + " stopped by a stop request");
        if (rc == CURLE_OK) curl_easy_getinfo(h.curl.get(), CURLINFO_RESPONSE_CODE, &t.status);
        bool again = rc != CURLE_OK ? retryable_curl(rc) : retryable_status(t.status);
        if (!again) {
            if (rc != CURLE_OK) throw StepError(ErrorKind::transient, req.what + ": " + curl_easy_strerror(rc));
            return {t.status, std::move(t.body), t.retry_after};
        }
        std::string cause = rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(t.status);
        if (attempt >= policy_.retries)
            throw StepError(ErrorKind::transient, req.what + " still failing after " + std::to_string(attempt + 1) + " tries: " + cause);
        if (!wait_before_retry(backoff, req.what, cause, attempt, t.retry_after.value_or(Ms(0))))
            throw StepError(ErrorKind::fatal, "stopped while waiting to retry " + req.what);
    }
}

void HttpClient::download(const HttpRequest& req, const Sink& sink, std::int64_t& delivered) {
    Backoff backoff(policy_.first_delay, policy_.max_delay);
    for (int attempt = 0;; ++attempt) {
        Handle h;
        Transfer t;
        t.env = &env_;
        t.sink = &sink;
        t.delivered = &delivered;
        t.resuming = delivered > 0;
        setup(h, t, req, policy_);
        curl_easy_setopt(h.curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h.curl.get(), CURLOPT_MAXREDIRS, 5L);
        std::string range = std::to_string(delivered) + "-";
        if (delivered > 0) curl_easy_setopt(h.curl.get(), CURLOPT_RANGE, range.c_str());
        CURLcode rc = curl_easy_perform(h.curl.get());
        if (env_.stopping()) throw StepError(ErrorKind::fatal, req.what + " stopped by a stop request");
        if (t.abandoned) throw StepError(ErrorKind::fatal, req.what + " abandoned: what it received could not be used");
        if (!t.checked) curl_easy_getinfo(h.curl.get(), CURLINFO_RESPONSE_CODE, &t.status);
        if (rc == CURLE_OK && (t.status == 200 || t.status == 206)) return;
        bool again = rc != CURLE_OK ? retryable_curl(rc) : retryable_status(t.status);
        std::string cause = rc != CURLE_OK ? std::string(curl_easy_strerror(rc)) : "HTTP " + std::to_string(t.status);
        if (rc == CURLE_OK && !t.body.empty()) cause += ": " + t.body.substr(0, 200);
        if (!again || attempt >= policy_.retries)
            throw StepError(ErrorKind::transient, req.what + " failed after " + std::to_string(delivered) + " bytes: " + cause);
        if (!wait_before_retry(backoff, req.what, cause, attempt, t.retry_after.value_or(Ms(0)), delivered))
            throw StepError(ErrorKind::fatal, "stopped while waiting to resume " + req.what);
    }
}

std::string secret_url_problem(const std::string& url) {
    std::unique_ptr<CURLU, void (*)(CURLU*)> u(curl_url(), curl_url_cleanup);
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "is not a URL";
    auto part = [&](CURLUPart which) {
        char* v = nullptr;
        if (curl_url_get(u.get(), which, &v, 0) != CURLUE_OK || !v) return std::string();
        std::string out(v);
        curl_free(v);
        return out;
    };
    const std::string scheme = part(CURLUPART_SCHEME), host = part(CURLUPART_HOST);
    if (scheme == "https") return "";
    if (scheme != "http") return "must start with https://";
    // Plain http only where nothing travels on a network: this machine, for tests.
    const bool ipv4_loopback = host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos;
    if (host == "localhost" || host == "[::1]" || ipv4_loopback) return "";
    return "must use https:// (http:// only to this machine): its secrets would travel in clear text";
}

}  // namespace pixrep::common
