// Purpose-built broken plugin: its factory throws a std::runtime_error.
#include <stdexcept>

#include <pixrep/step_export.hpp>

namespace {
class ThrowingStep final : public pixrep::Step {
public:
    ThrowingStep() { throw std::runtime_error("boom: cannot initialise"); }
    pixrep::StepInfo info() const override { return {"throwing-step", "0.0.1", "throws"}; }
};
}  // namespace

PIXREP_STEP(ThrowingStep)
