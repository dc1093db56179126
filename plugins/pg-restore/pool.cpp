#include "pool.hpp"

#include "pg_errors.hpp"

#include <algorithm>
#include <chrono>

namespace pixrep::restore {

using Clock = std::chrono::steady_clock;

Pool::Pool(RunContext& ctx, std::vector<Deferred> work, std::vector<std::string> settings, int during, int after)
    : ctx_(ctx), settings_(std::move(settings)), during_(during), after_(after), scheduler_(std::move(work)) {
    int n = scheduler_.waiting() == 0 ? 0 : std::max(during, after);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { worker(); });
}

Pool::~Pool() {
    abandon();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void Pool::table_loaded(const std::string& table) {
    std::lock_guard<std::mutex> lock(mu_);
    scheduler_.table_loaded(table);
    cv_.notify_all();
}

void Pool::restore_over() {
    std::lock_guard<std::mutex> lock(mu_);
    scheduler_.restore_over();
    cv_.notify_all();
}

void Pool::abandon() {
    std::lock_guard<std::mutex> lock(mu_);
    abandoned_ = true;
    for (auto* s : active_) try {
            s->conn().cancel_query();
        } catch (const std::exception&) {
        }
    cv_.notify_all();
}

std::size_t Pool::pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return scheduler_.pending();
}

void Pool::wait() {
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.empty()) throw StepError(failure_kind_, failure_);
    if (ctx_.env().stopping()) throw StepError(ErrorKind::fatal, "restore interrupted by a stop request");
}

bool Pool::quitting() const { return abandoned_ || !failure_.empty() || scheduler_.waiting() == 0 || ctx_.env().stopping(); }

void Pool::worker() {
    common::Session* session = nullptr;
    std::unique_ptr<common::Session> owned;
    for (;;) {
        std::optional<std::size_t> pick;
        {
            std::unique_lock<std::mutex> lock(mu_);
            // Woken by loaded tables and finished work; the timeout notices a stop request.
            while (!quitting()) {
                if (running_ < (scheduler_.restoring() ? during_ : after_) && (pick = scheduler_.take())) break;
                cv_.wait_for(lock, std::chrono::milliseconds(200));
            }
            if (!pick) return;
            ++running_;
        }
        bool ok = run_one(session, owned, scheduler_.work(*pick));
        std::lock_guard<std::mutex> lock(mu_);
        --running_;
        if (ok) scheduler_.done(*pick);
        cv_.notify_all();
        if (!ok) return;
    }
}

bool Pool::run_one(common::Session*& session, std::unique_ptr<common::Session>& owned, const Deferred& w) {
    const auto t = Clock::now();
    std::string current;
    try {
        if (!session) {
            owned = std::make_unique<common::Session>(ctx_.env(), "pg-restore pool");
            session = owned.get();
            for (const auto& s : settings_) {
                pqxx::nontransaction tx(session->conn());
                tx.exec("SET " + s);
            }
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (abandoned_) return false;
            active_.insert(session);
        }
        session->run([&](common::Connection& c) {
            for (const auto& sql : w.sql) {
                current = sql;
                pqxx::nontransaction tx(c);
                tx.exec(sql);
            }
        });
    } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu_);
        active_.erase(session);
        std::string msg = e.what();
        if (failure_.empty() && !abandoned_) failure_kind_ = common::exception_error_kind(e);
        if (failure_.empty() && !abandoned_)
            failure_ = "deferred work from " + w.by + " failed: " + current + ": " + msg.substr(0, msg.find('\n'));
        return false;
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        active_.erase(session);
    }
    double secs = std::chrono::duration<double>(Clock::now() - t).count();
    ctx_.add_timing(w.kind, w.label, t, secs);
    ctx_.log().info("deferred work done", {{"work", w.label}, {"by", w.by}, {"sql", w.sql.back()},
                                           {"duration_ms", static_cast<std::int64_t>(secs * 1000)}});
    return true;
}

}  // namespace pixrep::restore
