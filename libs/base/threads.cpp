#include "threads.hpp"

namespace pixrep::common {

std::optional<StepError> capture_error(const std::function<void()>& f, ErrorKind other, const std::string& what) {
    try {
        f();
        return std::nullopt;
    } catch (const StepError& e) {
        return e;
    } catch (const std::exception& e) {
        return StepError(other, what + ": " + e.what());
    } catch (...) {
        return StepError(other, what + ": a non-standard exception");
    }
}

}  // namespace pixrep::common
