// Runs SQL statements after the restore, in order, each timed (the original's "enrichment":
// an index on users' creation date, a students view).
#include <chrono>
#include <optional>
#include <regex>

#include <pixrep/step_export.hpp>

#include "db.hpp"
#include "pg_errors.hpp"
#include "beside.hpp"

namespace {

using namespace pixrep;

// "CREATE INDEX ... ON [ONLY] users ..." -> "public.users": the table whose data it waits for.
std::string index_table(const std::string& sql) {
    static const std::regex re(R"(^\s*CREATE\s+(UNIQUE\s+)?INDEX\b.*?\bON\s+(ONLY\s+)?((\"[^\"]+\"|\w+)(\.(\"[^\"]+\"|\w+))?))",
                               std::regex::icase);
    std::smatch m;
    if (!std::regex_search(sql, m, re)) return "";
    auto unquote = [](std::string s) { return s.size() > 1 && s.front() == '"' ? s.substr(1, s.size() - 2) : s; };
    if (m[5].matched) return unquote(m[4]) + "." + unquote(m[6]);
    return "public." + unquote(m[4]);
}

class PostSqlStep final : public Step {
public:
    StepInfo info() const override { return {"post-sql", "1.0.0", "Runs SQL statements in order once the restore is done", true}; }

    void declare(OptionTable& t) override {
        t.add("statements", statements_, "SQL statements, run in order, each in its own transaction").required();
        t.add("pool", pool_, "The statements are independent: run them in pg-restore's pool, an index as soon as its table is loaded");
    }

    void configure(Logger&) override {
        if (statements_.empty()) throw StepError(ErrorKind::config, "option 'statements' is empty");
    }

    void prepare(RunContext& ctx) override {
        if (pool_) {
            for (std::size_t i = 0; i < statements_.size(); ++i) {
                std::string table = index_table(statements_[i]);
                ctx.add_work({"post-sql #" + std::to_string(i + 1), table.empty() ? "SQL" : "INDEX", {statements_[i]}, table});
            }
            return;
        }
        if (ctx.env().dry_run())
            for (const auto& s : statements_) ctx.log().info("will run after the restore", {{"sql", s}});
    }

    void execute(RunContext& ctx) override {
        if (pool_) return;
        common::Session session(ctx.env(), "post-sql");
        // Beside: into tonight's copy, before the swap; its names are those of the build schemas.
        std::optional<beside::BuildNames> names;
        if (ctx.env().beside()) {
            names = beside::build_names(ctx.plan(), [&ctx](const std::string& s) { return ctx.env().build_schema(s); });
            // What these statements create where they say goes into tonight's copy, and is swapped in.
            for (const auto& sql : statements_) names->add_created(sql);
        }
        for (const auto& sql : statements_) {
            auto t0 = std::chrono::steady_clock::now();
            try {
                session.run([&](common::Connection& c) {
                    pqxx::work tx(c);
                    if (names) tx.exec(beside::build_search_path(*names));
                    tx.exec(names ? beside::rewrite_for_build(sql, *names) : sql);
                    tx.commit();
                });
            } catch (const StepError&) {
                throw;
            } catch (const std::exception& e) {
                std::string msg = e.what();
                throw StepError(common::exception_error_kind(e), "statement failed: " + sql + ": " + msg.substr(0, msg.find('\n')));
            }
            double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            ctx.log().info("statement done", {{"sql", sql}, {"duration_ms", static_cast<std::int64_t>(s * 1000)}});
        }
    }

private:
    std::vector<std::string> statements_;
    bool pool_ = false;
};

}  // namespace

PIXREP_STEP(PostSqlStep)
