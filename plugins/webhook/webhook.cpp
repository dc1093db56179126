// After every run, success or failure, POSTs a JSON summary to the configured URLs (chat,
// monitoring). A webhook that fails is logged; it never fails a successful replication.
#include <curl/curl.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include <pixrep/step_export.hpp>

namespace {

using namespace pixrep;

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

class WebhookStep final : public Step {
public:
    StepInfo info() const override {
        return {"webhook", "1.0.0", "POSTs a JSON summary of each run (status, backup, durations, error) to URLs",
                {{"urls", OptionType::string_list, std::nullopt, true, "URLs to POST to (comma-separated in the variable)", "WEBHOOK_URLS", true},
                 {"authorization", OptionType::string, std::nullopt, false, "Value of the Authorization header, if any", "WEBHOOK_AUTHORIZATION", true},
                 {"timeout", OptionType::duration, OptionValue(std::chrono::milliseconds(10'000)), false, "Time limit of each POST", ""}}};
    }

    void configure(const Options& o, Logger& log) override {
        urls_ = o.list("urls");
        if (urls_.empty()) throw StepError(ErrorKind::config, "option 'urls' is empty");
        for (const auto& u : urls_) {
            if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0)
                throw StepError(ErrorKind::config, "webhook URL must start with https:// (got a value starting with '" + u.substr(0, 8) + "')");
            log.add_secret(u);  // chat webhook URLs carry their token in the path
        }
        authorization_ = o.string_or("authorization", "");
        if (!authorization_.empty()) log.add_secret(authorization_);
        timeout_ = o.duration("timeout");
        curl_global_init(CURL_GLOBAL_DEFAULT);
    }

    void finish(RunContext& ctx, const RunOutcome& outcome) override {
        if (ctx.dry_run) return;
        nlohmann::json body{{"status", outcome.success ? "success" : "failure"},
                            {"duration_s", std::round(outcome.seconds * 10) / 10},
                            {"attempts", outcome.attempt},
                            {"error", outcome.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(ctx.log().redact(outcome.error))},
                            {"failed_step", outcome.failed_step.empty() ? nlohmann::json(nullptr) : nlohmann::json(outcome.failed_step)},
                            {"bytes_downloaded", ctx.report.bytes_downloaded},
                            {"restore_wall_s", std::round(ctx.report.restore_wall_seconds * 10) / 10}};
        if (ctx.backup) body["backup"] = {{"id", ctx.backup->id}, {"name", ctx.backup->name}, {"created_at", ctx.backup->created_at}};
        nlohmann::json steps = nlohmann::json::object();
        for (const auto& [name, s] : ctx.report.step_seconds) steps[name] = std::round(s * 10) / 10;
        body["step_seconds"] = steps;
        const std::string payload = body.dump();
        for (std::size_t i = 0; i < urls_.size(); ++i) {
            std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), &curl_easy_cleanup);
            curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
            std::string auth = "Authorization: " + authorization_;
            if (!authorization_.empty()) h = curl_slist_append(h, auth.c_str());
            std::unique_ptr<curl_slist, void (*)(curl_slist*)> hg(h, &curl_slist_free_all);
            curl_easy_setopt(c.get(), CURLOPT_URL, urls_[i].c_str());
            curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, h);
            curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, payload.c_str());
            curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
            curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, discard);
            CURLcode rc = curl_easy_perform(c.get());
            long status = 0;
            curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
            // URLs are secrets: name the webhook by its position only.
            if (rc != CURLE_OK || status < 200 || status >= 300)
                ctx.log().warn("webhook #" + std::to_string(i + 1) + " failed: " +
                                   (rc != CURLE_OK ? std::string(curl_easy_strerror(rc)) : "HTTP " + std::to_string(status)),
                               {{"webhook", static_cast<std::int64_t>(i + 1)}});
            else
                ctx.log().info("webhook #" + std::to_string(i + 1) + " notified", {{"webhook", static_cast<std::int64_t>(i + 1)}, {"http_status", static_cast<std::int64_t>(status)}});
        }
    }

private:
    std::vector<std::string> urls_;
    std::string authorization_;
    std::chrono::milliseconds timeout_{10'000};
};

}  // namespace

PIXREP_STEP(WebhookStep)
