#include "target.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include <unistd.h>

#include <pixrep/step.hpp>

#include "db.hpp"
#include "home.hpp"
#include "pg_conn.hpp"
#include "pg_errors.hpp"
#include "wait.hpp"
#include "watchdog.hpp"

namespace pixrep {

Target make_target(const std::string& text, const std::string& variable) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(text.c_str(), &err);
    auto invalid = [&](std::string why) {
        // libpq may quote the whole string, password included.
        for (auto p = why.find(text); !text.empty() && p != std::string::npos; p = why.find(text)) why.replace(p, text.size(), variable);
        return StepError(ErrorKind::config, variable + " is not a valid PostgreSQL connection URL or string: " + why);
    };
    if (!opts) {
        std::string msg = err ? common::one_line(err) : "out of memory";
        if (err) PQfreemem(err);
        throw invalid(msg);
    }
    std::map<std::string, std::string> given;
    for (auto* o = opts; o->keyword; ++o)
        if (o->val && *o->val) given[o->keyword] = o->val;
    PQconninfoFree(opts);
    // libpq checks numbers only when it connects; `check` must see a bad port now.
    if (given.count("port") && given["port"].find_first_not_of("0123456789,") != std::string::npos)
        throw invalid("port '" + given["port"] + "' is not a number");
    // Never production in clear text: TLS unless the URL says otherwise or the server is this machine.
    if (!given.count("sslmode"))
        if (auto mode = common::default_sslmode(given.count("host") ? given["host"] : "", given.count("hostaddr") ? given["hostaddr"] : "");
            !mode.empty())
            given["sslmode"] = mode;
    // A silent server or network must not hang a run, nor a stop request.
    for (const auto& [k, v] : std::map<std::string, std::string>{{"connect_timeout", "10"}, {"keepalives", "1"},
                                                                   {"keepalives_idle", "30"}, {"keepalives_interval", "10"},
                                                                   {"keepalives_count", "3"}})
        given.emplace(k, v);
    Target t;
    for (const auto& [k, v] : given) {
        std::string kv = k + "=" + common::conninfo_value(v);
        t.conninfo += (t.conninfo.empty() ? "" : " ") + kv;
        if (k == "password") t.password = v;
        else if (k == "sslpassword") t.sslpassword = v;
        else t.conninfo_public += (t.conninfo_public.empty() ? "" : " ") + kv;
    }
    auto get = [&](const char* k, const char* d) { return given.count(k) ? given[k] : std::string(d); };
    t.label = get("user", "?") + "@" + get("host", "localhost") + ":" + get("port", "5432") + "/" + get("dbname", get("user", "?").c_str());
    return t;
}

std::string lock_held_sql() {
    return "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = "
           "current_database()) AND classid = " + std::to_string(kLockKey >> 32) + " AND objid = " + std::to_string(kLockKey & 0xffffffff) +
           " AND objsubid = 1 AND granted)";
}

namespace {

constexpr std::chrono::seconds kLockStatementDeadline{30};

class PgSession final : public TargetSession {
public:
    PgSession(Target target, HomeSettings home, std::chrono::milliseconds keepalive, std::function<bool()> stopping, Logger& log,
              common::IdleConnections& idle)
        : target_(std::move(target)), home_(std::move(home)), keepalive_(keepalive), stopping_(std::move(stopping)), log_(log), idle_(idle) {}
    ~PgSession() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            closing_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    void lock(std::chrono::milliseconds wait) override {
        // Its own for the whole run, never handed back: it holds the lock.
        conn_ = common::connect_reusing(target_, "lock", [] { return nullptr; }, stopping_);
        // A frozen server (TCP still answering) must flip the lost flag within bounded time.
        conn_->set_statement_deadline(std::clamp(keepalive_ * 5, std::chrono::milliseconds(5000),
                                                 std::chrono::milliseconds(kLockStatementDeadline)));
        const auto deadline = std::chrono::steady_clock::now() + wait;
        for (;;) {
            if (conn_->scalar("SELECT pg_try_advisory_lock(" + std::to_string(kLockKey) + ")") == std::optional<std::string>("t")) break;
            if (std::chrono::steady_clock::now() >= deadline)
                throw LockBusy("another replication holds the lock on the target database (advisory lock " +
                               std::to_string(kLockKey) + "); not starting a second one");
            if (!sleep_unless(std::chrono::milliseconds(500), stopping_))
                throw StepError(ErrorKind::fatal, "stopped while waiting for the target's lock");
        }
        thread_ = std::thread([this] { keep_alive(); });
    }
    bool lost() const override { return lost_; }
    std::string encryption() const override { return conn_ ? conn_->encryption() : ""; }
    std::string lost_reason() const override {
        std::lock_guard<std::mutex> lock(mu_);
        return reason_;
    }

    std::int64_t begin() override {
        return home([&](common::PgConn& c) {
            Home home(c, home_.schema);
            home.ensure();
            for (const auto& r : home_.readers)
                if (c.scalar("SELECT count(*) FROM pg_roles WHERE rolname = $1", {r}) != std::optional<std::string>("1"))
                    throw StepError(ErrorKind::config, "GRANT_READ_TO names role '" + r + "', which does not exist in the target");
            char host[256] = {0};
            ::gethostname(host, sizeof host - 1);
            return home.begin_run(host, static_cast<long>(::getpid()));
        });
    }
    std::size_t save_access(const std::vector<std::string>& schemas) override {
        return home([&](common::PgConn& c) { return Home(c, home_.schema).save_access_rules(schemas); });
    }
    std::vector<std::string> reapply_access(const std::vector<std::string>& schemas, const beside::BuildNames* built) override {
        return home([&](common::PgConn& c) { return Home(c, home_.schema).reapply_access_rules(schemas, home_.readers, built); });
    }
    std::map<std::string, std::map<std::string, std::string>> recall_all() override {
        return home([&](common::PgConn& c) { return Home(c, home_.schema).recall_all(); });
    }
    void remember(const std::map<std::string, std::map<std::string, std::string>>& by_step) override {
        home([&](common::PgConn& c) { Home(c, home_.schema).remember(by_step); });
    }
    void end(std::int64_t id, const nlohmann::json& outcome, Logger& log) override {
        try {
            home([&](common::PgConn& c) { Home(c, home_.schema).end_run(id, outcome); });
        } catch (const std::exception& e) {
            log.warn("could not record the run's outcome in the target database", {{"error", log.redact(e.what())}});
        }
    }

private:
    // Runs `f` on a connection for the tool's home, one the steps handed back when one answers,
    // and hands it back once `f` succeeded.
    template <class F>
    auto home(F&& f) -> std::invoke_result_t<F&, common::PgConn&> {
        auto c = common::connect_reusing(target_, "home", [this] { return idle_.take(); }, stopping_);
        struct HandBack {
            common::PgConn& c;
            common::IdleConnections& idle;
            ~HandBack() {
                if (std::uncaught_exceptions() == 0)
                    if (PGconn* back = c.release()) idle.keep(back);
            }
        } hand_back{*c, idle_};
        return f(*c);
    }

    // The lock lives as long as its session: a query now and then keeps any proxy from closing
    // it as idle, and tells us at once when it was closed anyway.
    void keep_alive() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!cv_.wait_for(lock, keepalive_, [&] { return closing_; })) {
            lock.unlock();
            std::string error;
            try {
                conn_->exec("SELECT 1");
            } catch (const std::exception& e) {
                error = common::one_line(e.what());
            }
            lock.lock();
            if (!error.empty()) {
                reason_ = "lost the session holding the run's lock on the target (" + error +
                          "): stopped so as not to go on unguarded";
                lost_ = true;
                log_.error(reason_);
                // The run stops at once, unless a statement on a frozen server holds it.
                watchdog::arm(reason_, 1);
                return;
            }
        }
    }

    Target target_;
    HomeSettings home_;
    std::chrono::milliseconds keepalive_;
    std::function<bool()> stopping_;
    Logger& log_;
    common::IdleConnections& idle_;
    std::unique_ptr<common::PgConn> conn_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool closing_ = false;
    std::atomic<bool> lost_{false};
    std::string reason_;
};

}  // namespace

TargetSessionFactory postgres_sessions() {
    return [](const Target& t, const HomeSettings& home, std::chrono::milliseconds keepalive, std::function<bool()> stopping, Logger& log,
              common::IdleConnections& idle) {
        return std::unique_ptr<TargetSession>(new PgSession(t, home, keepalive, std::move(stopping), log, idle));
    };
}

}  // namespace pixrep
