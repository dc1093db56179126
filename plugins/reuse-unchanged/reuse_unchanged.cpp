// Tables whose definition and rows are tonight what they were when the tool last restored them
// keep yesterday's table, indexes and statistics through the swap, as kept tables do: nothing
// of them is copied nor indexed again. What makes the decision (unchanged.hpp) is kept in the
// tool's state at each successful run: a hash of the table's definition in the backup, the
// SHA-256 of its rows as the dump's check computed it, and the target table's relfilenode.
// From a live source no such checksum exists without reading the rows: every table is rebuilt.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <pixrep/step_export.hpp>

#include "db.hpp"
#include "unchanged.hpp"

namespace {

using namespace pixrep;

const char* const kPrefix = "table.";

class ReuseUnchangedStep final : public Step {
public:
    StepInfo info() const override {
        return {"reuse-unchanged", "1.0.0", "Keeps yesterday's copy of each table whose definition and rows did not change (no copy, no index build)",
                true};
    }

    void declare(OptionTable& t) override {
        t.add("enabled", enabled_, "Reuse unchanged tables; false rebuilds every table every night").env("REUSE_UNCHANGED_TABLES");
        t.add("never", never_, "Tables always rebuilt, as name or schema.name (e.g. one a later step writes to)");
    }

    void configure(Logger&) override {
        for (auto& n : never_)
            if (n.find('.') == std::string::npos) n = "public." + n;
    }

    // The table's definition, and how its rows are masked: other rules or another key rebuild it.
    static std::string definition(const RunContext& ctx, const TocEntry& table) {
        const RowFilterSpec* filter = ctx.row_filter(table.table);
        return reuse::definition_of(ctx.plan(), table) + (filter ? "+" + filter->fingerprint : "");
    }

    void prepare(RunContext& ctx) override {
        reused_.clear();
        if (!enabled_) return;
        if (ctx.live()) {
            ctx.add_note("reuse-unchanged: a live source gives no checksum of a table's rows without reading them: every table is rebuilt");
            return;
        }
        struct Candidate {
            const TocEntry* table;
            const TocEntry* data;
            std::string definition;
            std::optional<reuse::Remembered> last;
        };
        std::vector<Candidate> candidates;
        for (const auto& e : ctx.plan().entries) {
            if (e.desc != "TABLE" || !e.restored() || std::find(never_.begin(), never_.end(), e.table) != never_.end()) continue;
            const TocEntry* data = data_of(ctx.plan(), e);
            if (!data) continue;
            if (auto why = reuse::ineligible(ctx.plan(), e); !why.empty()) {
                ctx.log().info(e.table + ": rebuilt every night: " + why, {{"table", e.table}});
                continue;
            }
            candidates.push_back({&e, data, definition(ctx, e), {}});
            if (auto v = ctx.recall(kPrefix + e.table)) candidates.back().last = reuse::parse(*v);
        }
        const auto targets = read_targets(ctx, candidates);
        std::int64_t reused = 0;
        for (const auto& c : candidates) {
            const auto target = targets.count(c.table->table) ? targets.at(c.table->table) : reuse::TargetTable{};
            auto planned = reuse::planned_indexes(ctx.plan(), *c.table);
            auto verdict = reuse::judge(c.last, c.definition, target, planned);
            // The rows last: their checksum waits for the table's block to arrive.
            if (verdict.reuse) verdict = reuse::judge_rows(*c.last, ctx.arrived(c.data->id).sha256);
            if (!verdict.reuse) {
                if (c.last) ctx.log().info(c.table->table + ": rebuilt: " + verdict.why, {{"table", c.table->table}});
                continue;
            }
            ctx.keep(c.table->id, "reused: " + verdict.why);
            ctx.keep(c.data->id, "reused: " + verdict.why);
            reused_.insert(c.table->table);
            ++reused;
            ctx.add_note(c.table->table + ": reused, " + verdict.why);
        }
        ctx.add_figure("tables_reused", static_cast<double>(reused));
        if (!candidates.empty())
            ctx.log().info("unchanged tables reused", {{"reused", reused}, {"tables", static_cast<std::int64_t>(candidates.size())}});
    }

    // Before the swap: tonight's tables, where they are now, and what made them.
    void commit(RunContext& ctx) override {
        if (ctx.env().dry_run()) return;
        std::vector<std::pair<const TocEntry*, std::string>> tables;  // and where tonight's is now
        for (const auto& e : ctx.plan().entries) {
            if (e.desc != "TABLE") continue;
            const bool mine = e.restored() || reused_.count(e.table);
            if (!enabled_ || !mine || !data_of(ctx.plan(), e)) {
                ctx.remember(kPrefix + e.table, "");  // appended, left out, or not judged: forgotten
                continue;
            }
            const std::string schema = reused_.count(e.table) ? e.schema : ctx.env().build_schema(e.schema);
            tables.emplace_back(&e, common::quote_ident(schema) + "." + common::quote_ident(e.tag));
        }
        if (tables.empty()) return;
        common::Session s(ctx.env(), "reuse-unchanged");
        s.run([&](common::Connection& c) {
            pqxx::read_transaction tx(c);
            for (const auto& [e, name] : tables) {
                auto r = tx.exec("SELECT relfilenode::bigint FROM pg_class WHERE oid = to_regclass(" + tx.quote(name) + ")");
                const std::string sha = ctx.arrived(data_of(ctx.plan(), *e)->id).sha256;
                if (r.empty() || sha.empty()) {
                    ctx.remember(kPrefix + e->table, "");
                    continue;
                }
                ctx.remember(kPrefix + e->table, reuse::format({definition(ctx, *e), sha, r[0][0].as<std::int64_t>()}));
            }
        });
    }

private:
    // Its rows' entry, restored tonight or kept with it.
    static const TocEntry* data_of(const RestorePlan& plan, const TocEntry& table) {
        for (const auto& e : plan.entries)
            if (e.desc == "TABLE DATA" && e.table == table.table && e.created()) return &e;
        return nullptr;
    }

    // The target's tables of the candidates that were remembered: relfilenode and index names.
    template <class Candidates>
    std::map<std::string, reuse::TargetTable> read_targets(RunContext& ctx, const Candidates& candidates) {
        std::map<std::string, reuse::TargetTable> out;
        if (std::none_of(candidates.begin(), candidates.end(), [](const auto& c) { return c.last.has_value(); })) return out;
        common::Session s(ctx.env(), "reuse-unchanged");
        s.run([&](common::Connection& c) {
            pqxx::read_transaction tx(c);
            for (const auto& cand : candidates) {
                if (!cand.last) continue;
                const std::string name = common::quote_ident(cand.table->schema) + "." + common::quote_ident(cand.table->tag);
                auto r = tx.exec("SELECT c.relfilenode::bigint, coalesce((SELECT string_agg(i.relname, E'\\n' ORDER BY i.relname) FROM pg_index x "
                                 "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), '') FROM pg_class c "
                                 "WHERE c.oid = to_regclass(" + tx.quote(name) + ") AND c.relkind = 'r'");
                if (r.empty()) continue;
                reuse::TargetTable t{true, r[0][0].as<std::int64_t>(), {}};
                std::string list = r[0][1].as<std::string>();
                for (std::size_t start = 0, p; !list.empty() && start <= list.size(); start = p + 1) {
                    p = list.find('\n', start);
                    if (p == std::string::npos) p = list.size();
                    t.indexes.push_back(list.substr(start, p - start));
                }
                out[cand.table->table] = t;
            }
        });
        return out;
    }

    bool enabled_ = true;
    std::vector<std::string> never_;
    std::set<std::string> reused_;
};

}  // namespace

PIXREP_STEP(ReuseUnchangedStep)
