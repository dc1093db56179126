#include "access_rules.hpp"

#include "db.hpp"
#include "pg_conn.hpp"

namespace pixrep {
namespace {

using common::quote_ident;

std::string grantee_sql(const std::string& g) { return g == "PUBLIC" ? "PUBLIC" : quote_ident(g); }

std::string object_sql(const AccessRule& r) {
    const std::string qualified = quote_ident(r.schema) + "." + quote_ident(r.name);
    if (r.kind == "schema") return "SCHEMA " + quote_ident(r.schema);
    if (r.kind == "sequence") return "SEQUENCE " + qualified;
    if (r.kind == "function") return "FUNCTION " + qualified + "(" + r.args + ")";
    return "TABLE " + qualified;
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
    static const std::string sql = R"SQL(
WITH me AS (SELECT oid FROM pg_roles WHERE rolname = current_user),
rules AS (
  SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind, n.nspname AS schema, c.relname AS name,
         '' AS args, a.grantee, a.privilege_type, a.is_grantable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname = ANY ($1::text[])
    AND a.grantor = (SELECT oid FROM me) AND a.grantee <> (SELECT oid FROM me)
  UNION ALL
  SELECT 'schema', n.nspname, '', '', a.grantee, a.privilege_type, a.is_grantable
  FROM pg_namespace n, aclexplode(n.nspacl) a
  WHERE n.nspname = ANY ($1::text[]) AND a.grantor = (SELECT oid FROM me) AND a.grantee <> (SELECT oid FROM me)
  UNION ALL
  SELECT 'function', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), a.grantee, a.privilege_type, a.is_grantable
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a
  WHERE n.nspname = ANY ($1::text[]) AND a.grantor = (SELECT oid FROM me) AND a.grantee <> (SELECT oid FROM me)
  UNION ALL
  SELECT 'default', coalesce(n.nspname, ''), d.defaclobjtype::text, '', a.grantee, a.privilege_type, a.is_grantable
  FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
  WHERE d.defaclrole = (SELECT oid FROM me) AND a.grantee <> (SELECT oid FROM me)
)
SELECT kind, schema, name, args, CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee)::text END, privilege_type,
       is_grantable
FROM rules ORDER BY 1, 2, 3, 5, 6)SQL";
    return sql;
}

std::string grant_sql(const AccessRule& r) {
    const std::string option = r.grantable ? " WITH GRANT OPTION" : "";
    if (r.kind == "default")
        return "ALTER DEFAULT PRIVILEGES" + (r.schema.empty() ? std::string() : " IN SCHEMA " + quote_ident(r.schema)) + " GRANT " +
               r.privilege + " ON " + default_objects(r.name) + " TO " + grantee_sql(r.grantee) + option;
    return "GRANT " + r.privilege + " ON " + object_sql(r) + " TO " + grantee_sql(r.grantee) + option;
}

std::string exists_sql(const AccessRule& r) {
    const std::string qualified = common::quote_literal(quote_ident(r.schema) + "." + quote_ident(r.name));
    if (r.kind == "default") return "SELECT true";
    if (r.kind == "schema") return "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = " + common::quote_literal(r.schema) + ")";
    if (r.kind == "function")
        return "SELECT to_regprocedure(" + common::quote_literal(quote_ident(r.schema) + "." + quote_ident(r.name) + "(" + r.args + ")") +
               ") IS NOT NULL";
    return "SELECT to_regclass(" + qualified + ") IS NOT NULL";
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

std::vector<std::string> reapply(PgConn& conn, const std::vector<AccessRule>& rules) {
    std::vector<std::string> missing;
    for (const auto& r : rules) {
        std::string what = r.kind == "default" ? "default privileges for " + r.grantee : r.kind + " " + r.schema + (r.name.empty() ? "" : "." + r.name);
        if (conn.scalar(exists_sql(r)) != std::optional<std::string>("t")) {
            missing.push_back(what + " no longer exists (" + r.privilege + " for " + r.grantee + " not re-applied)");
            continue;
        }
        try {
            conn.exec(grant_sql(r));
        } catch (const std::exception& e) {
            missing.push_back(what + ": " + r.privilege + " for " + r.grantee + " not re-applied: " + e.what());
        }
    }
    return missing;
}

}  // namespace pixrep
