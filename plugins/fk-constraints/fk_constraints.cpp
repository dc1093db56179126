// Foreign keys are restored only when RESTORE_FK_CONSTRAINTS=true, as in the original: on Pix's
// data their validation was most of the night. When they are restored, they are added NOT VALID
// by default: the data comes from one consistent snapshot in which they held, new rows are still
// checked, and the planner still uses them; only the full-table anti-join is skipped.
#include <pixrep/step_export.hpp>

namespace {

using namespace pixrep;

// "ALTER TABLE ONLY t\n    ADD CONSTRAINT name FOREIGN KEY ..." -> "ALTER TABLE ONLY t VALIDATE CONSTRAINT name"
std::string validate_sql(const std::string& add) {
    auto at = add.find(" ADD CONSTRAINT ");
    std::string head = add.substr(0, at);
    while (!head.empty() && (head.back() == ' ' || head.back() == '\n')) head.pop_back();
    auto name_start = at + 16;
    return head + " VALIDATE CONSTRAINT " + add.substr(name_start, add.find(' ', name_start) - name_start);
}

class FkConstraintsStep final : public Step {
public:
    StepInfo info() const override {
        return {"fk-constraints", "1.1.0", "Leaves foreign keys out unless asked; restores them NOT VALID, without the validation scans"};
    }

    void declare(OptionTable& t) override {
        t.add("restore", restore_, "Restore foreign keys; only the exact value 'true' enables it").env("RESTORE_FK_CONSTRAINTS");
        t.add("not_valid", not_valid_, "Add restored foreign keys NOT VALID (no scan of both tables; pg_constraint.convalidated is false)")
            .env("FK_NOT_VALID");
        t.add("validate", validate_, "Then run VALIDATE CONSTRAINT in parallel (reads and writes go on meanwhile)").env("FK_VALIDATE");
    }

    void prepare(RunContext& ctx) override {
        if (!restore_) {
            auto n = ctx.exclude([](const TocEntry& e) { return e.desc == "FK CONSTRAINT"; }, "RESTORE_FK_CONSTRAINTS is not 'true'");
            ctx.log().info("foreign keys left out", {{"excluded", static_cast<std::int64_t>(n)}});
            return;
        }
        if (!not_valid_) return;
        std::vector<const TocEntry*> fks;
        for (const auto& e : ctx.plan().entries) {
            if (!e.restored() || e.desc != "FK CONSTRAINT") continue;
            auto semi = e.sql.rfind(';');
            const TocEntry* table = ctx.plan().table(e.table);
            // Partitioned tables cannot take NOT VALID foreign keys: pg_restore adds those as usual.
            if (semi == std::string::npos || e.sql.find("FOREIGN KEY") == std::string::npos ||
                (table && table->sql.find("PARTITION BY") != std::string::npos))
                continue;
            fks.push_back(&e);
        }
        for (const TocEntry* e : fks) {
            const DumpId id = e->id;
            const std::string add = e->sql.substr(0, e->sql.rfind(';')) + " NOT VALID", tag = e->tag;
            const auto deps = e->deps;
            ctx.defer(id, {tag, "FK CONSTRAINT", {add}, "", deps}, "added NOT VALID after the data, without the validation scan");
            if (validate_) ctx.add_work({tag + " (validate)", "FK VALIDATE", {validate_sql(add)}, "", {id}});
        }
        ctx.log().info("foreign keys deferred as NOT VALID", {{"count", static_cast<std::int64_t>(fks.size())}, {"validate", validate_}});
    }

private:
    bool restore_ = false, not_valid_ = true, validate_ = false;
};

}  // namespace

PIXREP_STEP(FkConstraintsStep)
