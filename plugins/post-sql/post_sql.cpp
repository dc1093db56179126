// Runs SQL statements after the restore, in order, each timed (the original's "enrichment":
// an index on users' creation date, a students view).
#include <chrono>
#include <regex>

#include <pixrep/step_export.hpp>

#include "db.hpp"

namespace {

using namespace pixrep;

class PostSqlStep final : public Step {
public:
    StepInfo info() const override {
        return {"post-sql", "1.0.0", "Runs SQL statements in order once the restore is done",
                {{"statements", OptionType::string_list, std::nullopt, true, "SQL statements, run in order, each in its own transaction", ""},
                 {"pool", OptionType::boolean, OptionValue(false), false,
                  "The statements are independent: run them in pg-restore's pool, an index as soon as its table is loaded", ""}}};
    }

    void configure(const Options& o, Logger&) override {
        statements_ = o.list("statements");
        pool_ = o.boolean("pool");
        if (statements_.empty()) throw StepError(ErrorKind::config, "option 'statements' is empty");
    }

    void prepare(RunContext& ctx) override {
        if (pool_) {
            for (std::size_t i = 0; i < statements_.size(); ++i)
                ctx.deferred_sql.push_back({"post-sql:" + std::to_string(i + 1), {statements_[i]}, index_table(statements_[i]), {}, "post-sql"});
            return;
        }
        if (ctx.dry_run)
            for (const auto& s : statements_) ctx.log().info("will run after the restore", {{"sql", s}});
    }

    void execute(RunContext& ctx) override {
        if (pool_) return;
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
    // "CREATE INDEX ... ON [ONLY] users ..." -> "public.users": the table whose data it waits for.
    static std::string index_table(const std::string& sql) {
        static const std::regex re(R"(^\s*CREATE\s+(UNIQUE\s+)?INDEX\b.*?\bON\s+(ONLY\s+)?((\"[^\"]+\"|\w+)(\.(\"[^\"]+\"|\w+))?))",
                                   std::regex::icase);
        std::smatch m;
        if (!std::regex_search(sql, m, re)) return "";
        auto unquote = [](std::string s) { return s.size() > 1 && s.front() == '"' ? s.substr(1, s.size() - 2) : s; };
        if (m[5].matched) return unquote(m[4]) + "." + unquote(m[6]);
        return "public." + unquote(m[4]);
    }

    std::vector<std::string> statements_;
    bool pool_ = false;
};

}  // namespace

PIXREP_STEP(PostSqlStep)
