// Example step: writes the outcome of every run to a file, for a monitoring agent to pick up.
// It shows the whole plugin surface: self-description, options declared once and bound to the
// members that store them, configure() to check them, prepare() to look at the restore plan,
// finish() to act on the outcome.
#include <fstream>

#include <pixrep/step_export.hpp>

namespace {

using namespace pixrep;

class RunMarkerStep final : public Step {
public:
    StepInfo info() const override { return {"run-marker", "1.0.0", "Writes each run's outcome (status, duration, error) to a file"}; }

    void declare(OptionTable& options) override {
        options.add("path", path_, "File to write the outcome to").env("RUN_MARKER_FILE").required();
        options.add("label", label_, "Name written before the status");
    }

    void configure(Logger&) override {
        if (label_.find('\n') != std::string::npos) throw StepError(ErrorKind::config, "option 'label' must be one line");
    }

    void prepare(RunContext& ctx) override {
        // Steps that follow a source can inspect what will be restored.
        entries_ = static_cast<long>(ctx.plan().restored_count());
        ctx.log().info("run-marker will report to " + path_, {{"entries_to_restore", static_cast<std::int64_t>(entries_)}});
    }

    void finish(RunContext& ctx, const RunOutcome& outcome) override {
        std::ofstream out(path_, std::ios::trunc);
        out << label_ << " " << (outcome.success ? "success" : "failure") << " seconds=" << outcome.seconds
            << " entries=" << entries_ << (outcome.error.empty() ? "" : " error=" + outcome.error) << "\n";
        if (!out) ctx.log().warn("cannot write " + path_);
    }

private:
    std::string path_, label_ = "replication";
    long entries_ = 0;
};

}  // namespace

PIXREP_STEP(RunMarkerStep)
