// Production source: the newest done backup of a Scalingo app's PostgreSQL addon, fetched
// through Scalingo's API and streamed HTTP body -> gunzip -> tar -> *.pgsql, with no .tar.gz
// on disk and no CLI to install. Tokens, bearers and the signed URL never reach a log.
#include <ctime>

#include <pixrep/step_export.hpp>

#include "download.hpp"
#include "scalingo_client.hpp"
#include "source.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pixrep;
using std::chrono::milliseconds;

std::string trim_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

class ScalingoSourceStep final : public Step {
public:
    StepInfo info() const override {
        return {"scalingo-source", "1.0.0", "Streams the newest done backup of a Scalingo app's PostgreSQL addon and verifies it"};
    }

    void declare(OptionTable& t) override {
        t.add("app", app_, "App holding the source database (e.g. pix-api-production)").env("SCALINGO_APP").required();
        t.add("api_token", token_, "Scalingo user API token (tk-us-...), collaborator of the app").env("SCALINGO_API_TOKEN").required().secret();
        t.add("region", region_, "Scalingo region (osc-fr1, osc-secnum-fr1); the production config falls back on REGION_NAME")
            .env("SCALINGO_REGION");
        t.add("auth_url", auth_url_, "Auth API base URL").env("SCALINGO_AUTH_URL");
        t.add("api_url", api_url_, "Regional API base URL; default https://api.<region>.scalingo.com").env("SCALINGO_API_URL");
        t.add("db_url", db_url_, "Database API base URL; default https://db-api.<region>.scalingo.com").env("SCALINGO_DB_URL");
        t.add("addon_id", addon_id_, "PostgreSQL addon to use when the app has several").env("SCALINGO_ADDON_ID");
        t.add("backup_id", backup_id_, "Restore this backup instead of the newest done one").env("SCALINGO_BACKUP_ID");
        t.add("max_backup_age", max_age_,
              "Newest backup older than this is a retryable failure (waits for the night's backup), e.g. 20h").env("MAX_BACKUP_AGE");
        t.add("backup_wait", backup_wait_, "How long to wait before looking again for a backup newer than max_backup_age")
            .env("BACKUP_WAIT");
        t.add("http_retries", policy_retries_, "Retries of one HTTP call on network errors, 429, 502-504");
        t.add("http_retry_delay", policy_delay_, "First wait between HTTP retries, doubled each time, capped at 60s");
        t.add("stall_timeout", stall_, "A transfer that receives nothing for this long fails (and is retried)");
        t.add("progress_interval", progress_every_, "Download progress is logged this often (and every 5%)");
    }

    void configure(Logger&) override {
        // Never a silent default region: Pix production lives in osc-secnum-fr1, not osc-fr1.
        if (!region_ && (!api_url_ || !db_url_))
            throw StepError(ErrorKind::config, "no Scalingo region: set SCALINGO_REGION (osc-fr1, osc-secnum-fr1); REGION_NAME, "
                                               "which Scalingo sets in its containers, is not set either");
        const std::string region = region_.value_or("(none)");
        account_ = {trim_slash(auth_url_), trim_slash(api_url_.value_or("https://api." + region + ".scalingo.com")),
                    trim_slash(db_url_.value_or("https://db-api." + region + ".scalingo.com")), app_, region, token_};
        for (const auto* u : {&account_.auth_url, &account_.api_url, &account_.db_url})
            if (u->rfind("https://", 0) != 0 && u->rfind("http://", 0) != 0)
                throw StepError(ErrorKind::config, "Scalingo base URL '" + *u + "' must start with https://");
        if (app_.find('/') != std::string::npos) throw StepError(ErrorKind::config, "SCALINGO_APP '" + app_ + "' is not an app name");
        if (stall_ < std::chrono::seconds(1)) throw StepError(ErrorKind::config, "option 'stall_timeout' must be at least 1s");
    }

    void prepare(RunContext& ctx) override {
        common::HttpPolicy policy;
        policy.retries = static_cast<int>(policy_retries_);
        policy.first_delay = policy_delay_;
        policy.stall = stall_;
        common::HttpClient http(policy, ctx.env(), ctx.log());
        scalingo::Client client(account_, http, ctx.log());
        std::string addon = client.addon(addon_id_.value_or(""));
        std::string token = client.addon_token(addon);
        auto b = scalingo::pick_backup(client.backups(addon, token), backup_id_.value_or(""));
        double age_s = static_cast<double>(std::time(nullptr)) - b.created;
        ctx.log().info("backup chosen", {{"app", app_}, {"region", account_.region}, {"addon", addon}, {"backup_id", b.id}, {"backup_name", b.name},
                                         {"created_at", b.created_at}, {"size", static_cast<std::int64_t>(b.size)},
                                         {"age_h", static_cast<std::int64_t>(age_s / 3600)}});
        // As the original did: yesterday's backup is not restored again; the run waits for today's.
        if (max_age_ && !backup_id_ && age_s * 1000 > static_cast<double>(max_age_->count()))
            throw StepError(ErrorKind::transient,
                            "newest done backup " + b.name + " was made at " + b.created_at + ", " +
                                std::to_string(static_cast<long long>(age_s / 3600)) +
                                "h ago, older than max_backup_age: today's backup is not done yet; looking again in " +
                                std::to_string(backup_wait_.count() / 60000) + " min (BACKUP_WAIT)",
                            backup_wait_);
        Backup out;
        out.id = b.id;
        out.name = b.name;
        out.created_at = b.created_at;
        out.archive_bytes = b.size;
        std::error_code ec;
        if (b.id == last_id_ && scan_ && last_dump_.parent_path() == ctx.env().work_dir() && fs::exists(last_dump_, ec)) {
            // A retry after a failure further on: the same backup is still the newest, keep it.
            ctx.log().info("reusing the backup downloaded by an earlier attempt", {{"backup_id", b.id}});
            out.dump = last_dump_;
            return common::adopt_backup(ctx, std::move(out), *scan_);
        }
        last_id_.clear();
        scan_.reset();
        stream(ctx, b, client.archive_url(addon, b.id, token), std::move(out), policy);
    }

    // The download goes on the host's thread: the build beside may start once the table of
    // contents is in, each table once its block is. Only what the body owns or the step keeps
    // is used there: prepare()'s context and client are gone by then.
    void stream(RunContext& ctx, const scalingo::BackupInfo& b, std::string url, Backup out, const common::HttpPolicy& policy) {
        ctx.stream([this, b, url = std::move(url), out = std::move(out), policy](Arrival& arrival) mutable {
            common::HttpClient http(policy, arrival.env(), arrival.log());
            auto scan = common::scanner_for("backup " + b.name, arrival.env().pg_restore());
            fs::path dump;
            common::announce(arrival, *scan, out, [&dump] { return dump; });
            dump = scalingo::stream_backup(http, url, b, *scan, arrival, progress_every_, [&dump](const fs::path& p) { dump = p; });
            out.dump = dump;
            common::verified_whole(arrival.env(), arrival.log(), out, *scan);
            scan_ = std::move(scan);
            last_dump_ = dump;
            last_id_ = b.id;
        });
    }

    std::optional<std::string> newest_backup(const RunEnv& env, Logger& log) override {
        if (backup_id_) return backup_id_;
        common::HttpPolicy policy;
        policy.retries = static_cast<int>(policy_retries_);
        policy.first_delay = policy_delay_;
        policy.stall = stall_;
        common::HttpClient http(policy, env, log);
        scalingo::Client client(account_, http, log);
        const std::string addon = client.addon(addon_id_.value_or(""));
        return scalingo::pick_backup(client.backups(addon, client.addon_token(addon)), "").id;
    }

    void finish(RunContext&, const RunOutcome&) override {
        // The run's directory goes with the run; the next run wants tomorrow's backup.
        last_id_.clear();
        scan_.reset();
    }

private:
    std::string app_, token_, auth_url_ = "https://auth.scalingo.com";
    std::optional<std::string> region_, api_url_, db_url_, addon_id_, backup_id_;
    std::optional<milliseconds> max_age_;
    std::int64_t policy_retries_ = 5;
    milliseconds policy_delay_{1000}, stall_{60'000}, progress_every_{5000}, backup_wait_{15 * 60'000};
    scalingo::Account account_;
    std::string last_id_;
    fs::path last_dump_;
    std::unique_ptr<common::DumpScanner> scan_;
};

}  // namespace

PIXREP_STEP(ScalingoSourceStep)
