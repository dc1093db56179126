#pragma once
// Every call into a plugin goes through guarded(): whatever the plugin throws is turned into a
// StepError made by the host, while the plugin's library is still loaded. An exception object
// whose vtable lives in a plugin must never outlive that plugin (Boost.DLL's "missuses").
#include <exception>
#include <string>
#include <utility>

#include <pixrep/step.hpp>

namespace pixrep {

/// Calls `f`; rethrows any exception as a host-made StepError whose message starts with
/// `prefix`. A StepError keeps its kind and retry hint unless `force` is set; anything else
/// becomes `other`, or what `classify` says of its message when given.
template <class F>
decltype(auto) guarded(const std::string& prefix, ErrorKind other, F&& f, bool force = false,
                       ErrorKind (*classify)(const std::string&) = nullptr) {
    std::string msg;
    ErrorKind kind = other;
    std::chrono::milliseconds retry_after{0};
    try {
        return std::forward<F>(f)();
    } catch (const StepError& e) {
        msg = e.what(), kind = e.kind(), retry_after = e.retry_after();
    } catch (const std::exception& e) {
        msg = e.what();
        if (classify) kind = classify(msg);
    } catch (...) {
        msg = "a non-standard exception";
    }
    throw StepError(force ? other : kind, prefix + msg, retry_after);
}

}  // namespace pixrep
