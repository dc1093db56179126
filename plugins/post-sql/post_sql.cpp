// Runs SQL statements after the restore, in order, each timed (the original's "enrichment":
// an index on users' creation date, a students view). An index it names is marked with a
// comment holding its statement's digest: on a table kept from yesterday (reused or updated in
// place) the index is kept with it while the statement is the same, and made again otherwise.
#include <chrono>
#include <optional>
#include <regex>

#include <pixrep/step_export.hpp>

#include "beside.hpp"
#include "db.hpp"
#include "digest.hpp"
#include "pg_errors.hpp"

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

// "CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON ..." -> name, unquoted; "" when unnamed.
std::string index_name(const std::string& sql) {
    static const std::regex re(R"(^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?(\"[^\"]+\"|\w+)\s+ON\b)",
                               std::regex::icase);
    std::smatch m;
    if (!std::regex_search(sql, m, re)) return "";
    const std::string name = m[4];
    return name.front() == '"' ? name.substr(1, name.size() - 2) : name;
}

std::string digest(const std::string& sql) {
    common::Sha256 h;
    h.update(sql.data(), sql.size());
    return h.hex();
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
        runs_.clear();
        for (const auto& sql : statements_) runs_.push_back(statements_for(ctx, sql));
        if (pool_) {
            for (std::size_t i = 0; i < statements_.size(); ++i) {
                if (runs_[i].empty()) continue;
                std::string table = index_table(statements_[i]);
                ctx.add_work({"post-sql #" + std::to_string(i + 1), table.empty() ? "SQL" : "INDEX", runs_[i], table});
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
        for (std::size_t i = 0; i < statements_.size(); ++i) {
            const std::string& sql = statements_[i];
            if (runs_[i].empty()) continue;
            auto t0 = std::chrono::steady_clock::now();
            try {
                session.run([&](common::Connection& c) {
                    pqxx::work tx(c);
                    if (names) tx.exec(beside::build_search_path(*names));
                    for (const auto& one : runs_[i]) tx.exec(names ? beside::rewrite_for_build(one, *names) : one);
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
    // What runs for `sql`: itself, then the comment marking the index it names. On a kept table
    // whose index bears tonight's mark, nothing; bearing another (the statement changed), the
    // index is dropped and made again, on the live names.
    std::vector<std::string> statements_for(RunContext& ctx, const std::string& sql) {
        const std::string name = index_name(sql), table = index_table(sql);
        if (name.empty() || table.empty()) return {sql};
        const TocEntry* kept = ctx.plan().table(table);
        const std::string mark = beside::step_index_comment("post-sql", digest(sql));
        const std::string comment = "COMMENT ON INDEX " + common::quote_ident(name) + " IS " + common::quote_literal(mark);
        if (!kept || kept->fate != Fate::kept || ctx.env().dry_run()) return {sql, comment};
        const std::string schema = common::quote_ident(kept->schema);
        const auto now = index_comment(ctx, kept->schema, name);
        if (now && *now == mark) {
            ctx.add_note(table + ": index " + name + " kept with its table (same statement)");
            return {};
        }
        // The statement's names are the live ones; a reader's lock is waited for a while only.
        return {"SELECT pg_catalog.set_config('search_path', " + common::quote_literal(kept->schema) + ", false)", "SET lock_timeout = '60s'",
                "DROP INDEX IF EXISTS " + schema + "." + common::quote_ident(name), sql, comment, "RESET lock_timeout"};
    }

    // The comment on index `name` of `schema` in the target: nullopt when there is no such index.
    static std::optional<std::string> index_comment(RunContext& ctx, const std::string& schema, const std::string& name) {
        common::Session s(ctx.env(), "post-sql");
        return s.run([&](common::Connection& c) -> std::optional<std::string> {
            pqxx::read_transaction tx(c);
            auto r = tx.exec("SELECT coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c JOIN pg_namespace n ON n.oid = "
                             "c.relnamespace WHERE c.relkind = 'i' AND n.nspname = " + tx.quote(schema) + " AND c.relname = " + tx.quote(name));
            if (r.empty()) return std::nullopt;
            return r[0][0].as<std::string>();
        });
    }

    std::vector<std::string> statements_;
    bool pool_ = false;
    std::vector<std::vector<std::string>> runs_;  // per statement, what runs for it tonight
};

}  // namespace

PIXREP_STEP(PostSqlStep)
