// Empties the target of the previous replica: every object the target role owns outside the
// system schemas and the tool's own schema, dropped by kind in one transaction, so that a
// failure (or a stop) leaves the previous copy whole. Not DROP OWNED: that also removed the
// default privileges the readers' access rests on, and would drop the tool's own schema.
// Tables the plan keeps (incremental) stay, with what they need (indexes, sequences, the types
// of their columns...), which the plan then keeps too; what hangs on them and comes back with
// the restore (foreign keys, triggers) is dropped first, and the drop is rolled back if a kept
// table lost a column anyway.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <pixrep/step_export.hpp>

#include "beside.hpp"
#include "db.hpp"
#include "drop_sql.hpp"
#include "pg_errors.hpp"

namespace {

using namespace pixrep;
using Clock = std::chrono::steady_clock;

std::vector<drop::Object> objects(pqxx::transaction_base& tx, const std::string& sql) {
    std::vector<drop::Object> out;
    for (const auto& r : tx.exec(sql))
        out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>()});
    return out;
}

std::string listed(const std::vector<std::string>& items) {
    std::string s;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, items.size()); ++i) s += (i ? ", " : "") + items[i];
    return s + (items.size() > 5 ? ", ..." : "");
}

class DropObjectsStep final : public Step {
public:
    StepInfo info() const override {
        return {"drop-objects", "1.0.0", "Drops every object the target role owns (but the tool's own schema), then recreates schema public if needed",
                true, false, true};
    }

    void declare(OptionTable& t) override {
        t.add("ensure_schemas", schemas_, "Schemas that must exist after the drop (the dump assumes public exists)");
        t.add("lock_timeout", lock_budget_, "How long the drop may wait, in all, for readers' locks on the replica's tables")
            .env("DROP_LOCK_TIMEOUT");
        t.add("lock_try", lock_try_, "How long one try waits for a lock; new readers queue behind it only this long");
        t.add("keep_previous", keep_previous_,
              "Beside: keep yesterday's copy, renamed, until the next run (`pix-db-replication rollback` swaps it back)")
            .env("KEEP_PREVIOUS");
    }

    void configure(Logger&) override {
        if (lock_try_ < std::chrono::milliseconds(100)) throw StepError(ErrorKind::config, "option 'lock_try' must be at least 100ms");
    }

    void check(const RunEnv& env, Logger&) override {
        if (env.dry_run()) return;
        common::Session s(env, "drop-objects check", true);
        s.run([&](common::Connection& c) {
            pqxx::read_transaction tx(c);
            auto r = tx.exec("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user");
            if (!r.empty() && r[0][1].as<bool>())
                throw StepError(ErrorKind::config, "DATABASE_URL connects as superuser '" + r[0][0].as<std::string>() +
                                                       "': refusing to DROP OWNED BY a superuser, which would drop objects of the whole "
                                                       "cluster; connect as the role that owns the target database");
        });
    }

    void prepare(RunContext& ctx) override {
        const std::string& home = ctx.env().home_schema();
        if (auto clash = drop::in_schema(ctx.plan(), home); !clash.empty())
            throw StepError(ErrorKind::input, "the backup holds " + std::to_string(clash.size()) + " object(s) in schema '" + home +
                                                  "', the tool's own schema in the target (" + listed(clash) +
                                                  "): set REPLICATION_SCHEMA to another name");
        std::vector<std::string> taken;
        for (const auto& e : ctx.plan().entries)
            if (e.created() && ((e.desc == "SCHEMA" && beside::is_tool_schema(home, e.tag)) ||
                                (e.schema != "-" && e.schema != home && beside::is_tool_schema(home, e.schema))))
                taken.push_back(e.desc + " " + e.qualified());
        if (!taken.empty())
            throw StepError(ErrorKind::input, "the backup holds " + std::to_string(taken.size()) + " object(s) in schemas named like the tool's " +
                                                  "build schemas (" + home + "_build_*, " + home + "_prev_*): " + listed(taken) +
                                                  "; set REPLICATION_SCHEMA to another name");
        const auto kept = beside::kept_tables(ctx.plan());
        kept_.assign(kept.begin(), kept.end());
        if (ctx.env().dry_run() && kept_.empty() && !ctx.env().beside()) return;
        // Checked before anything is dropped: who we are, and what we could not drop.
        common::Session s(ctx.env(), "drop-objects");
        s.run([&](common::Connection& c) {
            pqxx::read_transaction tx(c);
            keep_support(ctx, tx);
            if (ctx.env().beside() && ctx.env().dry_run()) room(ctx, tx);  // a real run's report has both sizes (pg-restore)
            if (ctx.env().dry_run()) return;
            auto r = tx.exec("SELECT current_user");
            std::set<std::string> schemas{"public"};
            for (const auto& e : ctx.plan().entries)
                if (e.created() && e.schema != "-") schemas.insert(e.schema);
            auto clash = drop::collisions(ctx.plan(), objects(tx, drop::foreign_objects_sql({schemas.begin(), schemas.end()})));
            if (clash.empty()) return;
            std::vector<std::string> names;
            for (const auto& o : clash) names.push_back(o.kind + " " + (o.schema.empty() ? "" : o.schema + ".") + o.name + " (owner " + o.owner + ")");
            throw StepError(ErrorKind::config, "the target already holds " + std::to_string(clash.size()) +
                                                   " object(s) the backup brings, owned by another role, which " + r[0][0].as<std::string>() +
                                                   " cannot drop: " + listed(names) + "; drop them, or have their owner do it");
        });
    }

    void execute(RunContext& ctx) override {
        common::Session s(ctx.env(), "drop-objects");
        if (ctx.env().beside()) return clean_up(ctx, s);
        sliced(ctx, s, "drop", [&](std::chrono::milliseconds wait, int tries) {
            auto [role, dropped] = drop_all(ctx, s, wait);
            dropped_at_ = Clock::now();
            ctx.log().info("dropped every object owned by " + role + " (but schema " + ctx.env().home_schema() +
                               (kept_.empty() ? "" : " and " + std::to_string(kept_.size()) + " kept table(s)") + ")",
                           {{"objects_dropped", dropped}, {"tries", static_cast<std::int64_t>(tries)}});
        });
    }

    // Beside: tonight's copy is complete and checked; one short transaction makes it the live one.
    void commit(RunContext& ctx) override {
        if (!ctx.env().beside()) return;
        common::Session s(ctx.env(), "drop-objects swap");
        const auto t0 = Clock::now();
        Swapped done;
        sliced(ctx, s, "swap", [&](std::chrono::milliseconds wait, int tries) {
            done = swap(ctx, s, wait);
            done.tries = tries;
        });
        remake_.clear();  // tonight's copy brings its own, made after the swap
        const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
        ctx.add_figure("swap_seconds", done.held, Unit::seconds);
        ctx.add_figure("swap_wait_seconds", waited - done.held, Unit::seconds);
        const std::string what = "tonight's copy swapped in: " + std::to_string(done.moved_in) + " object(s) in, " +
                                 std::to_string(done.moved_out) + " of yesterday's out, in one transaction holding readers for at most " +
                                 std::to_string(static_cast<int>(done.held * 1000)) + " ms";
        ctx.log().info(what, {{"moved_in", done.moved_in}, {"moved_out", done.moved_out}, {"held_ms", static_cast<std::int64_t>(done.held * 1000)},
                              {"tries", static_cast<std::int64_t>(done.tries)}, {"waited_ms", static_cast<std::int64_t>(waited * 1000)}});
        ctx.add_note(what + (done.tries > 1 ? " (after " + std::to_string(done.tries - 1) + " tries that gave way to readers' locks)" : ""));
        if (keep_previous_) {
            ctx.add_note("yesterday's copy is kept in " + listed(done.previous) + " until the next run (`pix-db-replication rollback` swaps it back)");
            return;
        }
        drop_previous(ctx, s, done.previous);
    }

private:
    struct Swapped {
        std::int64_t moved_in = 0, moved_out = 0;
        double held = 0;
        int tries = 1;
        std::vector<std::string> previous;
    };

    // Runs `f(wait, tries)` until it gets its locks: each try waits at most `lock_try` for one, so
    // new readers queue behind it only that long; a reader's long query delays it, never the reverse.
    template <class F>
    void sliced(RunContext& ctx, common::Session& s, const std::string& what, F&& f) {
        const auto t0 = Clock::now();
        for (int tries = 1;; ++tries) {
            try {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(lock_budget_ - (Clock::now() - t0));
                f(std::clamp(left, std::chrono::milliseconds(100), lock_try_), tries);
                return;
            } catch (const pqxx::sql_error& e) {
                if (e.sqlstate() != "55P03") throw;  // lock_not_available
            }
            if (Clock::now() - t0 >= lock_budget_) throw blocked(s, Clock::now() - t0, what);
            if (!ctx.env().sleep_for(std::chrono::seconds(1))) throw StepError(ErrorKind::fatal, "stopped while waiting for readers' locks");
        }
    }

    // Planned once a session: the catalogue's query is a union over every catalog it lists, whose
    // planning alone took 25 ms a call, several calls a swap while readers wait.
    static std::vector<beside::Movable> movables(pqxx::transaction_base& tx, const std::string& schema) {
        if (!tx.exec("SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = 'pixrep_movables')")[0][0].as<bool>())
            tx.exec("PREPARE pixrep_movables (name) AS " + beside::movable_sql());
        std::vector<beside::Movable> out;
        for (const auto& r : tx.exec("EXECUTE pixrep_movables (" + tx.quote(schema) + ")"))
            out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>()});
        return out;
    }

    static bool holds_extension(pqxx::transaction_base& tx, const std::string& schema) {
        return tx.exec("SELECT EXISTS (SELECT 1 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = " +
                       tx.quote(schema) + ")")[0][0].as<bool>();
    }

    static bool schema_exists(pqxx::transaction_base& tx, const std::string& schema) {
        return tx.exec("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = " + tx.quote(schema) + ")")[0][0].as<bool>();
    }

    // The moves of one swap transaction, and what they moved.
    struct Moves {
        pqxx::work& tx;
        const std::string& home;
        std::vector<drop::Object> support;                         ///< What kept tables need (kept_support_sql).
        std::set<std::pair<std::string, std::string>> kept_names;  ///< What the plan keeps on the target, whoever kept it (BuildNames::kept).
        Swapped out;

        // Yesterday's objects of `live` out to its previous-copy schema, but what is kept.
        void move_out(const std::string& live) {
            const std::string prev = beside::previous_schema_name(home, live);
            tx.exec("CREATE SCHEMA " + common::sql_name(prev));
            std::vector<std::string> stayed;
            for (const auto& m : movables(tx, live)) {
                if (drop::is_kept(support, m.kind, m.schema, m.name) || kept_names.count({m.schema, m.name})) {
                    stayed.push_back(m.kind + " " + m.name);
                    continue;
                }
                tx.exec(beside::move_statement(m, prev));
                ++out.moved_out;
            }
            tx.exec("COMMENT ON SCHEMA " + common::sql_name(prev) + " IS " + tx.quote(beside::previous_comment(live, stayed)));
            out.previous.push_back(prev);
        }

        // Tonight's objects of `build` (`tonight`, listed before) into `live`, or `build` renamed
        // into place when `live` is new; what could not move fails the swap, which then changes nothing.
        void move_in(const std::string& live, const std::string& build, const std::vector<beside::Movable>& tonight) {
            if (!schema_exists(tx, live)) {
                tx.exec("ALTER SCHEMA " + common::sql_name(build) + " RENAME TO " + common::sql_name(live));
                ++out.moved_in;
                return;
            }
            move_out(live);
            for (const auto& m : tonight) {
                tx.exec(beside::move_statement(m, live));
                ++out.moved_in;
            }
            std::vector<std::string> left;
            for (const auto& r : tx.exec("SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend WHERE refclassid = "
                                         "'pg_namespace'::regclass AND refobjid = (SELECT oid FROM pg_namespace WHERE nspname = " + tx.quote(build) +
                                         ") ORDER BY 1"))
                left.push_back(r[0].as<std::string>());
            if (!left.empty())
                throw StepError(ErrorKind::fatal, "the swap cannot move " + std::to_string(left.size()) + " object(s) of tonight's copy out of " +
                                                      build + " (" + listed(left) + "); the live copy is as it was");
            tx.exec("DROP SCHEMA " + common::sql_name(build));
        }

        // A schema of yesterday's copy that tonight's backup no longer has, whole.
        void retire(const std::string& schema) {
            const std::string prev = beside::previous_schema_name(home, schema);
            tx.exec("ALTER SCHEMA " + common::sql_name(schema) + " RENAME TO " + common::sql_name(prev));
            tx.exec("COMMENT ON SCHEMA " + common::sql_name(prev) + " IS " + tx.quote(beside::previous_comment(schema, {})));
            out.previous.push_back(prev);
        }
    };

    // Yesterday's objects out to the previous-copy schemas, tonight's in from the build schemas,
    // by name (ALTER ... SET SCHEMA: metadata only); kept tables and what they need stay.
    Swapped swap(RunContext& ctx, common::Session& s, std::chrono::milliseconds lock_wait) {
        return s.run([&](common::Connection& c) {
            pqxx::work tx(c);
            // The generic plan of movables() at once: its first five runs would be planned again each.
            tx.exec("SET LOCAL lock_timeout = '" + std::to_string(lock_wait.count()) + "ms'; SET LOCAL plan_cache_mode = force_generic_plan");
            const std::string& home = ctx.env().home_schema();
            const auto names = beside::build_names(ctx.plan(), [&](const std::string& sc) { return ctx.env().build_schema(sc); });
            // Tonight's tables first: no reader uses them, so waiting for them holds nobody.
            std::map<std::string, std::vector<beside::Movable>> tonight_objects;
            for (const auto& [live, build] : names.schemas) {
                auto& objects = tonight_objects[build] = movables(tx, build);
                if (auto lock = beside::lock_statement(objects); !lock.empty()) tx.exec(lock);
            }
            const auto t = Clock::now();  // from here on, readers may queue behind the swap
            Moves moves{tx, home, {}, {}, {}};
            if (!kept_.empty()) {
                moves.support = objects(tx, drop::kept_support_sql(kept_));
                for (const auto& r : tx.exec(drop::kept_dependents_sql(kept_, beside::build_schema_pattern(home)))) tx.exec(r[0].as<std::string>());
            }
            if (auto found = others_views(ctx, tx); !found.empty()) others_views_ = std::move(found);
            moves.kept_names = names.kept;
            for (const auto& [live, build] : names.schemas) moves.move_in(live, build, tonight_objects[build]);
            for (const auto& sql : beside::remade_in_swap(ctx.plan())) tx.exec(sql);
            // Tonight's schemas that nothing is built in (an extension's): yesterday's objects of
            // ours there go; the schema, and what the extension made, stay.
            std::set<std::string> tonight;
            for (const auto& e : ctx.plan().entries)
                if (e.desc == "SCHEMA" && e.created()) tonight.insert(e.tag);
            for (const auto& live : tonight)
                if (!names.schemas.count(live) && schema_exists(tx, live) && !movables(tx, live).empty()) moves.move_out(live);
            // Schemas of yesterday's copy that tonight's backup no longer has go whole, but one
            // holding an extension: its members are not ours to drop.
            for (const auto& r : tx.exec(drop::owned_schemas_sql(home))) {
                const std::string schema = r[0].as<std::string>();
                if (!names.schemas.count(schema) && !tonight.count(schema) && !beside::is_tool_schema(home, schema) && schema != "public" &&
                    !std::count(schemas_.begin(), schemas_.end(), schema) && !holds_extension(tx, schema))
                    moves.retire(schema);
            }
            tx.commit();
            moves.out.held = std::chrono::duration<double>(Clock::now() - t).count();
            return moves.out;
        });
    }

    // One of the tool's own schemas, whole, taking its locks in slices.
    void drop_schema(RunContext& ctx, common::Session& s, const std::string& schema, const std::string& what) {
        sliced(ctx, s, what, [&](std::chrono::milliseconds wait, int) {
            s.run([&](common::Connection& c) {
                pqxx::work tx(c);
                tx.exec("SET LOCAL lock_timeout = '" + std::to_string(wait.count()) + "ms'");
                tx.exec("DROP SCHEMA IF EXISTS " + common::sql_name(schema) + " CASCADE");
                tx.commit();
            });
        });
    }

    void drop_previous(RunContext& ctx, common::Session& s, const std::vector<std::string>& previous) {
        try {
            for (const auto& prev : previous) drop_schema(ctx, s, prev, "drop of yesterday's copy");
            ctx.log().info("yesterday's copy dropped", {{"schemas", static_cast<std::int64_t>(previous.size())}});
        } catch (const std::exception& e) {  // tonight's copy is live: what is left goes at the next run
            ctx.log().warn("yesterday's copy could not be dropped now; the next run drops it first: " + common::one_line(e.what()));
        }
    }

    // Beside: what an unfinished build, or KEEP_PREVIOUS, left is removed before anything else.
    void clean_up(RunContext& ctx, common::Session& s) {
        const std::string& home = ctx.env().home_schema();
        std::vector<std::string> left;
        s.run([&](common::Connection& c) {
            pqxx::nontransaction tx(c);
            for (const auto& r : tx.exec("SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = "
                                         "current_user) AND (nspname LIKE " + tx.quote(beside::build_schema_pattern(home)) + " OR nspname LIKE " +
                                         tx.quote(beside::previous_schema_pattern(home)) + ") ORDER BY 1"))
                left.push_back(r[0].as<std::string>());
        });
        for (const auto& schema : left) drop_schema(ctx, s, schema, "clean-up");
        if (!left.empty()) ctx.log().info("removed what an earlier run left beside the live copy", {{"schemas", listed(left)}});
        // The kept tables take their new rows tonight, while the build goes on: their foreign keys
        // and triggers would refuse rows whose parents are not there yet. Tonight's are made after
        // the swap; yesterday's again if the build fails (finish). Their policies stay until the
        // swap: readers' access rests on them.
        if (!kept_.empty())
            sliced(ctx, s, "drop of the kept tables' keys", [&](std::chrono::milliseconds wait, int) {
                s.run([&](common::Connection& c) {
                    pqxx::work tx(c);
                    tx.exec("SET LOCAL lock_timeout = '" + std::to_string(wait.count()) + "ms'; SET LOCAL search_path = ''");
                    std::vector<std::string> remake;
                    for (const auto& r : tx.exec(drop::kept_dependents_sql(kept_))) {
                        const auto sql = r[0].as<std::string>();
                        if (sql.rfind("DROP POLICY", 0) == 0) continue;
                        tx.exec(sql);
                        remake.push_back(r[1].as<std::string>());
                    }
                    tx.commit();
                    remake_ = std::move(remake);
                });
            });
        ctx.log().info("the live copy stays readable: tonight's is built beside it and swapped in once complete and checked");
    }

    std::pair<std::string, std::int64_t> drop_all(RunContext& ctx, common::Session& s, std::chrono::milliseconds lock_wait) {
        return s.run([&](common::Connection& c) {
            pqxx::work tx(c);
            tx.exec("SET LOCAL lock_timeout = '" + std::to_string(lock_wait.count()) + "ms'");
            auto role = tx.exec("SELECT current_user")[0][0].as<std::string>();
            auto owned = objects(tx, drop::owned_objects_sql(ctx.env().home_schema()));
            std::string columns_before;
            if (!kept_.empty()) {
                owned = drop::without_kept(owned, objects(tx, drop::kept_support_sql(kept_)));
                columns_before = kept_columns(tx);
                for (const auto& r : tx.exec(drop::kept_dependents_sql(kept_))) tx.exec(r[0].as<std::string>());
            }
            // Kept from an earlier attempt that dropped them: this one finds none.
            if (auto found = others_views(ctx, tx); !found.empty()) others_views_ = std::move(found);
            for (const auto& o : owned) tx.exec(drop::drop_statement(o));
            // Something kept_support_sql missed went with CASCADE: roll back rather than keep a
            // table short of a column.
            if (!kept_.empty() && kept_columns(tx) != columns_before)
                throw StepError(ErrorKind::fatal,
                                "emptying the target would have changed a kept table's columns (an object they use was dropped with "
                                "CASCADE); nothing was dropped. Leave the table out of BACKUP_MODE for one run to reload it in full");
            for (const auto& schema : schemas_) tx.exec("CREATE SCHEMA IF NOT EXISTS " + common::quote_ident(schema));
            tx.commit();
            return std::make_pair(role, static_cast<std::int64_t>(owned.size()));
        });
    }

    // A build that did not reach the swap gives yesterday's copy back what clean_up() took from
    // its kept tables, so that it stays whole until a night completes: the rows appended
    // meanwhile stay (they are the source's), which is why a foreign key comes back NOT VALID.
    void remake_kept_dependents(RunContext& ctx) {
        if (remake_.empty()) return;
        try {
            common::Session s(ctx.env(), "drop-objects: the kept tables' keys again");
            s.run([&](common::Connection& c) {
                pqxx::work tx(c);
                tx.exec("SET LOCAL lock_timeout = '10s'; SET LOCAL statement_timeout = '60s'; SET LOCAL search_path = ''");
                for (const auto& sql : remake_) tx.exec(sql);
                tx.commit();
            });
            ctx.log().info("the kept tables' foreign keys and triggers were made again on yesterday's copy (foreign keys NOT VALID)",
                           {{"items", static_cast<std::int64_t>(remake_.size())}});
            remake_.clear();
        } catch (const std::exception& e) {
            ctx.log().warn("the kept tables' foreign keys and triggers could not be made again on yesterday's copy now (the next good "
                           "night brings them): " + common::one_line(e.what()));
            ctx.add_note("yesterday's copy lacks " + std::to_string(remake_.size()) +
                         " foreign key(s) and trigger(s) of its kept tables until the next good night");
        }
    }

    // Building beside needs room for a second copy: say how much, from the live one's size.
    void room(RunContext& ctx, pqxx::transaction_base& tx) {
        const auto bytes = tx.exec("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_namespace n ON "
                                   "n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND c.relowner = (SELECT oid FROM pg_roles WHERE "
                                   "rolname = current_user) AND n.nspname <> " + tx.quote(ctx.env().home_schema()) +
                                   " AND n.nspname NOT IN ('pg_catalog', 'information_schema')")[0][0].as<std::int64_t>();
        const std::string mb = std::to_string((bytes + (1 << 19)) >> 20) + " MB";
        ctx.log().info("tonight's copy is built beside yesterday's", {{"live_copy_bytes", static_cast<std::int64_t>(bytes)}});
        ctx.add_note("built beside: yesterday's copy holds " + mb + " (kept tables included); the target needs room for about as much "
                     "again during the build, less the kept tables (REFRESH=in-place needs none, but readers see no tables meanwhile)");
    }

    // Views of other roles (an analyst's, over replica tables) go with CASCADE: named before,
    // their definitions kept to be made again once the restore is done.
    std::vector<drop::ForeignView> others_views(RunContext& ctx, pqxx::transaction_base& tx) {
        std::vector<drop::ForeignView> out;
        for (const auto& r : tx.exec(drop::others_views_sql()))
            out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
                           r[4].as<std::string>()});
        if (out.empty()) return out;
        std::vector<std::string> names;
        for (const auto& v : out) names.push_back(v.schema + "." + v.name + " (owner " + v.owner + ")");
        const std::string what = std::to_string(out.size()) + " view(s) of other roles over the replica go with the drop: " + listed(names);
        ctx.log().warn(what + "; they are made again after the restore where the target role may act as their owner");
        ctx.add_note(what);
        return out;
    }

    // After a good restore: each view of another role made again, as that role, when the target
    // role is a member of it; else reported lost, with what it was.
    void finish(RunContext& ctx, const RunOutcome& outcome) override {
        if (dropped_at_) {  // in place: the readers' dark window, from the drop to the end of the run
            const double dark = std::chrono::duration<double>(Clock::now() - *dropped_at_).count();
            ctx.add_figure("readers_dark_seconds", dark, Unit::seconds);
            ctx.add_note("in place: readers had no replica tables for " + std::to_string(static_cast<int>(dark + 0.5)) +
                         " s, from the drop to the end of the run" + (outcome.success ? "" : " (and still have none: the run failed)") +
                         "; REFRESH=beside avoids it");
            dropped_at_.reset();
        }
        if (!outcome.success) remake_kept_dependents(ctx);
        if (!outcome.success || others_views_.empty()) return;
        std::vector<std::string> made, lost;
        common::Session s(ctx.env(), "drop-objects views");
        for (const auto& v : others_views_) {
            const std::string name = v.schema + "." + v.name;
            try {
                s.run([&](common::Connection& c) {
                    pqxx::work tx(c);
                    tx.exec("SET LOCAL statement_timeout = '60s'");
                    if (!tx.exec("SELECT pg_has_role(" + tx.quote(v.owner) + ", 'MEMBER')")[0][0].as<bool>())
                        throw std::runtime_error("the target role is not a member of " + v.owner);
                    tx.exec("SET LOCAL ROLE " + common::quote_ident(v.owner));
                    // Over kept tables only, or over a copy kept with KEEP_PREVIOUS: it is still there.
                    if (tx.exec("SELECT to_regclass(" + tx.quote(common::quote_ident(v.schema) + "." + common::quote_ident(v.name)) +
                                ") IS NOT NULL")[0][0].as<bool>())
                        return;
                    tx.exec(drop::create_view_sql(v));
                    tx.commit();
                });
                made.push_back(name);
            } catch (const std::exception& e) {
                lost.push_back(name);
                ctx.log().warn("view " + name + " of " + v.owner + " is lost: " + common::one_line(e.what()), {{"definition", v.definition}});
            }
        }
        if (!made.empty()) ctx.add_note("views of other roles made again after the restore: " + listed(made));
        if (!lost.empty()) ctx.add_note("views of other roles lost with the drop (their owner must make them again): " + listed(lost));
    }

    // What the kept tables stand on is on the target already: pg_restore must not create it.
    void keep_support(RunContext& ctx, pqxx::transaction_base& tx) {
        if (kept_.empty()) return;
        auto ids = drop::kept_entries(ctx.plan(), objects(tx, drop::kept_support_sql(kept_)));
        for (DumpId id : ids) ctx.keep(id, "on the target with a kept table");
        ctx.log().info("kept tables stay with what they need", {{"tables", static_cast<std::int64_t>(kept_.size())},
                                                                {"entries_kept", static_cast<std::int64_t>(ids.size())}});
    }

    std::string kept_columns(pqxx::transaction_base& tx) const {
        std::string out;
        for (const auto& r : tx.exec(drop::kept_columns_sql(kept_))) out += r[0].as<std::string>() + ": " + r[1].as<std::string>() + "\n";
        return out;
    }

    // Who holds locks on the replica's tables, for the message.
    StepError blocked(common::Session& s, Clock::duration waited, const std::string& what = "drop") {
        std::vector<std::string> who;
        s.run([&](common::Connection& c) {
            pqxx::read_transaction tx(c);
            for (const auto& r : tx.exec(
                     "SELECT DISTINCT a.pid, coalesce(a.usename::text, '?'), coalesce(a.application_name, ''), coalesce(a.state, ''), "
                     "coalesce(to_char(a.xact_start, 'HH24:MI:SS'), '') FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                     "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.granted AND l.pid <> pg_backend_pid() "
                     "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                     "AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) ORDER BY 1"))
                who.push_back("pid " + r[0].as<std::string>() + " (user " + r[1].as<std::string>() +
                              (r[2].as<std::string>().empty() ? "" : ", application '" + r[2].as<std::string>() + "'") +
                              (r[3].as<std::string>().empty() ? "" : ", " + r[3].as<std::string>()) +
                              (r[4].as<std::string>().empty() ? "" : ", transaction since " + r[4].as<std::string>()) + ")");
        });
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(waited).count();
        return StepError(ErrorKind::transient, "the " + what + " waited " + std::to_string(secs) + "s for locks on the replica's tables held by " +
                                                   (who.empty() ? std::string("sessions now gone") : listed(who)) +
                                                   (what == "drop" ? "; nothing was dropped" : "; the live copy is as it was") + " (DROP_LOCK_TIMEOUT)");
    }

    std::vector<std::string> schemas_{"public"}, kept_;
    std::vector<drop::ForeignView> others_views_;
    std::vector<std::string> remake_;  ///< The kept tables' keys and triggers taken off the live copy, until the swap.
    std::chrono::milliseconds lock_budget_{120'000}, lock_try_{5'000};
    bool keep_previous_ = false;
    std::optional<Clock::time_point> dropped_at_;
};

}  // namespace

PIXREP_STEP(DropObjectsStep)
