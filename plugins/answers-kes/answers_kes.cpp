// The big tables (answers, knowledge-elements) are restored only when RESTORE_ANSWERS_AND_KES=true.
// Tables are matched by identity (schema and exact name) and everything that depends on them goes
// with them; the original's regular expression also caught unrelated objects such as
// "user-answers-stats".
#include <algorithm>

#include <pixrep/step_export.hpp>

namespace {

using namespace pixrep;

std::string qualified(const std::string& name) { return name.find('.') == std::string::npos ? "public." + name : name; }

class AnswersKesStep final : public Step {
public:
    StepInfo info() const override {
        return {"answers-kes", "1.0.0", "Leaves the big tables out unless asked, or restores them with their analytics indexes"};
    }

    void declare(OptionTable& t) override {
        t.add("restore", restore_, "Restore the tables; only the exact value 'true' enables it").env("RESTORE_ANSWERS_AND_KES");
        t.add("tables", tables_, "Tables concerned, as name or schema.name");
        t.add("analytics_indexes", indexes_, "When restored, also build the original's analytics indexes on answers and knowledge-elements");
    }

    void configure(Logger&) override {
        if (tables_.empty()) throw StepError(ErrorKind::config, "option 'tables' is empty");
        for (auto& t : tables_) t = qualified(t);
    }

    void prepare(RunContext& ctx) override {
        auto listed = [&](const std::string& t) { return std::find(tables_.begin(), tables_.end(), t) != tables_.end(); };
        if (!restore_) {
            auto n = ctx.exclude([&](const TocEntry& e) { return e.desc == "TABLE" && listed(e.table); }, "RESTORE_ANSWERS_AND_KES is not 'true'");
            std::string names;
            for (const auto& t : tables_) names += (names.empty() ? "" : ", ") + t;
            ctx.log().info("big tables left out", {{"tables", names}, {"entries_excluded", static_cast<std::int64_t>(n)}});
            return;
        }
        if (!indexes_) return;
        // The original built these after the restore, one by one; the restorer starts each as
        // soon as its table's data is in, beside the other indexes.
        const TocEntry* kes = ctx.plan().table("public.knowledge-elements");
        if (kes && kes->restored() && listed(kes->table))
            ctx.add_work({"knowledge-elements_createdAt_idx", "INDEX",
                          {"CREATE INDEX \"knowledge-elements_createdAt_idx\" ON public.\"knowledge-elements\" "
                           "((cast(\"createdAt\" AT TIME ZONE 'UTC+1' AS date)) DESC)"},
                          kes->table});
        const TocEntry* answers = ctx.plan().table("public.answers");
        if (answers && answers->restored() && listed(answers->table))
            ctx.add_work({"answers_challengeId_idx", "INDEX", {"CREATE INDEX \"answers_challengeId_idx\" ON public.answers (\"challengeId\")"},
                          answers->table});
    }

private:
    bool restore_ = false, indexes_ = true;
    std::vector<std::string> tables_{"answers", "knowledge-elements"};
};

}  // namespace

PIXREP_STEP(AnswersKesStep)
