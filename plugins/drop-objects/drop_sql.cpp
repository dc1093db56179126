#include "drop_sql.hpp"

#include <set>

#include "db.hpp"

namespace pixrep::drop {
namespace {

using common::quote_ident;
using common::quote_literal;

// Objects per kind, with their owner; `where` filters on the owner and schema.
std::string objects_sql(const std::string& where_owner, const std::string& where_schema) {
    const std::string not_member = " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = x.oid AND d.deptype = 'e')";
    auto rel = [&](const char* kind, const char* relkinds) {
        return std::string("SELECT '") + kind + "' AS kind, n.nspname, x.relname, '' AS args, pg_get_userbyid(x.relowner) AS owner, " +
               "x.relowner AS owner_oid FROM pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace WHERE x.relkind IN (" + relkinds +
               ")" + not_member;
    };
    std::vector<std::string> parts = {
        rel("VIEW", "'v'"), rel("MATERIALIZED VIEW", "'m'"), rel("TABLE", "'r', 'p'"), rel("FOREIGN TABLE", "'f'"),
        rel("SEQUENCE", "'S'"), rel("INDEX", "'i', 'I'"),
        "SELECT CASE x.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, n.nspname, x.proname, "
        "pg_get_function_identity_arguments(x.oid), pg_get_userbyid(x.proowner), x.proowner FROM pg_proc x JOIN pg_namespace n ON "
        "n.oid = x.pronamespace WHERE true" + not_member,
        // Types made by CREATE TYPE / CREATE DOMAIN: not the row types of tables, not array types.
        "SELECT CASE x.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, x.typname, '', pg_get_userbyid(x.typowner), "
        "x.typowner FROM pg_type x JOIN pg_namespace n ON n.oid = x.typnamespace WHERE x.typtype IN ('e', 'd', 'r', 'c') "
        "AND (x.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = x.typrelid) = 'c') AND x.typelem = 0" + not_member,
        "SELECT 'SCHEMA', '', x.nspname, '', pg_get_userbyid(x.nspowner), x.nspowner FROM pg_namespace x WHERE true" + not_member};
    std::string sql;
    int order = 0;
    for (const auto& p : parts) sql += (sql.empty() ? "" : " UNION ALL ") + ("SELECT " + std::to_string(order++) + " AS o, * FROM (" + p + ") q");
    return "SELECT kind, nspname, relname, args, owner FROM (" + sql + ") objects(o, kind, nspname, relname, args, owner, owner_oid) WHERE " +
           where_owner + " AND " + where_schema + " ORDER BY o, nspname, relname";
}

const char* kSystem = "(coalesce(nullif(nspname, ''), relname) NOT IN ('pg_catalog', 'information_schema') "
                      "AND coalesce(nullif(nspname, ''), relname) NOT LIKE 'pg\\_toast%' AND coalesce(nullif(nspname, ''), relname) NOT LIKE 'pg\\_temp%')";

std::string in_list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + quote_literal(s);
    return out.empty() ? "NULL" : out;
}

}  // namespace

std::string owned_objects_sql(const std::string& keep_schema) {
    const std::string keep = quote_literal(keep_schema);
    return objects_sql("owner_oid = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND kind <> 'INDEX'",
                       std::string(kSystem) + " AND coalesce(nullif(nspname, ''), '') <> " + keep + " AND NOT (kind = 'SCHEMA' AND relname IN (" +
                           keep + ", 'public'))");
}

std::string foreign_objects_sql(const std::vector<std::string>& schemas) {
    return objects_sql("owner_oid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)",
                       "(nspname IN (" + in_list(schemas) + ") OR (kind = 'SCHEMA' AND relname IN (" + in_list(schemas) + ")))");
}

std::string drop_statement(const Object& o) {
    if (o.kind == "SCHEMA") return "DROP SCHEMA IF EXISTS " + quote_ident(o.name) + " CASCADE";
    std::string name = quote_ident(o.schema) + "." + quote_ident(o.name);
    if (o.kind == "FUNCTION" || o.kind == "PROCEDURE" || o.kind == "AGGREGATE") name += "(" + o.args + ")";
    return "DROP " + o.kind + " IF EXISTS " + name + " CASCADE";
}

std::vector<Object> collisions(const RestorePlan& plan, const std::vector<Object>& others) {
    // What the restore creates, by (kind family, schema, name).
    auto family = [](const std::string& kind) -> std::string {
        if (kind == "TABLE" || kind == "VIEW" || kind == "MATERIALIZED VIEW" || kind == "SEQUENCE" || kind == "INDEX" ||
            kind == "FOREIGN TABLE")
            return "relation";
        if (kind == "FUNCTION" || kind == "PROCEDURE" || kind == "AGGREGATE") return "routine";
        if (kind == "TYPE" || kind == "DOMAIN") return "type";
        if (kind == "SCHEMA") return "schema";
        return "";
    };
    std::set<std::tuple<std::string, std::string, std::string>> created;
    for (const auto& e : plan.entries) {
        if (!e.created()) continue;
        std::string f = family(e.desc), name = e.tag;
        if (f.empty()) continue;
        if (f == "routine") name = name.substr(0, name.find('('));
        created.emplace(f, f == "schema" ? "" : e.schema, f == "schema" ? e.tag : name);
    }
    std::vector<Object> out;
    for (const auto& o : others)
        if (created.count({family(o.kind), o.kind == "SCHEMA" ? "" : o.schema, o.name})) out.push_back(o);
    return out;
}

std::vector<std::string> in_schema(const RestorePlan& plan, const std::string& home) {
    std::vector<std::string> out;
    for (const auto& e : plan.entries)
        if (e.created() && (e.schema == home || (e.desc == "SCHEMA" && e.tag == home))) out.push_back(e.desc + " " + e.qualified());
    return out;
}

}  // namespace pixrep::drop
