#include "verify.hpp"

#include "db.hpp"

#include <map>

namespace pixrep::restore {
namespace {

bool is_relation(const std::string& desc) {
    return desc == "TABLE" || desc == "VIEW" || desc == "MATERIALIZED VIEW" || desc == "SEQUENCE" || desc == "INDEX";
}

std::string sql_list(const std::set<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + common::quote_literal(s);
    return out.empty() ? "NULL" : out;
}

}  // namespace

std::vector<std::string> missing_objects(const RestorePlan& plan, const TargetObjects& t, const std::set<DumpId>& later) {
    std::vector<std::string> missing;
    for (const auto& e : plan.entries) {
        if (!e.created() || later.count(e.id)) continue;
        bool ok = true;
        if (is_relation(e.desc)) {
            ok = t.relations.count({e.schema, e.tag}) != 0;
        } else if (e.desc == "CONSTRAINT" || e.desc == "FK CONSTRAINT") {
            const TocEntry* table = plan.table(e.table);
            if (table && e.tag.size() > table->tag.size() + 1)
                ok = t.constraints.count({table->schema, table->tag, e.tag.substr(table->tag.size() + 1)}) != 0;
        } else if (e.desc == "TABLE DATA" && e.rows > 0) {
            ok = t.empty_tables.count(e.schema + "." + e.tag) == 0;
        }
        if (!ok) missing.push_back(e.desc + " " + e.qualified());
    }
    return missing;
}

void verify_restored(RunContext& ctx, const beside::BuildNames* built, const std::set<DumpId>& later) {
    const auto& plan = ctx.plan();
    std::set<std::string> schemas, query;
    std::map<std::string, std::string> live_of;  // build schema -> the live one it stands for
    for (const auto& e : plan.entries)
        if (e.created() && e.schema != "-") schemas.insert(e.schema), query.insert(e.schema);
    if (built)
        for (const auto& [live, build] : built->schemas) live_of[build] = live, query.insert(build);
    // A built object counts only in its build schema; a kept one only in the live schema.
    auto place = [&](const std::string& schema, const std::string& name, std::string& as) {
        auto it = live_of.find(schema);
        if (it != live_of.end()) return as = it->second, true;
        as = schema;
        return !built || !built->built(schema, name);
    };
    TargetObjects t;
    common::Session s(ctx.env(), "pg-restore check");
    s.run([&](common::Connection& c) {
        pqxx::nontransaction tx(c);
        std::string as;
        for (const auto& row : tx.exec("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                       "WHERE n.nspname IN (" + sql_list(query) + ")"))
            if (place(row[0].as<std::string>(), row[1].as<std::string>(), as)) t.relations.emplace(as, row[1].as<std::string>());
        for (const auto& row : tx.exec("SELECT n.nspname, r.relname, co.conname FROM pg_constraint co JOIN pg_class r ON r.oid = co.conrelid "
                                       "JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname IN (" + sql_list(query) + ")"))
            if (place(row[0].as<std::string>(), row[1].as<std::string>(), as))
                t.constraints.emplace(as, row[1].as<std::string>(), row[2].as<std::string>());
        for (const auto& e : plan.entries) {
            if (!e.restored() || e.desc != "TABLE DATA" || built) continue;  // the build's loads counted every table's rows
            const std::string name = common::quote_ident(e.schema) + "." + common::quote_ident(e.tag);
            std::int64_t rows = e.rows;
            if (rows < 0) rows = tx.exec("SELECT count(*) FROM " + name)[0][0].as<std::int64_t>();
            else if (rows > 0 && !tx.exec("SELECT EXISTS (SELECT 1 FROM " + name + ")")[0][0].as<bool>()) t.empty_tables.insert(e.schema + "." + e.tag);
            ctx.add_figure("rows." + e.schema + "." + e.tag, static_cast<double>(rows));
        }
    });
    auto missing = missing_objects(plan, t, later);
    if (missing.empty()) {
        ctx.log().info("restore checked: everything the plan creates is there", {{"schemas", static_cast<std::int64_t>(schemas.size())}});
        return;
    }
    std::string list;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, missing.size()); ++i) list += (i ? ", " : "") + missing[i];
    // pg_restore said it succeeded: restoring again would leave out the same objects.
    throw StepError(ErrorKind::fatal, "the restore is incomplete: " + std::to_string(missing.size()) +
                                              " object(s) the plan restores are missing from the target (" + list +
                                              (missing.size() > 5 ? ", ..." : "") + ")");
}

}  // namespace pixrep::restore
