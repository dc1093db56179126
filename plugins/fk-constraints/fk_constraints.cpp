// Foreign keys are restored only when RESTORE_FK_CONSTRAINTS=true, as in the original: on Pix's
// data their validation was most of the night.
#include <pixrep/step_export.hpp>

namespace {

using namespace pixrep;

class FkConstraintsStep final : public Step {
public:
    StepInfo info() const override {
        return {"fk-constraints", "1.0.0", "Leaves foreign keys out of the restore unless asked to restore them",
                {{"restore", OptionType::boolean, OptionValue(false), false,
                  "Restore foreign keys; only the exact value 'true' enables it", "RESTORE_FK_CONSTRAINTS"}}};
    }

    void configure(const Options& o, Logger&) override { restore_ = o.boolean("restore"); }

    void prepare(RunContext& ctx) override {
        if (restore_) return;
        auto n = ctx.plan.exclude([](const TocEntry& e) { return e.desc == "FK CONSTRAINT"; }, "fk-constraints",
                                  "RESTORE_FK_CONSTRAINTS is not 'true'");
        ctx.log().info("foreign keys left out", {{"excluded", static_cast<std::int64_t>(n)}});
    }

private:
    bool restore_ = false;
};

}  // namespace

PIXREP_STEP(FkConstraintsStep)
