// After every run, success or failure, POSTs a JSON summary to the configured URLs (chat,
// monitoring). A webhook that fails is logged; it never fails a successful replication.
#include <cmath>

#include <nlohmann/json.hpp>

#include <pixrep/step_export.hpp>

#include "http.hpp"

namespace {

using namespace pixrep;

double tenths(double s) { return std::round(s * 10) / 10; }

nlohmann::json summary(const RunContext& ctx, const RunOutcome& outcome) {
    const RunReport report = ctx.report();
    auto figure = [&](const std::string& name) { return report.figures.count(name) ? report.figures.at(name).value : 0.0; };
    nlohmann::json body{{"status", outcome.success ? "success" : "failure"},
                        {"duration_s", tenths(outcome.seconds)},
                        {"attempts", outcome.attempt},
                        {"error", outcome.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(ctx.log().redact(outcome.error))},
                        {"failed_step", outcome.failed_step.empty() ? nlohmann::json(nullptr) : nlohmann::json(outcome.failed_step)},
                        {"bytes_downloaded", static_cast<std::int64_t>(figure("bytes_downloaded"))},
                        {"restore_wall_s", tenths(figure("restore_wall"))}};
    if (const Backup* b = ctx.backup()) body["backup"] = {{"id", b->id}, {"name", b->name}, {"created_at", b->created_at}};
    nlohmann::json steps = nlohmann::json::object(), figures = nlohmann::json::object();
    for (const auto& [name, s] : report.step_seconds) steps[name] = tenths(s);
    for (const auto& [name, f] : report.figures) figures[name] = f.value;
    body["step_seconds"] = steps;
    body["figures"] = figures;
    return body;
}

class WebhookStep final : public Step {
public:
    StepInfo info() const override {
        return {"webhook", "1.0.0", "POSTs a JSON summary of each run (status, backup, durations, error) to URLs"};
    }

    void declare(OptionTable& t) override {
        t.add("urls", urls_, "URLs to POST to (comma-separated in the variable)").env("WEBHOOK_URLS").required().secret();
        t.add("authorization", authorization_, "Value of the Authorization header, if any").env("WEBHOOK_AUTHORIZATION").secret();
        t.add("timeout", timeout_, "Time limit of each POST");
    }

    void configure(Logger& log) override {
        if (urls_.empty()) throw StepError(ErrorKind::config, "option 'urls' is empty");
        for (const auto& u : urls_) {
            if (auto problem = common::secret_url_problem(u); !problem.empty())
                throw StepError(ErrorKind::config, "WEBHOOK_URLS: URL " + std::to_string(&u - urls_.data() + 1) + " " + problem);
            log.add_secret(u);  // chat webhook URLs carry their token in the path
        }
    }

    void finish(RunContext& ctx, const RunOutcome& outcome) override {
        if (ctx.env().dry_run()) return;
        post(ctx.env(), ctx.log(), summary(ctx, outcome).dump());
    }

    // Outside a run (Scalingo says tonight's backup failed): the same URLs hear of it.
    void notify(const RunEnv& env, Logger& log, const std::string& event, const std::string& message) override {
        post(env, log, nlohmann::json{{"status", "notice"}, {"event", event}, {"message", log.redact(message)}}.dump());
    }

private:
    void post(const RunEnv& env, Logger& log, const std::string& payload) {
        common::HttpPolicy policy;
        policy.retries = 2;
        common::HttpClient http(policy, env, log);
        for (std::size_t i = 0; i < urls_.size(); ++i) {
            // URLs are secrets: name the webhook by its position only.
            const std::string name = "webhook #" + std::to_string(i + 1);
            common::HttpRequest req;
            req.what = name;
            req.method = "POST";
            req.url = urls_[i];
            req.headers = {"Content-Type: application/json"};
            if (authorization_) req.headers.push_back("Authorization: " + *authorization_);
            req.body = payload;
            req.timeout = timeout_;
            try {
                auto r = http.send(req);
                if (r.status < 200 || r.status >= 300)
                    log.warn(name + " failed: HTTP " + std::to_string(r.status), {{"webhook", static_cast<std::int64_t>(i + 1)}});
                else
                    log.info(name + " notified", {{"webhook", static_cast<std::int64_t>(i + 1)}, {"http_status", static_cast<std::int64_t>(r.status)}});
            } catch (const std::exception& e) {
                log.warn(name + " failed: " + std::string(e.what()), {{"webhook", static_cast<std::int64_t>(i + 1)}});
            }
        }
    }

    std::vector<std::string> urls_;
    std::optional<std::string> authorization_;
    std::chrono::milliseconds timeout_{10'000};
};

}  // namespace

PIXREP_STEP(WebhookStep)
