#pragma once
// A source's transfer on a thread of the host's: the dump keeps arriving while the next steps
// prepare and build beside the live copy; a step waits only for the blocks it reads, and the run
// waits for the whole dump, verified, before anything is swapped in. Whatever the transfer
// throws is kept as a host-made StepError, so no exception of the plugin outlives its call.
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <pixrep/context.hpp>
#include <pixrep/step.hpp>

namespace pixrep {

class Transfer {
public:
    /// Called on the transfer's thread with what Arrival::toc() was given.
    using Adopt = std::function<void(Backup, RestorePlan)>;

    /// Starts `body` for step `source`, seeing `env` and logging through `log` (tagged).
    Transfer(std::string source, const RunEnv& env, Logger& log, std::function<void(Arrival&)> body, Adopt adopt,
             std::function<void(const std::string&, double, Unit)> add_figure, std::function<bool(DumpId)> read_by_a_step);
    /// Joins the thread; the caller makes env.stopping() true first if it must not wait long.
    ~Transfer();
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;

    /// Waits until the table of contents was handed over, or the transfer ended; throws its error.
    void wait_toc();
    /// Waits until the transfer ended; throws its error.
    void wait_done();
    /// Entry `id`'s arrival, waiting for it; nullopt once the transfer is over without it.
    /// Throws the transfer's error, or StepError(fatal) when `stopping` says so.
    std::optional<Arrived> wait_for(DumpId id, const std::function<bool()>& stopping) const;
    /// The transfer's error, once it failed.
    std::optional<StepError> failure() const;
    /// Every arrival so far.
    std::map<DumpId, Arrived> arrivals() const;
    /// The source step's name.
    const std::string& source() const { return source_; }

private:
    class Sink;
    void run(std::function<void(Arrival&)> body);

    std::string source_;
    const RunEnv& env_;
    Logger& log_;
    Adopt adopt_;
    std::function<void(const std::string&, double, Unit)> add_figure_;
    std::function<bool(DumpId)> read_by_a_step_;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    bool toc_ = false, done_ = false;
    std::optional<StepError> error_;
    std::map<DumpId, Arrived> arrived_;
    std::thread thread_;
};

}  // namespace pixrep
