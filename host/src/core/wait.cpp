#include "wait.hpp"

#include <algorithm>
#include <thread>

namespace pixrep {

bool sleep_unless(std::chrono::milliseconds d, const std::function<bool()>& stopping) {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + d;
    for (;;) {
        if (stopping && stopping()) return false;
        auto now = Clock::now();
        if (now >= until) return true;
        std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(100), until - now));
    }
}

}  // namespace pixrep
