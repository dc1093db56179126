#include "swap_sql.hpp"

#include <nlohmann/json.hpp>

#include "sql_rewrite.hpp"

namespace pixrep::common {

const std::string& movable_sql() {
    static const std::string sql = R"SQL(
WITH me AS (SELECT oid FROM pg_roles WHERE rolname = current_user),
ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = $1)
SELECT kind, nspname, name, args FROM (
  SELECT 1 AS o, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
         WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, ns.nspname, c.relname::text AS name, '' AS args
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner = (SELECT oid FROM me)
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
  UNION ALL
  -- Not range types: their constructor functions belong to the bootstrap superuser and would
  -- stay behind. They stay in the live schema (pg-restore keeps them there).
  SELECT 2, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, ns.nspname, t.typname::text, ''
  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
  WHERE t.typtype IN ('e', 'd', 'c') AND t.typelem = 0 AND t.typowner = (SELECT oid FROM me)
    AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  UNION ALL
  -- Routines first: their arguments name types (a table's row type) that are still where they were.
  SELECT 0, 'ROUTINE', ns.nspname, p.proname::text, pg_get_function_identity_arguments(p.oid)
  FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
  WHERE p.proowner = (SELECT oid FROM me)
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 3, 'STATISTICS', ns.nspname, s.stxname::text, ''
  FROM pg_statistic_ext s JOIN ns ON ns.oid = s.stxnamespace WHERE s.stxowner = (SELECT oid FROM me)
) x ORDER BY o, name, args)SQL";
    return sql;
}

std::string lock_statement(const std::vector<Movable>& objects) {
    std::string list;
    for (const auto& m : objects)
        if (m.kind == "TABLE") list += (list.empty() ? "" : ", ") + sql_name(m.schema) + "." + sql_name(m.name);
    return list.empty() ? "" : "LOCK TABLE " + list + " IN ACCESS EXCLUSIVE MODE";
}

std::string move_statement(const Movable& m, const std::string& to) {
    std::string name = sql_name(m.schema) + "." + sql_name(m.name);
    if (m.kind == "ROUTINE") name += "(" + m.args + ")";
    return "ALTER " + m.kind + " " + name + " SET SCHEMA " + sql_name(to);
}

std::string previous_comment(const std::string& schema, const std::vector<std::string>& stayed) {
    return nlohmann::json{{"pix-db-replication", "previous copy"}, {"schema", schema}, {"stayed", stayed}}.dump();
}

bool read_previous_comment(const std::string& comment, std::string& schema, std::vector<std::string>& stayed) {
    auto j = nlohmann::json::parse(comment, nullptr, false);
    if (!j.is_object() || j.value("pix-db-replication", "") != "previous copy" || !j.contains("schema") || !j["schema"].is_string())
        return false;
    schema = j["schema"].get<std::string>();
    stayed.clear();
    if (j.contains("stayed") && j["stayed"].is_array())
        for (const auto& s : j["stayed"])
            if (s.is_string()) stayed.push_back(s.get<std::string>());
    return true;
}

}  // namespace pixrep::common
