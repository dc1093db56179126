// Purpose-built plugin for the lifetime test: its step's destructor runs code of this library
// and leaves a mark in the file named by PIXREP_LIFETIME_MARK. If the host unloaded the library
// before destroying the step, that destructor would jump into unmapped memory.
#include <cstdlib>
#include <fstream>

#include <pixrep/step_export.hpp>

namespace {
class LifetimeStep final : public pixrep::Step {
public:
    ~LifetimeStep() override {
        if (const char* mark = std::getenv("PIXREP_LIFETIME_MARK")) std::ofstream(mark, std::ios::app) << "destroyed\n";
    }
    pixrep::StepInfo info() const override { return {"lifetime-step", "0.0.1", "marks its destruction"}; }
    void declare(pixrep::OptionTable& t) override { t.add("note", note_, "A bound option, so that its binding is destroyed too"); }

private:
    std::string note_ = "x";
};
}  // namespace

PIXREP_STEP(LifetimeStep)
