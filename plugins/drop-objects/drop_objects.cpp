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
#include <set>

#include <pixrep/step_export.hpp>

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
                true};
    }

    void declare(OptionTable& t) override {
        t.add("ensure_schemas", schemas_, "Schemas that must exist after the drop (the dump assumes public exists)");
        t.add("lock_timeout", lock_budget_, "How long the drop may wait, in all, for readers' locks on the replica's tables")
            .env("DROP_LOCK_TIMEOUT");
        t.add("lock_try", lock_try_, "How long one try waits for a lock; new readers queue behind it only this long");
    }

    void configure(Logger&) override {
        if (lock_try_ < std::chrono::milliseconds(100)) throw StepError(ErrorKind::config, "option 'lock_try' must be at least 100ms");
    }

    void prepare(RunContext& ctx) override {
        const std::string& home = ctx.env().home_schema();
        if (auto clash = drop::in_schema(ctx.plan(), home); !clash.empty())
            throw StepError(ErrorKind::input, "the backup holds " + std::to_string(clash.size()) + " object(s) in schema '" + home +
                                                  "', the tool's own schema in the target (" + listed(clash) +
                                                  "): set REPLICATION_SCHEMA to another name");
        kept_ = kept_tables(ctx.plan());
        if (ctx.env().dry_run() && kept_.empty()) return;
        // Checked before anything is dropped: who we are, and what we could not drop.
        common::Session s(ctx.env(), "drop-objects");
        s.run([&](pqxx::connection& c) {
            pqxx::read_transaction tx(c);
            keep_support(ctx, tx);
            if (ctx.env().dry_run()) return;
            auto r = tx.exec("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user");
            if (!r.empty() && r[0][1].as<bool>())
                throw StepError(ErrorKind::config, "DATABASE_URL connects as superuser '" + r[0][0].as<std::string>() +
                                                       "': refusing to DROP OWNED BY a superuser, which would drop objects of the whole "
                                                       "cluster; connect as the role that owns the target database");
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
        const auto t0 = Clock::now();
        for (int tries = 1;; ++tries) {
            try {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(lock_budget_ - (Clock::now() - t0));
                auto [role, dropped] = drop_all(ctx, s, std::clamp(left, std::chrono::milliseconds(100), lock_try_));
                ctx.log().info("dropped every object owned by " + role + " (but schema " + ctx.env().home_schema() +
                                   (kept_.empty() ? "" : " and " + std::to_string(kept_.size()) + " kept table(s)") + ")",
                               {{"objects_dropped", dropped}, {"tries", static_cast<std::int64_t>(tries)}});
                return;
            } catch (const pqxx::sql_error& e) {
                if (e.sqlstate() != "55P03") throw;  // lock_not_available
            }
            // Readers hold locks: wait a little and try again, rather than queue every new reader
            // behind a drop that waits for a long query.
            if (Clock::now() - t0 >= lock_budget_) throw blocked(s, Clock::now() - t0);
            if (!ctx.env().sleep_for(std::chrono::seconds(1))) throw StepError(ErrorKind::fatal, "stopped while waiting for readers' locks");
        }
    }

private:
    std::pair<std::string, std::int64_t> drop_all(RunContext& ctx, common::Session& s, std::chrono::milliseconds lock_wait) {
        return s.run([&](pqxx::connection& c) {
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
        if (!outcome.success || others_views_.empty()) return;
        std::vector<std::string> made, lost;
        common::Session s(ctx.env(), "drop-objects views");
        for (const auto& v : others_views_) {
            const std::string name = v.schema + "." + v.name;
            try {
                s.run([&](pqxx::connection& c) {
                    pqxx::work tx(c);
                    tx.exec("SET LOCAL statement_timeout = '60s'");
                    if (!tx.exec("SELECT pg_has_role(" + tx.quote(v.owner) + ", 'MEMBER')")[0][0].as<bool>())
                        throw std::runtime_error("the target role is not a member of " + v.owner);
                    tx.exec("SET LOCAL ROLE " + common::quote_ident(v.owner));
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

    static std::vector<std::string> kept_tables(const RestorePlan& plan) {
        std::vector<std::string> out;
        for (const auto& e : plan.entries)
            if (e.desc == "TABLE" && e.fate == Fate::kept) out.push_back(e.table);
        return out;
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
    StepError blocked(common::Session& s, Clock::duration waited) {
        std::vector<std::string> who;
        s.run([&](pqxx::connection& c) {
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
        return StepError(ErrorKind::transient, "the drop waited " + std::to_string(secs) + "s for locks on the replica's tables held by " +
                                                   (who.empty() ? std::string("sessions now gone") : listed(who)) +
                                                   "; nothing was dropped (DROP_LOCK_TIMEOUT)");
    }

    std::vector<std::string> schemas_{"public"}, kept_;
    std::vector<drop::ForeignView> others_views_;
    std::chrono::milliseconds lock_budget_{120'000}, lock_try_{5'000};
};

}  // namespace

PIXREP_STEP(DropObjectsStep)
