// Runs SQL statements after the restore, in order, each timed (the original's "enrichment":
// an index on users' creation date, a students view).
#include <chrono>

#include <pixrep/step_export.hpp>

#include "db.hpp"

namespace {

using namespace pixrep;

class PostSqlStep final : public Step {
public:
    StepInfo info() const override {
        return {"post-sql", "1.0.0", "Runs SQL statements in order once the restore is done",
                {{"statements", OptionType::string_list, std::nullopt, true, "SQL statements, run in order, each in its own transaction", ""}}};
    }

    void configure(const Options& o, Logger&) override {
        statements_ = o.list("statements");
        if (statements_.empty()) throw StepError(ErrorKind::config, "option 'statements' is empty");
    }

    void prepare(RunContext& ctx) override {
        if (ctx.dry_run)
            for (const auto& s : statements_) ctx.log().info("will run after the restore", {{"sql", s}});
    }

    void execute(RunContext& ctx) override {
        auto conn = common::connect(ctx.target_url);
        for (const auto& sql : statements_) {
            auto t0 = std::chrono::steady_clock::now();
            try {
                pqxx::work tx(*conn);
                tx.exec(sql);
                tx.commit();
            } catch (const std::exception& e) {
                std::string msg = e.what();
                if (auto p = msg.find('\n'); p != std::string::npos) msg.erase(p);
                throw StepError(ErrorKind::fatal, "statement failed: " + sql + ": " + msg);
            }
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
            ctx.log().info("statement done", {{"sql", sql}, {"duration_ms", static_cast<std::int64_t>(ms)}});
        }
    }

private:
    std::vector<std::string> statements_;
};

}  // namespace

PIXREP_STEP(PostSqlStep)
