// Purpose-built broken plugin: its factory throws the SDK's StepError, an exception whose
// vtable lives in this library. The host must turn it into its own error before unloading us.
#include <pixrep/step_export.hpp>

namespace {
class StepErrorStep final : public pixrep::Step {
public:
    StepErrorStep() { throw pixrep::StepError(pixrep::ErrorKind::input, "cannot start: missing licence file"); }
    pixrep::StepInfo info() const override { return {"step-error-step", "0.0.1", "throws StepError"}; }
};
}  // namespace

PIXREP_STEP(StepErrorStep)
