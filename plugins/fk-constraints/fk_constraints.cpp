// Foreign keys are restored only when RESTORE_FK_CONSTRAINTS=true, as in the original: on Pix's
// data their validation was most of the night. When they are restored, they are added NOT VALID
// by default: the data comes from one consistent snapshot in which they held, new rows are still
// checked, and the planner still uses them; only the full-table anti-join is skipped.
#include <pixrep/step_export.hpp>

namespace {

using namespace pixrep;

class FkConstraintsStep final : public Step {
public:
    StepInfo info() const override {
        return {"fk-constraints", "1.1.0", "Leaves foreign keys out unless asked; restores them NOT VALID, without the validation scans",
                {{"restore", OptionType::boolean, OptionValue(false), false,
                  "Restore foreign keys; only the exact value 'true' enables it", "RESTORE_FK_CONSTRAINTS"},
                 {"not_valid", OptionType::boolean, OptionValue(true), false,
                  "Add restored foreign keys NOT VALID (no scan of both tables; pg_constraint.convalidated is false)", "FK_NOT_VALID"},
                 {"validate", OptionType::boolean, OptionValue(false), false,
                  "Then run VALIDATE CONSTRAINT in parallel (reads and writes go on meanwhile)", "FK_VALIDATE"}}};
    }

    void configure(const Options& o, Logger&) override {
        restore_ = o.boolean("restore");
        not_valid_ = o.boolean("not_valid");
        validate_ = o.boolean("validate");
    }

    void prepare(RunContext& ctx) override {
        if (!restore_) {
            auto n = ctx.plan.exclude([](const TocEntry& e) { return e.desc == "FK CONSTRAINT"; }, "fk-constraints",
                                      "RESTORE_FK_CONSTRAINTS is not 'true'");
            ctx.log().info("foreign keys left out", {{"excluded", static_cast<std::int64_t>(n)}});
            return;
        }
        if (!not_valid_) return;
        std::vector<int> ids;
        for (const auto& e : ctx.plan.entries) {
            if (!e.kept() || e.desc != "FK CONSTRAINT") continue;
            auto semi = e.sql.rfind(';');
            const TocEntry* table = e.deps.empty() ? nullptr : ctx.plan.find(e.deps.front());
            // Partitioned tables cannot take NOT VALID foreign keys: pg_restore adds those as usual.
            if (semi == std::string::npos || e.sql.find("FOREIGN KEY") == std::string::npos ||
                (table && table->sql.find("PARTITION BY") != std::string::npos))
                continue;
            std::string add = e.sql.substr(0, semi) + " NOT VALID";
            std::vector<std::string> sql{add};
            ctx.deferred_sql.push_back({"toc:" + std::to_string(e.id), sql, "", e.deps, "fk-constraints"});
            if (validate_) {
                // "ALTER TABLE ONLY t\n    ADD CONSTRAINT name FOREIGN KEY ..." -> VALIDATE CONSTRAINT name
                auto head = e.sql.substr(0, e.sql.find(" ADD CONSTRAINT "));
                auto name_start = e.sql.find(" ADD CONSTRAINT ") + 16;
                auto name = e.sql.substr(name_start, e.sql.find(' ', name_start) - name_start);
                while (!head.empty() && (head.back() == ' ' || head.back() == '\n')) head.pop_back();
                ctx.deferred_sql.push_back({"validate:" + std::to_string(e.id), {head + " VALIDATE CONSTRAINT " + name}, "", {e.id},
                                            "fk-constraints"});
            }
            ids.push_back(e.id);
        }
        for (int id : ids) ctx.plan.defer(id, "fk-constraints", "added NOT VALID after the data, without the validation scan");
        ctx.log().info("foreign keys deferred as NOT VALID", {{"count", static_cast<std::int64_t>(ids.size())}, {"validate", validate_}});
    }

private:
    bool restore_ = false, not_valid_ = true, validate_ = false;
};

}  // namespace

PIXREP_STEP(FkConstraintsStep)
