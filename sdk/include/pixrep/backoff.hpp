#pragma once
// The one backoff of the code base, shared by the host's retries and the steps' HTTP calls.
#include <algorithm>
#include <chrono>

namespace pixrep {

/// Waits between attempts: `first`, doubled after each attempt, never more than `cap`; a hint
/// (a server's Retry-After, a step's retry_after) wins when it is longer, even beyond the cap.
class Backoff {
public:
    /// A backoff starting at `first` and capped at `cap`.
    Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap) : next_(first), cap_(cap) {}
    /// The wait before the next attempt, at least `hint`; later waits double.
    std::chrono::milliseconds next(std::chrono::milliseconds hint = std::chrono::milliseconds(0)) {
        auto wait = std::max(std::min(next_, cap_), hint);
        next_ = std::min(next_ * 2, cap_);
        return wait;
    }

private:
    std::chrono::milliseconds next_, cap_;
};

}  // namespace pixrep
