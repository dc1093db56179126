#include "watchdog.hpp"

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <pixrep/log.hpp>

namespace pixrep::watchdog {
namespace {

using Clock = std::chrono::steady_clock;

struct State {
    std::mutex mu;
    std::chrono::seconds grace{20};
    std::optional<Clock::time_point> deadline;
    std::string why;
    int code = 1;
};

State& state() {
    static State s;
    return s;
}

}  // namespace

void start(Logger& log, std::chrono::seconds grace) {
    state().grace = grace;
    std::thread([&log] {
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            std::lock_guard<std::mutex> lock(state().mu);
            if (!state().deadline || Clock::now() < *state().deadline) continue;
            log.error(state().why + "; the run has not ended " + std::to_string(state().grace.count()) +
                      " s later (a call that cannot be interrupted): exiting now; the next run cleans up");
            std::cout.flush();
            std::_Exit(state().code);
        }
    }).detach();
}

void arm(const std::string& why, int code) {
    std::lock_guard<std::mutex> lock(state().mu);
    if (state().deadline) return;
    state().deadline = Clock::now() + state().grace;
    state().why = why;
    state().code = code;
}

void disarm() {
    std::lock_guard<std::mutex> lock(state().mu);
    state().deadline.reset();
}

}  // namespace pixrep::watchdog
