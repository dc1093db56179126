// Command line of pix-db-replication: parses arguments, builds the pipeline and maps failures
// to documented exit codes. All the work happens in the pipeline and the step plugins.
#include <unistd.h>

#include <csignal>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <iomanip>
#include <iostream>

#include <CLI/CLI.hpp>

#include "config.hpp"
#include "facts.hpp"
#include "http_server.hpp"
#include "web.hpp"
#include "logger.hpp"
#include "pipeline.hpp"
#include "requests.hpp"
#include "rollback.hpp"
#include "scheduler.hpp"
#include "plugin_loader.hpp"
#include "watchdog.hpp"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig) {
    g_signal = sig;
    g_stop = true;
}

// A stop signal arms the watchdog (from a thread: nothing of it is async-signal-safe).
void watch_for_signals() {
    std::thread([] {
        while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        pixrep::watchdog::arm("stop requested", g_signal == SIGINT ? pixrep::kExitSigint : pixrep::kExitSigterm);
    }).detach();
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
}

// STOP_GRACE (seconds, default 20): how long a stop may take before the process exits anyway.
std::chrono::seconds stop_grace() {
    const char* v = std::getenv("STOP_GRACE");
    int s = v ? std::atoi(v) : 0;
    return std::chrono::seconds(s > 0 && s < 600 ? s : 20);
}

int exit_for_signal(int code) {
    if (!g_stop) return code;
    return g_signal == SIGINT ? pixrep::kExitSigint : pixrep::kExitSigterm;
}

void print_plugins(const std::vector<pixrep::LoadedStep>& steps, std::ostream& out) {
    for (const auto& s : steps) {
        out << s.info.name << " " << s.info.version << "  (" << s.file.string() << ")\n  " << s.info.description << "\n";
        const auto specs = s.options.specs();
        if (specs.empty()) out << "  (no options)\n";
        for (const auto& o : specs) {
            out << "  - " << o.key << " (" << pixrep::type_name(o.type) << ")";
            if (o.required) out << ", required";
            if (o.fallback) out << ", default " << (o.secret ? "***" : pixrep::format_value(*o.fallback));
            if (!o.env.empty()) out << ", env " << o.env;
            if (o.secret) out << ", secret";
            out << "\n      " << o.description << "\n";
        }
        out << "\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"pix-db-replication: keeps a copy of a PostgreSQL database fresh from its newest Scalingo backup"};
    app.set_version_flag("--version", "pix-db-replication 0.1.0");
    std::string config_file = "config/production.toml";
    std::string log_format = "auto", log_level = "info";
    app.add_option("-c,--config", config_file, "TOML config file")->envname("REPLICATION_CONFIG")->capture_default_str();
    app.add_option("--log-format", log_format, "json (bunyan), text, or auto (text on a terminal)")
        ->envname("LOG_FORMAT")->check(CLI::IsMember({"auto", "json", "text"}))->capture_default_str();
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
        ->envname("LOG_LEVEL")->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))->capture_default_str();
    app.require_subcommand(1);
    app.footer("Exit codes: 0 success; 1 run failed; 2 configuration, environment or input invalid (nothing touched);\n"
               "3 another run holds the target's lock; 130 interrupted (SIGINT); 143 terminated (SIGTERM).");

    bool dry_run = false;
    auto* run = app.add_subcommand("run", "Run one replication now: fetch, verify, drop, restore (the original's `node run.js`)");
    run->add_flag("--dry-run", dry_run, "Fetch and verify the backup, print the restore plan, touch nothing");
    auto* plan = app.add_subcommand("plan", "Same as `run --dry-run`: print what would be restored and excluded");
    auto* masking_template = app.add_subcommand("masking-template", "Print masking rules for the backup or source a run would take now: "
                                                                    "every column keep, those that look personal flagged; touch nothing");
    auto* schedule = app.add_subcommand("schedule", "Run replications on SCHEDULE, forever (the background job)");
    auto* check = app.add_subcommand("check", "Load every plugin and validate the config, options and environment; touch nothing");
    auto* plugins = app.add_subcommand("plugins", "List the configured steps' plugins and their options");
    auto* rollback = app.add_subcommand("rollback", "Swap yesterday's copy, kept by KEEP_PREVIOUS=true, back into place (tonight's takes its "
                                                    "place until the next run)");
    std::string reason;
    auto* request = app.add_subcommand("request", "Ask the schedule process for a run (kept in the tool's schema in the target); prints "
                                                  "its id");
    request->add_option("--reason", reason, "Why, for the history and the page");
    int port = 8080;
    auto* serve = app.add_subcommand("serve", "Serve /health and /status (the last run's outcome) over HTTP (the web process)");
    serve->add_option("--port", port, "TCP port")->envname("PORT")->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return pixrep::kExitInvalid;
    }

    using pixrep::Level;
    const Level level = log_level == "trace" ? Level::trace : log_level == "debug" ? Level::debug
                        : log_level == "warn" ? Level::warn : log_level == "error" ? Level::error : Level::info;
    const bool text = log_format == "text" || (log_format == "auto" && ::isatty(STDOUT_FILENO));
    pixrep::HostLogger log(std::cout, text ? pixrep::HostLogger::Format::text : pixrep::HostLogger::Format::json, level);
    install_signal_handlers();
    pixrep::watchdog::start(log, stop_grace());
    watch_for_signals();
    std::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error code, never a dead process

    try {
        auto cfg = pixrep::load_config(config_file);
        if (*serve) {
            // The web process needs no plugin, and reads the target only if it can.
            auto settings = pixrep::resolve_run_settings(cfg, pixrep::process_env(), nullptr, true);
            pixrep::WebSettings web;
            web.schema = settings.home_schema;
            web.work_dir = settings.work_dir;
            web.tokens = {settings.status_token, settings.trigger_token, settings.hook_token};
            web.app = settings.notifier_app;
            web.min_interval = settings.trigger_min_interval;
            if (!settings.database_url.empty()) {
                const auto target = pixrep::make_target(settings.database_url, "DATABASE_URL");
                web.conninfo = target.conninfo;
                web.label = target.label;
            }
            if (auto problem = pixrep::tokens_problem(web.tokens); !problem.empty()) throw pixrep::StepError(pixrep::ErrorKind::config, problem);
            for (const auto* t : {&web.tokens.status, &web.tokens.trigger, &web.tokens.hook})
                if (!t->empty()) log.add_secret(*t);
            if (!web.tokens.trigger.empty() && web.tokens.hook.empty() && !web.app.empty())
                log.warn("Scalingo's notifier hook is off: it has a token of its own now, HOOK_TOKEN (the notifier's URL "
                         "/hooks/scalingo/<TRIGGER_TOKEN> answers 404)");
            // The live source's names stay out of every answer, old history rows included.
            if (const char* source = std::getenv("SOURCE_DATABASE_URL")) web.hidden = pixrep::source_words(source);
            pixrep::WebApp app_(std::move(web), log);
            return exit_for_signal(pixrep::serve_http(port, [&app_](const pixrep::HttpRequest& r) { return app_.handle(r); }, {}, log, &g_stop));
        }
        if (*request) {
            auto settings = pixrep::resolve_run_settings(cfg, pixrep::process_env(), nullptr, true);
            if (settings.database_url.empty()) throw pixrep::StepError(pixrep::ErrorKind::config, "request needs DATABASE_URL: requests live in the target");
            return pixrep::request_run(pixrep::make_target(settings.database_url, "DATABASE_URL"), settings.home_schema, reason, log, std::cout);
        }
        if (*plugins) {
            auto settings = pixrep::resolve_run_settings(cfg, pixrep::process_env(), nullptr, true);
            pixrep::PluginLoader loader(pixrep::PluginLoader::default_dirs(settings.plugin_path));
            std::vector<pixrep::LoadedStep> loaded;
            for (const auto& sc : cfg.steps) loaded.push_back(loader.load(sc.plugin));
            print_plugins(loaded, std::cout);
            return pixrep::kExitOk;
        }
        pixrep::Pipeline pipeline(std::move(cfg), log, pixrep::process_env());
        pipeline.load();
        pipeline.validate();
        if (*check) {
            pipeline.describe(std::cout);
            std::cout << "configuration valid\n";
            return pixrep::kExitOk;
        }
        if (*schedule) return exit_for_signal(pixrep::run_schedule(pipeline, log, &g_stop));
        if (*rollback) {
            const auto& s = pipeline.settings();
            return pixrep::rollback(pixrep::make_target(s.database_url, "DATABASE_URL"), s.home_schema, s.lock_timeout, log);
        }
        if (*masking_template)
            pipeline.set_plan_sink([](const pixrep::RestorePlan& p) { std::cout << pixrep::mask::rules_template(pixrep::mask::tables_tonight(p)); });
        return exit_for_signal(pipeline.run(dry_run || *plan || *masking_template, &g_stop));
    } catch (const pixrep::StepError& e) {
        log.write(Level::fatal, log.redact(e.what()));
        return pixrep::kExitInvalid;
    } catch (const std::exception& e) {
        log.write(Level::fatal, log.redact(e.what()));
        return pixrep::kExitRunFailed;
    }
}
