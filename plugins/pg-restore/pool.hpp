#pragma once
// Runs the deferred work beside pg_restore, each piece as soon as the scheduler lets it start,
// on connections of its own: at most `during` at once while pg_restore runs, `after` afterwards.
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pixrep/step.hpp>

#include "db.hpp"
#include "scheduler.hpp"

namespace pixrep::restore {

class Pool {
public:
    /// `settings` are run with SET on each connection first ("synchronous_commit = 'off'").
    Pool(RunContext& ctx, std::vector<Deferred> work, std::vector<std::string> settings, int during, int after);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    /// The data of `table` is loaded.
    void table_loaded(const std::string& table);
    /// pg_restore is done.
    void restore_over();
    /// Starts nothing more and cancels what runs (pg_restore failed, or the run stops).
    void abandon();
    /// Waits until every piece is done; throws StepError (transient) with the first failure.
    void wait();
    /// Pieces not done yet.
    std::size_t pending();

private:
    void worker();
    bool run_one(common::Session*& session, std::unique_ptr<common::Session>& owned, const Deferred& w);
    bool quitting() const;

    RunContext& ctx_;
    std::vector<std::string> settings_;
    int during_, after_;
    Scheduler scheduler_;
    std::mutex mu_;
    std::condition_variable cv_;
    int running_ = 0;
    bool abandoned_ = false;
    std::string failure_;
    ErrorKind failure_kind_ = ErrorKind::fatal;  ///< Whether the failure may heal.
    std::set<common::Session*> active_;
    std::vector<std::thread> threads_;
};

}  // namespace pixrep::restore
