#include "access_rules.hpp"

#include "db.hpp"

#include <map>
#include <set>

#include <optional>
#include "pg_conn.hpp"
#include "sql_rewrite.hpp"

namespace pixrep {
namespace {

using common::quote_ident;

std::string grantee_sql(const std::string& g) { return g == "PUBLIC" ? "PUBLIC" : quote_ident(g); }

std::string object_sql(const AccessRule& r) {
    const std::string qualified = quote_ident(r.schema) + "." + quote_ident(r.name);
    if (r.kind == "schema") return "SCHEMA " + quote_ident(r.schema);
    if (r.kind == "sequence") return "SEQUENCE " + qualified;
    if (r.kind == "function") return "FUNCTION " + qualified + "(" + r.args + ")";
    return "TABLE " + qualified;  // a column's too: GRANT SELECT (col) ON TABLE t
}

const char* default_objects(const std::string& letter) {
    if (letter == "S") return "SEQUENCES";
    if (letter == "f") return "FUNCTIONS";
    if (letter == "T") return "TYPES";
    if (letter == "n") return "SCHEMAS";
    return "TABLES";
}

}  // namespace

const std::string& capture_rules_sql() {
    // On what the target role owns (what the drop takes away; the rest keeps its grants), from
    // any grantor: a grant made by a DBA holding the grant option is as much the readers' access
    // as the target role's own; it is re-applied by the target role, the objects' owner.
    static const std::string sql = R"SQL(
WITH me AS (SELECT oid FROM pg_roles WHERE rolname = current_user),
rules AS (
  SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind, n.nspname AS schema, c.relname AS name,
         '' AS args, a.grantee, a.privilege_type, a.is_grantable, c.oid AS object
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname = ANY ($1::text[]) AND c.relowner = (SELECT oid FROM me)
  UNION ALL
  SELECT 'column', n.nspname, c.relname, at.attname, a.grantee, a.privilege_type, a.is_grantable, c.oid
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute at ON at.attrelid = c.oid, aclexplode(at.attacl) a
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY ($1::text[]) AND c.relowner = (SELECT oid FROM me)
    AND at.attnum > 0 AND NOT at.attisdropped
  UNION ALL
  SELECT 'schema', n.nspname, '', '', a.grantee, a.privilege_type, a.is_grantable, n.oid
  FROM pg_namespace n, aclexplode(n.nspacl) a
  WHERE n.nspname = ANY ($1::text[]) AND n.nspowner = (SELECT oid FROM me)
  UNION ALL
  SELECT 'function', n.nspname, p.proname, oidvectortypes(p.proargtypes), a.grantee, a.privilege_type, a.is_grantable, p.oid
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a
  WHERE n.nspname = ANY ($1::text[]) AND p.proowner = (SELECT oid FROM me)
  UNION ALL
  SELECT 'default', coalesce(n.nspname, ''), d.defaclobjtype::text, '', a.grantee, a.privilege_type, a.is_grantable, NULL::oid
  FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
  WHERE d.defaclrole = (SELECT oid FROM me)
)
SELECT DISTINCT kind, schema, name, args, pg_get_userbyid(grantee)::text, privilege_type, is_grantable, object
FROM rules WHERE grantee <> 0 AND grantee <> (SELECT oid FROM me) ORDER BY 1, 2, 3, 4, 5, 6)SQL";
    return sql;
}

const std::string& current_oid_sql() {
    static const std::string sql =
        "CASE kind WHEN 'default' THEN NULL::oid "
        "WHEN 'schema' THEN (SELECT oid FROM pg_namespace WHERE nspname = schema_name) "
        "WHEN 'function' THEN to_regprocedure(quote_ident(schema_name) || '.' || quote_ident(name) || '(' || args || ')')::oid "
        "ELSE to_regclass(quote_ident(schema_name) || '.' || quote_ident(name))::oid END";
    return sql;
}

namespace {

// The privileges PostgreSQL grants on each kind of object (GRANT's own lists).
const std::map<std::string, std::set<std::string>>& privileges() {
    static const std::set<std::string> table{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"};
    static const std::map<std::string, std::set<std::string>> by_kind{
        {"table", table}, {"column", {"SELECT", "INSERT", "UPDATE", "REFERENCES"}}, {"sequence", {"USAGE", "SELECT", "UPDATE"}},
        {"schema", {"USAGE", "CREATE"}}, {"function", {"EXECUTE"}},
        // Default privileges, by the object type letter of pg_default_acl.
        {"default r", table}, {"default S", {"USAGE", "SELECT", "UPDATE"}}, {"default f", {"EXECUTE"}}, {"default T", {"USAGE"}},
        {"default n", {"USAGE", "CREATE"}}};
    return by_kind;
}

}  // namespace

std::string rule_problem(const AccessRule& r) {
    if (r.kind == "default" && !privileges().count("default " + r.name)) return "unknown default privilege object type '" + r.name + "'";
    auto it = privileges().find(r.kind == "default" ? "default " + r.name : r.kind);
    if (it == privileges().end()) return "unknown kind '" + r.kind + "'";
    if (!it->second.count(r.privilege)) return "'" + r.privilege + "' is not a privilege of a " + r.kind;
    return "";
}

std::string grant_sql(const AccessRule& r, const std::string& object) {
    const std::string option = r.grantable ? " WITH GRANT OPTION" : "";
    if (r.kind == "default")
        return "ALTER DEFAULT PRIVILEGES" + (r.schema.empty() ? std::string() : " IN SCHEMA " + quote_ident(r.schema)) + " GRANT " +
               r.privilege + " ON " + default_objects(r.name) + " TO " + grantee_sql(r.grantee) + option;
    const std::string columns = r.kind == "column" ? " (" + quote_ident(r.args) + ")" : "";
    std::string on = object_sql(r);
    if (!object.empty()) on = on.substr(0, on.find(' ') + 1) + object;  // "TABLE " + the catalog's name
    return "GRANT " + r.privilege + columns + " ON " + on + " TO " + grantee_sql(r.grantee) + option;
}

std::pair<std::string, std::vector<std::string>> resolve_sql(const AccessRule& r) {
    const std::string qualified = quote_ident(r.schema) + "." + quote_ident(r.name);
    if (r.kind == "default") return {"SELECT ''", {}};
    if (r.kind == "schema") return {"SELECT n.oid::regnamespace::text FROM pg_namespace n WHERE n.nspname = $1", {r.schema}};
    // A function's argument types are parsed by PostgreSQL, never pasted into a statement.
    if (r.kind == "function") return {"SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.oid = to_regprocedure($1)", {qualified + "(" + r.args + ")"}};
    const std::string kinds = r.kind == "sequence" ? "'S'" : "'r', 'p', 'v', 'm', 'f'";
    std::string sql = "SELECT c.oid::regclass::text FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind IN (" + kinds + ")";
    if (r.kind == "column") return {sql + " AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = $2 AND "
                                          "a.attnum > 0 AND NOT a.attisdropped)", {qualified, r.args}};
    return {sql, {qualified}};
}

std::vector<std::string> read_access_sql(const std::string& role, const std::vector<std::string>& schemas) {
    std::vector<std::string> out;
    for (const auto& s : schemas) {
        out.push_back("GRANT USAGE ON SCHEMA " + quote_ident(s) + " TO " + quote_ident(role));
        out.push_back("GRANT SELECT ON ALL TABLES IN SCHEMA " + quote_ident(s) + " TO " + quote_ident(role));
        out.push_back("GRANT SELECT ON ALL SEQUENCES IN SCHEMA " + quote_ident(s) + " TO " + quote_ident(role));
    }
    return out;
}

std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const auto& s : items) {
        out += (out.size() > 1 ? "," : "") + std::string("\"");
        for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
        out += "\"";
    }
    return out + "}";
}

std::optional<AccessRule> for_build(AccessRule r, const beside::BuildNames& built, bool live_schema_exists) {
    if (r.kind == "default") return r;
    if (r.kind == "schema") {
        if (!live_schema_exists && built.schemas.count(r.schema)) r.schema = built.schema_of(r.schema);
        return r;
    }
    if (built.built(r.schema, r.name)) {
        r.schema = built.schema_of(r.schema);
        return r;
    }
    if (built.schemas.count(r.schema) && !built.kept.count({r.schema, r.name})) return std::nullopt;
    return r;
}

std::vector<std::string> default_grants_sql(const AccessRule& r, const std::string& build) {
    if (r.kind != "default" || r.schema.empty() || r.grantee == "PUBLIC") return {};
    const char* all = r.name == "r" ? "TABLES" : r.name == "S" ? "SEQUENCES" : r.name == "f" ? "FUNCTIONS" : nullptr;
    if (!all) return {};
    return {"GRANT " + r.privilege + " ON ALL " + all + " IN SCHEMA " + quote_ident(build) + " TO " + grantee_sql(r.grantee) +
            (r.grantable ? " WITH GRANT OPTION" : "")};
}

std::vector<std::string> reapply(common::PgConn& conn, const std::vector<AccessRule>& rules) {
    std::vector<std::string> missing;
    for (const auto& r : rules) {
        std::string what = r.kind == "default" ? "default privileges for " + r.grantee : r.kind + " " + r.schema + (r.name.empty() ? "" : "." + r.name);
        if (r.kind == "column") what += "." + r.args;
        if (r.grantee == "PUBLIC") {  // saved by an older version: the tool never grants to PUBLIC
            missing.push_back(what + ": " + r.privilege + " for PUBLIC not re-applied (nothing is granted to PUBLIC)");
            continue;
        }
        if (auto problem = rule_problem(r); !problem.empty()) {
            missing.push_back(what + ": rule refused (" + problem + ")");
            continue;
        }
        try {
            if (conn.scalar("SELECT count(*) FROM pg_roles WHERE rolname = $1", {r.grantee}) != std::optional<std::string>("1")) {
                missing.push_back(what + ": role " + r.grantee + " no longer exists (" + r.privilege + " not re-applied)");
                continue;
            }
            const auto [sql, params] = resolve_sql(r);
            std::vector<std::optional<std::string>> args(params.begin(), params.end());
            const auto object = conn.scalar(sql, args);
            if (!object) {
                missing.push_back(what + " no longer exists (" + r.privilege + " for " + r.grantee + " not re-applied)");
                continue;
            }
            conn.exec(grant_sql(r, *object));
        } catch (const std::exception& e) {
            missing.push_back(what + ": " + r.privilege + " for " + r.grantee + " not re-applied: " + e.what());
        }
    }
    return missing;
}

}  // namespace pixrep
