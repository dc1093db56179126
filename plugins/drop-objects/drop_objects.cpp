// Empties the target as the original did (DROP OWNED BY CURRENT_USER CASCADE), in one
// transaction so a failure leaves the previous copy whole.
#include <pixrep/step_export.hpp>

#include "db.hpp"

namespace {

using namespace pixrep;

class DropObjectsStep final : public Step {
public:
    StepInfo info() const override {
        return {"drop-objects", "1.0.0", "Drops every object the target role owns, then recreates schema public if it went with them"};
    }

    void declare(OptionTable& t) override {
        t.add("ensure_schemas", schemas_, "Schemas that must exist after the drop (the dump assumes public exists)");
    }

    void prepare(RunContext& ctx) override {
        if (ctx.env().dry_run()) return;
        // Checked before the source's work is used, and long before anything is dropped.
        common::Session s(ctx.env(), "drop-objects");
        auto r = s.run([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user");
        });
        if (!r.empty() && r[0][1].as<bool>())
            throw StepError(ErrorKind::config, "DATABASE_URL connects as superuser '" + r[0][0].as<std::string>() +
                                                   "': refusing to DROP OWNED BY a superuser, which would drop objects of the whole cluster; "
                                                   "connect as the role that owns the target database");
    }

    void execute(RunContext& ctx) override {
        common::Session s(ctx.env(), "drop-objects");
        s.run([&](pqxx::connection& c) {
            pqxx::work tx(c);
            auto role = tx.exec("SELECT current_user")[0][0].as<std::string>();
            auto before = tx.exec("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = current_user")[0][0]
                              .as<long long>();
            tx.exec("DROP OWNED BY CURRENT_USER CASCADE");
            for (const auto& schema : schemas_) tx.exec("CREATE SCHEMA IF NOT EXISTS " + common::quote_ident(schema));
            tx.commit();
            ctx.log().info("dropped every object owned by " + role, {{"relations_dropped", static_cast<std::int64_t>(before)}});
        });
    }

private:
    std::vector<std::string> schemas_{"public"};
};

}  // namespace

PIXREP_STEP(DropObjectsStep)
