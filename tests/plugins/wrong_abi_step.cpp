// Purpose-built broken plugin: claims an ABI the host does not speak.
#define PIXREP_STEP_ABI_STAMP 0
#include <pixrep/step_export.hpp>

namespace {
class WrongAbiStep final : public pixrep::Step {
public:
    pixrep::StepInfo info() const override { return {"wrong-abi-step", "0.0.1", "built for ABI 0"}; }
};
}  // namespace

PIXREP_STEP(WrongAbiStep)
