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
        return {"answers-kes", "1.0.0", "Leaves the big tables out unless asked, or restores them with their analytics indexes",
                {{"restore", OptionType::boolean, OptionValue(false), false,
                  "Restore the tables; only the exact value 'true' enables it", "RESTORE_ANSWERS_AND_KES"},
                 {"tables", OptionType::string_list, OptionValue(std::vector<std::string>{"answers", "knowledge-elements"}), false,
                  "Tables concerned, as name or schema.name", ""},
                 {"analytics_indexes", OptionType::boolean, OptionValue(true), false,
                  "When restored, also build the original's analytics indexes on answers and knowledge-elements", ""}}};
    }

    void configure(const Options& o, Logger&) override {
        restore_ = o.boolean("restore");
        indexes_ = o.boolean("analytics_indexes");
        tables_.clear();
        for (const auto& t : o.list("tables")) tables_.push_back(qualified(t));
        if (tables_.empty()) throw StepError(ErrorKind::config, "option 'tables' is empty");
    }

    void prepare(RunContext& ctx) override {
        auto listed = [&](const std::string& t) { return std::find(tables_.begin(), tables_.end(), t) != tables_.end(); };
        if (!restore_) {
            auto n = ctx.plan.exclude([&](const TocEntry& e) { return e.desc == "TABLE" && listed(e.schema + "." + e.tag); },
                                      "answers-kes", "RESTORE_ANSWERS_AND_KES is not 'true'");
            ctx.log().info("big tables left out", {{"tables", join()}, {"entries_excluded", static_cast<std::int64_t>(n)}});
            return;
        }
        if (!indexes_) return;
        // The original built these after the restore, one by one.
        for (const auto& e : ctx.plan.entries) {
            if (e.desc != "TABLE" || !e.kept()) continue;
            std::string t = e.schema + "." + e.tag;
            // Started by pg-restore's pool as soon as the table's data is in, beside the other indexes.
            if (t == "public.knowledge-elements" && listed(t))
                ctx.deferred_sql.push_back({"analytics:knowledge-elements",
                                            {"CREATE INDEX \"knowledge-elements_createdAt_idx\" ON public.\"knowledge-elements\" "
                                             "((cast(\"createdAt\" AT TIME ZONE 'UTC+1' AS date)) DESC)"},
                                            t, {e.id}, "answers-kes"});
            if (t == "public.answers" && listed(t))
                ctx.deferred_sql.push_back({"analytics:answers", {"CREATE INDEX \"answers_challengeId_idx\" ON public.answers (\"challengeId\")"},
                                            t, {e.id}, "answers-kes"});
        }
    }

private:
    std::string join() const {
        std::string s;
        for (const auto& t : tables_) s += (s.empty() ? "" : ", ") + t;
        return s;
    }
    bool restore_ = false, indexes_ = true;
    std::vector<std::string> tables_;
};

}  // namespace

PIXREP_STEP(AnswersKesStep)
