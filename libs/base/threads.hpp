#pragma once
// Threads whose exceptions cannot abort the process: an exception escaping a thread's function,
// or a joinable std::thread destroyed while an exception unwinds, calls std::terminate.
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <pixrep/step.hpp>

namespace pixrep::common {

/// Runs `f`; whatever it throws comes back as a StepError (a StepError as it is, anything else
/// of kind `other`, its message after `what`), nullopt when it returned.
std::optional<StepError> capture_error(const std::function<void()>& f, ErrorKind other, const std::string& what);

/// A std::thread joined by its destructor, whatever unwinds past it.
class JoinedThread {
public:
    explicit JoinedThread(std::function<void()> f) : thread_(std::move(f)) {}
    ~JoinedThread() { join(); }
    JoinedThread(const JoinedThread&) = delete;
    JoinedThread& operator=(const JoinedThread&) = delete;
    /// Waits for the thread, once.
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    std::thread thread_;
};

}  // namespace pixrep::common
