// Production source: the newest done backup of a Scalingo app's PostgreSQL addon, fetched
// through Scalingo's API and streamed HTTP body -> gunzip -> tar -> *.pgsql, with no .tar.gz
// on disk and no CLI to install. Tokens, bearers and the signed URL never reach a log.
#include <archive.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include <pixrep/step_export.hpp>

#include "dump.hpp"
#include "scalingo_api.hpp"
#include "source.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pixrep;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

bool sleep_unless_stopped(std::chrono::milliseconds d, const RunContext& ctx) {
    auto until = Clock::now() + d;
    while (Clock::now() < until) {
        if (ctx.stopping()) return false;
        std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(100), until - Clock::now()));
    }
    return !ctx.stopping();
}

bool retryable_curl(CURLcode c) {
    switch (c) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

bool retryable_status(long s) { return s == 429 || s == 502 || s == 503 || s == 504; }

struct Response {
    long status = 0;
    std::string body, retry_after;
};

std::size_t collect(char* p, std::size_t size, std::size_t n, void* ud) {
    static_cast<std::string*>(ud)->append(p, size * n);
    return size * n;
}

std::size_t header_cb(char* p, std::size_t size, std::size_t n, void* ud) {
    std::string h(p, size * n);
    if (h.size() > 12 && strncasecmp(h.c_str(), "retry-after:", 12) == 0) {
        std::string v = h.substr(12);
        v.erase(0, v.find_first_not_of(" \t"));
        v.erase(v.find_last_not_of(" \t\r\n") + 1);
        *static_cast<std::string*>(ud) = v;
    }
    return size * n;
}

class ScalingoSourceStep final : public Step {
public:
    StepInfo info() const override {
        using T = OptionType;
        using std::chrono::milliseconds;
        return {"scalingo-source", "1.0.0", "Streams the newest done backup of a Scalingo app's PostgreSQL addon and verifies it",
                {{"app", T::string, std::nullopt, true, "App holding the source database (e.g. pix-api-production)", "SCALINGO_APP"},
                 {"api_token", T::string, std::nullopt, true, "Scalingo user API token (tk-us-...), collaborator of the app", "SCALINGO_API_TOKEN", true},
                 {"region", T::string, OptionValue(std::string("osc-fr1")), false, "Scalingo region (osc-fr1, osc-secnum-fr1)", "SCALINGO_REGION"},
                 {"auth_url", T::string, OptionValue(std::string("https://auth.scalingo.com")), false, "Auth API base URL", "SCALINGO_AUTH_URL"},
                 {"api_url", T::string, std::nullopt, false, "Regional API base URL; default https://api.<region>.scalingo.com", "SCALINGO_API_URL"},
                 {"db_url", T::string, std::nullopt, false, "Database API base URL; default https://db-api.<region>.scalingo.com", "SCALINGO_DB_URL"},
                 {"addon_id", T::string, std::nullopt, false, "PostgreSQL addon to use when the app has several", "SCALINGO_ADDON_ID"},
                 {"backup_id", T::string, std::nullopt, false, "Restore this backup instead of the newest done one", "SCALINGO_BACKUP_ID"},
                 {"max_backup_age", T::duration, std::nullopt, false,
                  "Newest backup older than this is a retryable failure (waits for the night's backup), e.g. 24h", "MAX_BACKUP_AGE"},
                 {"http_retries", T::integer, OptionValue(std::int64_t{5}), false, "Retries of one HTTP call on network errors, 429, 502-504", ""},
                 {"http_retry_delay", T::duration, OptionValue(milliseconds(1000)), false, "First wait between HTTP retries, doubled each time, capped at 60s", ""},
                 {"progress_interval", T::duration, OptionValue(milliseconds(5000)), false, "Download progress is logged this often (and every 5%)", ""}}};
    }

    void configure(const Options& o, Logger&) override {
        app_ = o.string("app");
        token_ = o.string("api_token");
        region_ = o.string("region");
        auth_url_ = trim_slash(o.string("auth_url"));
        api_url_ = trim_slash(o.string_or("api_url", "https://api." + region_ + ".scalingo.com"));
        db_url_ = trim_slash(o.string_or("db_url", "https://db-api." + region_ + ".scalingo.com"));
        addon_id_ = o.string_or("addon_id", "");
        backup_id_ = o.string_or("backup_id", "");
        max_age_ = o.has("max_backup_age") ? o.duration("max_backup_age") : std::chrono::milliseconds(0);
        retries_ = o.integer("http_retries");
        retry_delay_ = o.duration("http_retry_delay");
        progress_every_ = o.duration("progress_interval");
        for (const auto* u : {&auth_url_, &api_url_, &db_url_})
            if (u->rfind("https://", 0) != 0 && u->rfind("http://", 0) != 0)
                throw StepError(ErrorKind::config, "Scalingo base URL '" + *u + "' must start with https://");
        if (app_.find('/') != std::string::npos) throw StepError(ErrorKind::config, "SCALINGO_APP '" + app_ + "' is not an app name");
        curl_global_init(CURL_GLOBAL_DEFAULT);
    }

    void prepare(RunContext& ctx) override {
        ctx.log().add_secret(token_);
        ::signal(SIGPIPE, SIG_IGN);  // a closed pipe must be an error code, not a dead process
        ctx_ = &ctx;
        if (bearer_.empty()) exchange_token();
        std::string addon = choose_addon();
        std::string addon_token = addon_token_for(addon);
        auto backups = scalingo::parse_backups(call_json("GET", db_url_ + "/api/databases/" + addon + "/backups", "backup list", &addon_token));
        auto b = scalingo::pick_backup(backups, backup_id_);
        double age_s = static_cast<double>(std::time(nullptr)) - b.created;
        ctx.log().info("backup chosen", {{"app", app_}, {"region", region_}, {"addon", addon}, {"backup_id", b.id}, {"backup_name", b.name},
                                         {"created_at", b.created_at}, {"size", static_cast<std::int64_t>(b.size)},
                                         {"age_h", static_cast<std::int64_t>(age_s / 3600)}});
        if (max_age_.count() > 0 && backup_id_.empty() && age_s * 1000 > static_cast<double>(max_age_.count()))
            throw StepError(ErrorKind::transient, "newest done backup " + b.name + " was made at " + b.created_at + ", " +
                                                      std::to_string(static_cast<long long>(age_s / 3600)) +
                                                      "h ago, older than max_backup_age: today's backup is not done yet");
        Backup out;
        out.id = b.id;
        out.name = b.name;
        out.created_at = b.created_at;
        out.archive_bytes = b.size;
        std::error_code ec;
        if (b.id == last_id_ && fs::exists(last_dump_, ec)) {
            // A retry after a failure further on: the same backup is still the newest, keep it.
            ctx.log().info("reusing the backup downloaded by an earlier attempt", {{"backup_id", b.id}});
            out.dump = last_dump_;
        } else {
            clean_work_dir(ctx.work_dir);
            auto url = call_json("GET", db_url_ + "/api/databases/" + addon + "/backups/" + b.id + "/archive", "archive URL", &addon_token)
                           .value("download_url", "");
            if (url.empty()) throw StepError(ErrorKind::input, "Scalingo gave no download_url for backup " + b.id);
            ctx.log().add_secret(url);
            if (auto q = url.find('?'); q != std::string::npos) ctx.log().add_secret(url.substr(q + 1));
            out.dump = download(ctx, url, b);
            last_id_ = b.id;
            last_dump_ = out.dump;
        }
        common::adopt_backup(ctx, std::move(out));
    }

    void finish(RunContext& ctx, const RunOutcome& outcome) override {
        if (!outcome.success) return;
        // Keep nothing between successful runs: the next run wants tomorrow's backup.
        std::error_code ec;
        if (!last_dump_.empty()) fs::remove(last_dump_, ec);
        last_id_.clear();
        last_dump_.clear();
        (void)ctx;
    }

private:
    static std::string trim_slash(std::string s) {
        while (!s.empty() && s.back() == '/') s.pop_back();
        return s;
    }

    static void clean_work_dir(const fs::path& dir) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            auto n = e.path().filename().string();
            if (n.size() > 6 && (n.substr(n.size() - 6) == ".pgsql" || n.find(".pgsql.partial") != std::string::npos)) fs::remove(e.path(), ec);
        }
    }

    // One HTTP call with the retry policy: network errors, 429 (Retry-After), 502-504.
    Response call(const std::string& method, const std::string& url, const std::string& bearer, const std::string& userpwd,
                  const std::string& what) {
        auto delay = retry_delay_;
        for (std::int64_t attempt = 0;; ++attempt) {
            Response r;
            std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), &curl_easy_cleanup);
            curl_slist* headers = nullptr;
            headers = curl_slist_append(headers, "Accept: application/json");
            if (method == "POST") headers = curl_slist_append(headers, "Content-Type: application/json");
            std::string auth = "Authorization: Bearer " + bearer;
            if (!bearer.empty()) headers = curl_slist_append(headers, auth.c_str());
            std::unique_ptr<curl_slist, void (*)(curl_slist*)> hguard(headers, &curl_slist_free_all);
            curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
            curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers);
            curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
            curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, 120L);
            curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, collect);
            curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &r.body);
            curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, header_cb);
            curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &r.retry_after);
            if (method == "POST") curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, "{}");
            if (!userpwd.empty()) {
                curl_easy_setopt(c.get(), CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
                curl_easy_setopt(c.get(), CURLOPT_USERPWD, userpwd.c_str());
            }
            CURLcode rc = curl_easy_perform(c.get());
            if (rc == CURLE_OK) curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &r.status);
            bool again = rc != CURLE_OK ? retryable_curl(rc) : retryable_status(r.status);
            if (!again) {
                if (rc != CURLE_OK) throw StepError(ErrorKind::transient, "Scalingo " + what + ": " + curl_easy_strerror(rc));
                return r;
            }
            std::string cause = rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(r.status);
            if (attempt >= retries_)
                throw StepError(ErrorKind::transient, "Scalingo " + what + " still failing after " + std::to_string(attempt + 1) + " tries: " + cause);
            auto wait = delay;
            if (r.status == 429 && !r.retry_after.empty() && std::isdigit(static_cast<unsigned char>(r.retry_after[0])))
                wait = std::chrono::milliseconds(std::min(300L, std::atol(r.retry_after.c_str())) * 1000);
            ctx_->log().warn("Scalingo " + what + " failed (" + cause + "); retrying", {{"retry_in_ms", static_cast<std::int64_t>(wait.count())},
                                                                                        {"attempt", attempt + 1}});
            if (!sleep_unless_stopped(wait, *ctx_)) throw StepError(ErrorKind::fatal, "stopped while waiting to retry Scalingo " + what);
            delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::milliseconds(60'000));
        }
    }

    json parse(const Response& r, const std::string& what) {
        try {
            return json::parse(r.body);
        } catch (const std::exception&) {
            throw StepError(ErrorKind::input, "Scalingo " + what + ": answer is not JSON: " + scalingo::error_text(r.body));
        }
    }

    // An API call with the user bearer (or an addon token); a 401 on a cached user bearer renews it once.
    json call_json(const std::string& method, const std::string& url, const std::string& what, const std::string* addon_token = nullptr) {
        const bool user = addon_token == nullptr;
        Response r = call(method, url, user ? bearer_ : *addon_token, "", what);
        if (r.status == 401 && user) {
            ctx_->log().info("Scalingo bearer refused; renewing it once");
            exchange_token();
            r = call(method, url, bearer_, "", what);
        }
        if (r.status == 404) {
            std::string text = scalingo::error_text(r.body);
            if (what == "addon list" || text.rfind("app", 0) == 0)
                throw StepError(ErrorKind::config, "Scalingo app '" + app_ + "' not found in region '" + region_ + "' (" + text +
                                                       "): check SCALINGO_APP and SCALINGO_REGION");
            throw StepError(ErrorKind::input, "Scalingo " + what + ": not found (" + text + ")");
        }
        if (r.status == 401 || r.status == 403)
            throw StepError(ErrorKind::config, "Scalingo refused the " + std::string(user ? "API token's bearer" : "addon token") + " for " +
                                                   what + " (HTTP " + std::to_string(r.status) + ": " + scalingo::error_text(r.body) +
                                                   "): is the token's user a collaborator of '" + app_ + "'?");
        if (r.status < 200 || r.status >= 300)
            throw StepError(r.status >= 500 ? ErrorKind::transient : ErrorKind::input,
                            "Scalingo " + what + " answered HTTP " + std::to_string(r.status) + ": " + scalingo::error_text(r.body));
        return parse(r, what);
    }

    void exchange_token() {
        Response r = call("POST", auth_url_ + "/v1/tokens/exchange", "", ":" + token_, "token exchange");
        if (r.status == 401 || r.status == 403)
            throw StepError(ErrorKind::config, "Scalingo refused the API token (SCALINGO_API_TOKEN): HTTP " + std::to_string(r.status) +
                                                   ": " + scalingo::error_text(r.body));
        if (r.status < 200 || r.status >= 300)
            throw StepError(r.status >= 500 ? ErrorKind::transient : ErrorKind::input,
                            "Scalingo token exchange answered HTTP " + std::to_string(r.status) + ": " + scalingo::error_text(r.body));
        bearer_ = parse(r, "token exchange").value("token", "");
        if (bearer_.empty()) throw StepError(ErrorKind::input, "Scalingo token exchange gave no token");
        ctx_->log().add_secret(bearer_);
    }

    std::string choose_addon() {
        return scalingo::pick_addon(call_json("GET", api_url_ + "/v1/apps/" + app_ + "/addons", "addon list"), app_, addon_id_);
    }

    std::string addon_token_for(const std::string& addon) {
        auto j = call_json("POST", api_url_ + "/v1/apps/" + app_ + "/addons/" + addon + "/token", "addon token");
        std::string t = j.contains("addon") && j["addon"].is_object() ? j["addon"].value("token", "") : "";
        if (t.empty()) throw StepError(ErrorKind::input, "Scalingo gave no addon token for " + addon);
        ctx_->log().add_secret(t);
        return t;
    }

    // Streams the archive: a thread runs curl and writes the body into a pipe, libarchive reads the
    // other end and writes the *.pgsql. Interrupted transfers resume with a Range request, or
    // restart and skip the bytes already delivered when the server ignores Range.
    fs::path download(RunContext& ctx, const std::string& url, const scalingo::BackupInfo& b) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw StepError(ErrorKind::fatal, std::string("pipe: ") + std::strerror(errno));
        fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
        struct Shared {
            std::mutex mu;
            std::string error;
            ErrorKind kind = ErrorKind::transient;
            std::int64_t delivered = 0;
        } sh;
        auto t0 = Clock::now();
        std::thread writer([&] {
            write_body(ctx, url, b, fds[1], sh.delivered, [&](ErrorKind k, const std::string& e) {
                std::lock_guard<std::mutex> lock(sh.mu);
                sh.kind = k;
                sh.error = e;
            });
            close(fds[1]);
        });
        fs::path result;
        std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), &archive_read_free);
        archive_read_support_filter_gzip(a.get());
        archive_read_support_format_tar(a.get());
        archive_read_support_format_gnutar(a.get());
        try {
            if (archive_read_open_fd(a.get(), fds[0], 1 << 16) != ARCHIVE_OK)
                throw StepError(ErrorKind::input, "backup " + b.name + " is not a gzip'd tar archive: " +
                                                      (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"));
            result = common::extract_pgsql(a.get(), ctx.work_dir, "backup " + b.name);
            char sink[65536];
            while (read(fds[0], sink, sizeof sink) > 0) {
            }  // let the writer finish the tar's padding
        } catch (const StepError& e) {
            close(fds[0]);
            fds[0] = -1;
            writer.join();
            std::lock_guard<std::mutex> lock(sh.mu);
            if (!sh.error.empty()) throw StepError(sh.kind, sh.error);  // the transfer's failure is the real cause
            throw;
        }
        close(fds[0]);
        writer.join();
        if (!sh.error.empty()) {
            std::error_code ec;
            fs::remove(result, ec);
            throw StepError(sh.kind, sh.error);
        }
        double s = std::chrono::duration<double>(Clock::now() - t0).count();
        ctx.report.bytes_downloaded += sh.delivered;
        ctx.log().info("download done", {{"bytes", sh.delivered}, {"duration_ms", static_cast<std::int64_t>(s * 1000)},
                                         {"mb_per_s", s > 0 ? static_cast<double>(sh.delivered) / 1e6 / s : 0.0}});
        return result;
    }

    struct Transfer {
        ScalingoSourceStep* self;
        RunContext* ctx;
        int fd;
        std::int64_t* delivered;
        std::int64_t skip = 0;        // bytes of this response already delivered by an earlier one
        std::int64_t total = -1;
        long status = 0;
        bool checked = false;
        std::string error_body;
        CURL* curl;
        Clock::time_point t0 = Clock::now(), last_log = Clock::now();
        std::int64_t last_pct = 0;
    };

    static std::size_t write_cb(char* p, std::size_t size, std::size_t n, void* ud) {
        auto* t = static_cast<Transfer*>(ud);
        std::size_t len = size * n;
        if (t->ctx->stopping()) return 0;
        if (!t->checked) {
            t->checked = true;
            curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
            if (t->status == 200) t->skip = *t->delivered;  // Range ignored: skip what we already have
        }
        if (t->status != 200 && t->status != 206) {
            if (t->error_body.size() < 2000) t->error_body.append(p, len);
            return len;
        }
        std::size_t off = 0;
        if (t->skip > 0) {
            off = static_cast<std::size_t>(std::min<std::int64_t>(t->skip, static_cast<std::int64_t>(len)));
            t->skip -= static_cast<std::int64_t>(off);
        }
        while (off < len) {
            ssize_t w = ::write(t->fd, p + off, len - off);
            if (w < 0) {
                if (errno == EINTR) continue;
                return 0;  // the reader gave up (corrupt archive): stop
            }
            off += static_cast<std::size_t>(w);
            *t->delivered += w;
        }
        t->self->log_progress(*t);
        return len;
    }

    void log_progress(Transfer& t) {
        auto now = Clock::now();
        std::int64_t pct = t.total > 0 ? *t.delivered * 100 / t.total : -1;
        bool step = pct >= 0 && pct / 5 > t.last_pct / 5;
        if (!step && now - t.last_log < progress_every_) return;
        t.last_log = now;
        if (pct >= 0) t.last_pct = pct;
        double s = std::chrono::duration<double>(now - t.t0).count();
        double rate = s > 0 ? static_cast<double>(*t.delivered) / s : 0;
        Fields f{{"bytes", *t.delivered}, {"mb_per_s", rate / 1e6}};
        if (t.total > 0) {
            f.emplace_back("total", t.total);
            f.emplace_back("percent", pct);
            if (rate > 0) f.emplace_back("eta_s", static_cast<std::int64_t>(static_cast<double>(t.total - *t.delivered) / rate));
        }
        t.ctx->log().info("download progress", f);
    }

    template <class Fail>
    void write_body(RunContext& ctx, const std::string& url, const scalingo::BackupInfo& b, int fd, std::int64_t& delivered, Fail fail) {
        auto delay = retry_delay_;
        for (std::int64_t attempt = 0;; ++attempt) {
            std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), &curl_easy_cleanup);
            Transfer t{this, &ctx, fd, &delivered};
            t.curl = c.get();
            t.total = b.size;
            curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
            curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
            curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 5L);
            curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
            curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);   // a stalled transfer is an error
            curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, 120L);
            curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, write_cb);
            curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
            std::string range = std::to_string(delivered) + "-";
            if (delivered > 0) curl_easy_setopt(c.get(), CURLOPT_RANGE, range.c_str());
            CURLcode rc = curl_easy_perform(c.get());
            if (ctx.stopping()) return fail(ErrorKind::fatal, "download stopped by a stop request");
            if (rc == CURLE_OK && (t.status == 200 || t.status == 206)) return;
            if (rc == CURLE_WRITE_ERROR && t.status >= 200 && t.status < 300)
                return fail(ErrorKind::transient, "download of backup " + b.name + " aborted: the archive could not be read");
            bool again = rc != CURLE_OK ? retryable_curl(rc) : retryable_status(t.status);
            std::string cause = rc != CURLE_OK ? std::string(curl_easy_strerror(rc)) : "HTTP " + std::to_string(t.status) + ": " + scalingo::error_text(t.error_body);
            if (!again || attempt >= retries_)
                return fail(ErrorKind::transient, "download of backup " + b.name + " failed after " + std::to_string(delivered) + " bytes: " + cause);
            ctx.log().warn("download interrupted (" + cause + "); resuming", {{"at_byte", delivered}, {"retry_in_ms", static_cast<std::int64_t>(delay.count())}});
            if (!sleep_unless_stopped(delay, ctx)) return fail(ErrorKind::fatal, "download stopped by a stop request");
            delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::milliseconds(60'000));
        }
    }

    std::string app_, token_, region_, auth_url_, api_url_, db_url_, addon_id_, backup_id_;
    std::chrono::milliseconds max_age_{0}, retry_delay_{1000}, progress_every_{5000};
    std::int64_t retries_ = 5;
    std::string bearer_, last_id_;
    fs::path last_dump_;
    RunContext* ctx_ = nullptr;
};

}  // namespace

PIXREP_STEP(ScalingoSourceStep)
