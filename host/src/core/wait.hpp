#pragma once
// The one interruptible sleep of the code base: the host's retries, lock waits and schedule, and
// the steps (through RunEnv::sleep_for) all wait with it.
#include <chrono>
#include <functional>

namespace pixrep {

/// Sleeps `d`, checking `stopping` at least every 100 ms; returns false when it asked to stop.
bool sleep_unless(std::chrono::milliseconds d, const std::function<bool()>& stopping);

}  // namespace pixrep
