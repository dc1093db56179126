// Purpose-built broken plugin: its factory throws.
#include <stdexcept>

#include <pixrep/step_export.hpp>

namespace {
class ThrowingStep final : public pixrep::Step {
public:
    ThrowingStep() { throw std::runtime_error("boom: cannot initialise"); }
    pixrep::StepInfo info() const override { return {"throwing-step", "0.0.1", "throws", {}}; }
    void configure(const pixrep::Options&, pixrep::Logger&) override {}
};
}  // namespace

PIXREP_STEP(ThrowingStep)
