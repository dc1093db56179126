#include "drop_sql.hpp"

#include <set>
#include <tuple>

#include "db.hpp"
#include "object_kinds.hpp"

namespace pixrep::drop {
namespace {

using common::quote_ident;
using common::quote_literal;

// Objects of every kind object_kinds() lists, with their owner, never an extension's member;
// `where` filters on the owner and schema.
std::string objects_sql(const std::string& where_owner, const std::string& where_schema) {
    return "SELECT kind, nspname, relname, args, pg_get_userbyid(owner_oid) AS owner FROM (" + beside::catalog_objects_sql() +
           ") objects(o, kind, nspname, relname, args, owner_oid, member) WHERE NOT member AND " + where_owner + " AND " + where_schema +
           " ORDER BY o, nspname, relname";
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

std::string owned_schemas_sql(const std::string& keep_schema) {
    return "SELECT nspname FROM pg_namespace x WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND NOT EXISTS "
           "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = x.oid AND d.deptype = 'e') AND nspname "
           "NOT IN ('pg_catalog', 'information_schema', " + quote_literal(keep_schema) + ") AND nspname NOT LIKE 'pg\\_toast%' AND "
           "nspname NOT LIKE 'pg\\_temp%' ORDER BY 1";
}

std::string foreign_objects_sql(const std::vector<std::string>& schemas) {
    return objects_sql("owner_oid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)",
                       "(nspname IN (" + in_list(schemas) + ") OR (kind = 'SCHEMA' AND relname IN (" + in_list(schemas) + ")))");
}

std::string drop_statement(const Object& o) { return beside::drop_statement(o.kind, o.schema, o.name, o.args); }

std::vector<Object> collisions(const RestorePlan& plan, const std::vector<Object>& others) {
    // What the restore creates, by (kind family, schema, name).
    auto family = [](const std::string& kind) -> std::string {
        const beside::ObjectKind* k = beside::object_kind(kind);
        return k ? std::string(k->family) : "";
    };
    std::set<std::tuple<std::string, std::string, std::string>> created;
    for (const auto& e : plan.entries) {
        if (!e.created()) continue;
        std::string f = family(e.desc), name = e.tag;
        if (f.empty()) continue;
        if (f == "routine" || f == "operator") name = name.substr(0, name.find('('));
        created.emplace(f, f == "schema" ? "" : e.schema, f == "schema" ? e.tag : name);
    }
    std::vector<Object> out;
    for (const auto& o : others)
        if (created.count({family(o.kind), o.kind == "SCHEMA" ? "" : o.schema, o.name})) out.push_back(o);
    return out;
}

namespace {

std::string kept_oids(const std::vector<std::string>& kept) {
    std::string list;
    for (const auto& t : kept) list += (list.empty() ? "" : ", ") + quote_literal(t);
    return "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname || '.' || c.relname IN (" +
           (list.empty() ? std::string("NULL") : list) + ")";
}

}  // namespace

std::string kept_support_sql(const std::vector<std::string>& kept) {
    return "WITH RECURSIVE kept AS (" + kept_oids(kept) + R"SQL(),
parts AS (
  SELECT 'pg_class'::regclass::oid AS classid, oid AS objid FROM kept
  UNION
  SELECT d.classid, d.objid FROM pg_depend d JOIN kept k ON d.refclassid = 'pg_class'::regclass AND d.refobjid = k.oid
  WHERE d.deptype IN ('a', 'i') AND d.classid IN ('pg_class'::regclass, 'pg_attrdef'::regclass, 'pg_constraint'::regclass)
    AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE d.classid = 'pg_constraint'::regclass AND f.oid = d.objid AND f.contype = 'f')),
needs AS (
  SELECT classid, objid FROM parts
  UNION
  SELECT d.refclassid, d.refobjid FROM pg_depend d JOIN needs x ON d.classid = x.classid AND d.objid = x.objid
  WHERE d.deptype IN ('n', 'i')
    AND (x.classid IN ('pg_type'::regclass, 'pg_proc'::regclass) OR (x.classid, x.objid) IN (SELECT classid, objid FROM parts)))
SELECT 'SEQUENCE', n.nspname, c.relname, '', '' FROM needs x JOIN pg_class c ON x.classid = 'pg_class'::regclass AND c.oid = x.objid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S'
UNION SELECT 'INDEX', n.nspname, c.relname, '', '' FROM needs x JOIN pg_class c ON x.classid = 'pg_class'::regclass AND c.oid = x.objid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('i', 'I')
UNION SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname, '', '' FROM needs x
  JOIN pg_type t ON x.classid = 'pg_type'::regclass AND t.oid = x.objid JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE t.typtype IN ('e', 'd', 'r', 'c') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
UNION SELECT 'FUNCTION', n.nspname, p.proname, '', '' FROM needs x JOIN pg_proc p ON x.classid = 'pg_proc'::regclass AND p.oid = x.objid
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION SELECT 'CONSTRAINT', n.nspname, co.conname, r.relname, '' FROM needs x JOIN pg_constraint co ON x.classid = 'pg_constraint'::regclass
  AND co.oid = x.objid JOIN pg_class r ON r.oid = co.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
UNION SELECT 'TABLE', n.nspname, c.relname, '', '' FROM kept k JOIN pg_class c ON c.oid = k.oid JOIN pg_namespace n ON n.oid = c.relnamespace
UNION SELECT 'SCHEMA', '', n.nspname, '', '' FROM needs x JOIN pg_class c ON x.classid = 'pg_class'::regclass AND c.oid = x.objid
  JOIN pg_namespace n ON n.oid = c.relnamespace
UNION SELECT 'SCHEMA', '', n.nspname, '', '' FROM needs x JOIN pg_type t ON x.classid = 'pg_type'::regclass AND t.oid = x.objid
  JOIN pg_namespace n ON n.oid = t.typnamespace
UNION SELECT 'SCHEMA', '', n.nspname, '', '' FROM needs x JOIN pg_proc p ON x.classid = 'pg_proc'::regclass AND p.oid = x.objid
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))SQL";
}

std::string kept_dependents_sql(const std::vector<std::string>& kept, const std::string& except_like) {
    const std::string oids = kept_oids(kept);
    const std::string except = except_like.empty() ? "" : " AND r.relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname LIKE " +
                                                              quote_literal(except_like) + ")";
    // A foreign key comes back NOT VALID: validating it would scan the whole kept table, and the
    // rows appended meanwhile may reference parents that only tonight's copy has.
    return "SELECT format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', co.conrelid::regclass, co.conname), "
           "format('ALTER TABLE %s ADD CONSTRAINT %I %s', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid)) || "
           "CASE WHEN co.convalidated THEN ' NOT VALID' ELSE '' END FROM pg_constraint co "
           "JOIN pg_class r ON r.oid = co.conrelid WHERE co.contype = 'f' AND (co.conrelid IN (" + oids + ") OR co.confrelid IN (" + oids +
           ")) AND r.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)" + except + " "
           "UNION ALL SELECT format('DROP TRIGGER IF EXISTS %I ON %s', t.tgname, t.tgrelid::regclass), pg_get_triggerdef(t.oid) || "
           "CASE t.tgenabled WHEN 'D' THEN format('; ALTER TABLE %s DISABLE TRIGGER %I', t.tgrelid::regclass, t.tgname) "
           "WHEN 'R' THEN format('; ALTER TABLE %s ENABLE REPLICA TRIGGER %I', t.tgrelid::regclass, t.tgname) "
           "WHEN 'A' THEN format('; ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tgrelid::regclass, t.tgname) ELSE '' END FROM pg_trigger t "
           "WHERE t.tgrelid IN (" + oids + ") AND NOT t.tgisinternal "
           "UNION ALL SELECT format('DROP POLICY IF EXISTS %I ON %s', p.polname, p.polrelid::regclass), '' FROM pg_policy p "
           "WHERE p.polrelid IN (" + oids + ")";
}

std::string kept_columns_sql(const std::vector<std::string>& kept) {
    return "SELECT a.attrelid::regclass::text, string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' "
           "ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid IN (" + kept_oids(kept) +
           ") AND a.attnum > 0 AND NOT a.attisdropped GROUP BY 1 ORDER BY 1";
}

namespace {

// What identifies an object across the catalog and the dump: kind family, schema, name.
using Key = std::tuple<std::string, std::string, std::string>;

Key key_of(std::string kind, const std::string& schema, std::string name) {
    if (kind == "DOMAIN") kind = "TYPE";
    if (kind == "CHECK CONSTRAINT") kind = "CONSTRAINT";
    if (kind == "PROCEDURE" || kind == "AGGREGATE" || kind == "ROUTINE") kind = "FUNCTION";
    if (kind == "FUNCTION") name = name.substr(0, name.find('('));
    return {kind, kind == "SCHEMA" ? "" : schema, name};
}

std::set<Key> keys_of(const std::vector<Object>& support) {
    std::set<Key> have;
    for (const auto& o : support) have.insert(key_of(o.kind, o.schema, o.kind == "CONSTRAINT" ? o.args + " " + o.name : o.name));
    return have;
}

}  // namespace

std::vector<DumpId> kept_entries(const RestorePlan& plan, const std::vector<Object>& support) {
    const auto have = keys_of(support);
    std::set<std::string> tables;
    for (const auto& o : support)
        if (o.kind == "TABLE") tables.insert(o.schema + "." + o.name);
    std::vector<DumpId> out;
    for (const auto& e : plan.entries) {
        if (!e.restored()) continue;
        // A kept table's column defaults and sequence ownership are there too; set again, they
        // would wait for an ACCESS EXCLUSIVE lock behind the readers' queries on the table.
        const bool attached = (e.desc == "DEFAULT" || e.desc == "SEQUENCE OWNED BY") && tables.count(e.table);
        if (attached || have.count(key_of(e.desc, e.schema, e.tag))) out.push_back(e.id);
    }
    return out;
}

bool is_kept(const std::vector<Object>& support, const std::string& kind, const std::string& schema, const std::string& name) {
    return keys_of(support).count(key_of(kind, schema, name)) > 0;
}

std::vector<Object> without_kept(const std::vector<Object>& owned, const std::vector<Object>& support) {
    const auto have = keys_of(support);
    std::vector<Object> out;
    for (const auto& o : owned)
        if (!have.count(key_of(o.kind, o.schema, o.name))) out.push_back(o);
    return out;
}

std::vector<std::string> in_schema(const RestorePlan& plan, const std::string& home) {
    std::vector<std::string> out;
    for (const auto& e : plan.entries)
        if (e.created() && (e.schema == home || (e.desc == "SCHEMA" && e.tag == home))) out.push_back(e.desc + " " + e.qualified());
    return out;
}

const std::string& others_views_sql() {
    static const std::string sql = R"SQL(
WITH RECURSIVE me AS (SELECT oid FROM pg_roles WHERE rolname = current_user),
deps (view, depth) AS (
  SELECT DISTINCT r.ev_class, 1
  FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
    AND t.relowner = (SELECT oid FROM me) AND r.ev_class <> t.oid
  UNION
  SELECT r.ev_class, deps.depth + 1
  FROM deps JOIN pg_depend d ON d.refobjid = deps.view AND d.classid = 'pg_rewrite'::regclass
    AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
  JOIN pg_rewrite r ON r.oid = d.objid
  WHERE r.ev_class <> deps.view AND deps.depth < 20
)
SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner)::text, c.relkind::text, pg_get_viewdef(c.oid)
FROM deps JOIN pg_class c ON c.oid = deps.view JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relowner <> (SELECT oid FROM me) AND c.relkind IN ('v', 'm')
GROUP BY c.oid, n.nspname, c.relname, c.relowner, c.relkind ORDER BY max(deps.depth), 1, 2)SQL";
    return sql;
}

std::string create_view_sql(const ForeignView& v) {
    std::string def = v.definition;
    while (!def.empty() && (def.back() == ';' || def.back() == ' ' || def.back() == '\n')) def.pop_back();
    return std::string(v.kind == "m" ? "CREATE MATERIALIZED VIEW " : "CREATE VIEW ") + quote_ident(v.schema) + "." + quote_ident(v.name) +
           " AS " + def;
}

}  // namespace pixrep::drop
