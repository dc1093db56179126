// Tables whose definition and rows are tonight what they were when the tool last restored them
// keep yesterday's copy of the table, its indexes and its statistics through the swap, as kept
// tables do: nothing of them is copied or indexed again. What the decision needs (unchanged.hpp)
// is kept in the tool's state after each successful run: a hash of the table's definition in
// the backup, the target table's relfilenode and its rows. From a backup, the rows are the
// SHA-256 that the dump's check computed; a table whose rows changed at its last restore (one
// written every day) is rebuilt without waiting for it, since its block may come last in the
// download and the whole build would wait. From a live source they are the snapshot's xmin, the
// row count and the source's write statistics. Tonight, a table is read once at the source
// (only when the statistics counted no write since) to check that no visible row is newer than
// that xmin and that the count is the same. A live source's table that changed a little (at most
// `changes_share` of its rows written since) keeps yesterday's copy too, and takes only its
// changes (changes.hpp) just before the swap.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <pixrep/step_export.hpp>

#include "build_names.hpp"
#include "changes.hpp"
#include "db.hpp"
#include "threads.hpp"
#include "unchanged.hpp"

namespace {

using namespace pixrep;

const char* const kPrefix = "table.";

// What a candidate's rows decided: the verdict, the key its changes go by, and the changes read
// and rows counted at a live source.
struct RowsVerdict {
    reuse::Verdict verdict;
    std::string key;
    std::optional<reuse::Changes> changes;
    std::optional<std::int64_t> live_rows;
    bool changed = false;  ///< Kept, taking its changes (read unless on a dry run).
};

struct Candidate {
    const TocEntry* table;
    const TocEntry* data;
    std::string definition;
    std::optional<reuse::Remembered> last;
};

class ReuseUnchangedStep final : public Step {
public:
    StepInfo info() const override {
        return {"reuse-unchanged", "1.0.0", "Keeps yesterday's copy of each table whose definition and rows did not change (no copy, no index build)",
                true};
    }

    void declare(OptionTable& t) override {
        t.add("enabled", enabled_, "Reuse unchanged tables; false rebuilds every table every night").env("REUSE_UNCHANGED_TABLES");
        t.add("never", never_, "Tables always rebuilt, as name or schema.name (e.g. one a later step writes to)");
        t.add("changes_share", changes_share_,
              "From a live source, the largest share of a table's rows written since the last run that is applied to yesterday's copy "
              "(by its integer primary key) instead of rebuilding the table; 0 = always rebuild a changed table")
            .env("REUSE_CHANGES_SHARE");
        t.add("changes_max_bytes", changes_max_bytes_, "The most bytes of one table's written rows held in memory to be applied; above, it is rebuilt");
        t.add("rebuild_changing", rebuild_changing_,
              "From a backup, rebuild a table whose rows changed at its last restore without waiting for its block's checksum, "
              "so that the build need not wait for the download to bring it");
    }

    void configure(Logger&) override {
        if (changes_share_ < 0 || changes_share_ > 1)
            throw StepError(ErrorKind::config, "option 'changes_share' must be between 0 and 1, got " + std::to_string(changes_share_));
        if (changes_max_bytes_ < 0) throw StepError(ErrorKind::config, "option 'changes_max_bytes' must not be negative");
        for (auto& n : never_)
            if (n.find('.') == std::string::npos) n = "public." + n;
    }

    // The table's definition, and how its rows are masked: other rules or another key rebuild it.
    static std::string definition(const RunContext& ctx, const TocEntry& table) {
        const RowFilterSpec* filter = ctx.row_filter(table.table);
        return reuse::definition_of(ctx.plan(), table) + (filter ? "+" + filter->fingerprint : "");
    }

    void prepare(RunContext& ctx) override {
        reused_.clear(), live_rows_.clear(), writes_.clear(), last_rows_.clear(), changes_.clear();
        live_ = ctx.live() != nullptr;
        if (!enabled_) return;
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
            if (candidates.back().last) last_rows_[e.table] = candidates.back().last->rows;
        }
        if (live_) read_live_source(*ctx.live());  // remembered for every table, judged or not
        const auto targets = read_targets(ctx, candidates);
        std::vector<RowsVerdict> verdicts(candidates.size());
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            const auto& c = candidates[i];
            const auto target = targets.count(c.table->table) ? targets.at(c.table->table) : reuse::TargetTable{};
            verdicts[i].verdict = reuse::judge(c.last, c.definition, target, reuse::planned_indexes(ctx.plan(), *c.table));
            verdicts[i].key = target.key;
        }
        judge_rows(ctx, candidates, verdicts);
        std::int64_t reused = 0;
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            const auto& c = candidates[i];
            auto& [verdict, key, changes, live_rows, changed] = verdicts[i];
            if (!verdict.reuse) {
                if (c.last) ctx.log().info(c.table->table + ": rebuilt: " + verdict.why, {{"table", c.table->table}});
                continue;
            }
            if (live_rows) live_rows_[c.table->table] = *live_rows;
            if (changes) changes_.push_back(std::move(*changes));
            const std::string how = changed ? "updated in place" : "reused";
            ctx.keep(c.table->id, how + ": " + verdict.why);
            ctx.keep(c.data->id, how + ": " + verdict.why);
            reused_.insert(c.table->table);
            reused += changed ? 0 : 1;
            ctx.add_note(c.table->table + ": " + how + ", " + verdict.why);
        }
        ctx.add_figure("tables_reused", static_cast<double>(reused));
        ctx.add_figure("tables_updated", static_cast<double>(changes_.size()));
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
        reuse::apply_changes(ctx, changes_);
        if (tables.empty()) return;
        const RunReport report = ctx.report();
        common::Session s(ctx.env(), "reuse-unchanged");
        s.run([&](common::Connection& c) {
            pqxx::read_transaction tx(c);
            for (const auto& [e, name] : tables) {
                auto r = tx.exec("SELECT relfilenode::bigint FROM pg_class WHERE oid = to_regclass(" + tx.quote(name) + ")");
                const std::string rows = rows_tonight(ctx, report, *e);
                auto last = last_rows_.find(e->table);
                const bool changed = !live_ && last != last_rows_.end() && last->second != rows;
                ctx.remember(kPrefix + e->table,
                             r.empty() || rows.empty() ? "" : reuse::format({definition(ctx, *e), rows, r[0][0].as<std::int64_t>(), changed}));
            }
        });
    }

private:
    // The rows last: a backup's checksum waits for the table's block to arrive (unless the rows
    // changed at the last restore too); a live source's table is counted in the snapshot unless
    // its statistics already say it was written.
    // What the rows say of a candidate its definition let through: a backup's one after another
    // (each waits for its block), a live source's side by side (each scans the source, and
    // the target when it changed), on at most four threads.
    void judge_rows(RunContext& ctx, const std::vector<Candidate>& candidates, std::vector<RowsVerdict>& verdicts) {
        std::vector<std::size_t> todo;
        for (std::size_t i = 0; i < candidates.size(); ++i)
            if (verdicts[i].verdict.reuse) todo.push_back(i);
        if (!live_) {
            for (std::size_t i : todo) verdicts[i].verdict = backup_verdict(ctx, candidates[i]);
            return;
        }
        std::atomic<std::size_t> next{0};
        std::vector<std::optional<StepError>> errors(std::min<std::size_t>(4, todo.size()));
        {
            std::vector<std::unique_ptr<common::JoinedThread>> workers;
            for (auto& error : errors)
                workers.push_back(std::make_unique<common::JoinedThread>([&] {
                    error = common::capture_error(
                        [&] {
                            for (std::size_t n; (n = next++) < todo.size() && !ctx.env().stopping();)
                                verdicts[todo[n]] = live_verdict(ctx, candidates[todo[n]], verdicts[todo[n]].key);
                        },
                        ErrorKind::transient, "judging a table's rows at the source");
                }));
        }
        for (auto& e : errors)
            if (e) throw *e;
        if (ctx.env().stopping()) throw StepError(ErrorKind::fatal, "stopped while judging the tables' rows");
    }

    reuse::Verdict backup_verdict(RunContext& ctx, const Candidate& c) const {
        if (auto v = reuse::judge_changing(*c.last); rebuild_changing_ && !v.reuse) return v;
        return reuse::judge_rows(*c.last, ctx.arrived(c.data->id).sha256);
    }

    // A live source's table whose statistics counted writes is counted anyway when its changes
    // could be applied: they are then read, or it is rebuilt. Touches no member: runs on a thread.
    RowsVerdict live_verdict(RunContext& ctx, const Candidate& c, const std::string& key) const {
        const auto t0 = std::chrono::steady_clock::now();
        RowsVerdict out{{}, key, std::nullopt, std::nullopt, false};
        out.verdict = live_rows_verdict(ctx, c, key, out);
        if (out.changes)
            ctx.log().info(c.table->table + ": changes read", {{"table", c.table->table}, {"rows_written", out.changes->written},
                                                               {"rows_deleted", out.changes->deleted}, {"bytes_read", out.changes->bytes_read},
                                                               {"duration_ms", static_cast<std::int64_t>(std::chrono::duration<double>(
                                                                                   std::chrono::steady_clock::now() - t0).count() * 1000)}});
        return out;
    }

    reuse::Verdict live_rows_verdict(RunContext& ctx, const Candidate& c, const std::string& key, RowsVerdict& out) const {
        if (auto v = reuse::judge_live(c.last->rows, snapshot_, -1); !v.reuse) return v;
        const RowFilterSpec* filter = ctx.row_filter(c.table->table);
        const bool key_rewritten = filter && std::count(filter->columns.begin(), filter->columns.end(), key) > 0;
        const bool may_change = changes_share_ > 0 && ctx.env().beside() && !key.empty() && !key_rewritten;
        auto verdict = reuse::judge_live(c.last->rows, snapshot_, writes_of(c.table->table));
        if (!verdict.reuse && !may_change) return verdict;
        const auto last = *reuse::parse_live(c.last->rows);
        const std::string name = common::quote_ident(c.table->schema) + "." + common::quote_ident(c.table->tag);
        const std::string answer = ctx.live()->query(reuse::live_count_sql(name, last)).value_or("");
        verdict = reuse::judge_live_count(last, answer);
        if (verdict.reuse) out.live_rows = last.rows;
        if (verdict.reuse || !may_change || !reuse::parse_live_count(answer)) return verdict;
        const auto tonight = *reuse::parse_live_count(answer);
        if (auto v = reuse::judge_changes(tonight, key, key_rewritten, changes_share_); !v.reuse) return v;
        std::string why;
        if (!ctx.env().dry_run()) {
            out.changes = reuse::read_changes(ctx, *c.table, *c.data, key, last, tonight, changes_max_bytes_, why);
            if (!out.changes) return {false, why};
        }
        out.live_rows = tonight.rows;
        out.changed = true;
        const std::string deleted = out.changes ? " and " + std::to_string(out.changes->deleted) + " deleted" : "";
        return {true, std::to_string(tonight.written) + " row(s) written at the source since the last restore" + deleted +
                          ", applied to yesterday's copy just before the swap (" + std::to_string(tonight.rows) + " rows)"};
    }

    // Tonight's snapshot and the source's write statistics, per "schema.table".
    void read_live_source(LiveSource& live) {
        const std::string snap = live.query("SELECT pg_snapshot_xmin(s)::text || ' ' || pg_snapshot_xmax(s)::text FROM pg_current_snapshot() s").value_or("");
        std::istringstream in(snap);
        if (!(in >> snapshot_.xmin >> snapshot_.xmax)) throw StepError(ErrorKind::transient, "reuse-unchanged: the source's snapshot gave no xmin: " + snap);
        const auto stats = live.query("SELECT coalesce(json_object_agg(schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del), '{}')::text "
                                      "FROM pg_stat_user_tables");
        const auto counted = nlohmann::json::parse(stats.value_or("{}"));
        for (const auto& [table, n] : counted.items())
            if (n.is_number_integer()) writes_[table] = n.get<std::int64_t>();
    }

    std::int64_t writes_of(const std::string& table) const {
        auto it = writes_.find(table);
        return it == writes_.end() ? -1 : it->second;
    }

    // What tonight's rows of `table` were, to be remembered: the data block's checksum, or the
    // live snapshot's xmin with the rows copied (the restorer's figure) or counted when reused.
    std::string rows_tonight(const RunContext& ctx, const RunReport& report, const TocEntry& table) const {
        if (!live_) return ctx.arrived(data_of(ctx.plan(), table)->id).sha256;
        std::int64_t rows = -1;
        if (auto it = live_rows_.find(table.table); it != live_rows_.end()) rows = it->second;
        else if (auto f = report.figures.find("rows." + table.table); f != report.figures.end()) rows = static_cast<std::int64_t>(f->second.value);
        return rows < 0 ? "" : reuse::format_live({snapshot_.xmin, rows, writes_of(table.table)});
    }

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
                auto r = tx.exec("SELECT c.relfilenode::bigint, coalesce((SELECT json_agg(json_build_array(i.relname, coalesce(obj_description(i.oid, "
                                 "'pg_class'), ''))) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), '[]'), "
                                 "coalesce((SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
                                 "WHERE x.indrelid = c.oid AND x.indisprimary AND x.indnatts = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, "
                                 "'int8'::regtype)), '') FROM pg_class c WHERE c.oid = to_regclass(" + tx.quote(name) + ") AND c.relkind = 'r'");
                if (r.empty()) continue;
                reuse::TargetTable t{true, r[0][0].as<std::int64_t>(), {}, r[0][2].as<std::string>()};
                // An index a later step marked as its own stays with the table: that step knows it.
                for (const auto& index : nlohmann::json::parse(r[0][1].as<std::string>()))
                    if (!beside::is_step_index_comment(index.at(1).get<std::string>())) t.indexes.push_back(index.at(0).get<std::string>());
                out[cand.table->table] = t;
            }
        });
        return out;
    }

    bool enabled_ = true, rebuild_changing_ = true;
    double changes_share_ = 0.25;
    std::int64_t changes_max_bytes_ = 256LL << 20;
    std::vector<reuse::Changes> changes_;             // tonight's, to be applied at commit
    std::vector<std::string> never_;
    std::map<std::string, std::string> last_rows_;   // the rows remembered at the last restore, by table
    std::set<std::string> reused_;
    bool live_ = false;
    reuse::LiveSnapshot snapshot_;
    std::map<std::string, std::int64_t> writes_;     // the source's statistics, by table
    std::map<std::string, std::int64_t> live_rows_;  // rows counted at the source, by reused table
};

}  // namespace

PIXREP_STEP(ReuseUnchangedStep)
