#include "object_kinds.hpp"
#include "db.hpp"

#include "sql_rewrite.hpp"

namespace pixrep::beside {

using common::sql_name;
namespace {

using P = Placement;

// A relation kind of pg_class. Sequences owned by a column go with their table.
constexpr std::string_view kRelName = "x.relname";
constexpr std::string_view kOwnedSequence =
    " AND NOT (x.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = x.oid "
    "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))";

const std::vector<ObjectKind> kKinds = {
    // What others depend on comes after them: a drop goes down this table.
    {"VIEW", "VIEW", "relation", P::moved, {"pg_class", "relnamespace", kRelName, "''", "relowner", "x.relkind = 'v'"}},
    {"MATERIALIZED VIEW", "MATERIALIZED VIEW", "relation", P::moved, {"pg_class", "relnamespace", kRelName, "''", "relowner", "x.relkind = 'm'"}},
    {"TABLE", "TABLE", "relation", P::moved, {"pg_class", "relnamespace", kRelName, "''", "relowner", "x.relkind IN ('r', 'p')"}},
    {"FOREIGN TABLE", "FOREIGN TABLE", "relation", P::moved, {"pg_class", "relnamespace", kRelName, "''", "relowner", "x.relkind = 'f'"}},
    {"SEQUENCE", "SEQUENCE", "relation", P::moved, {"pg_class", "relnamespace", kRelName, "''", "relowner", "x.relkind = 'S'"}},
    {"INDEX", "INDEX", "relation", P::attached, {"pg_class", "relnamespace", kRelName, "''", "relowner", "x.relkind IN ('i', 'I')"}},
    {"STATISTICS", "STATISTICS", "statistics", P::moved, {"pg_statistic_ext", "stxnamespace", "x.stxname", "''", "stxowner", "true"}},
    {"FUNCTION", "ROUTINE", "routine", P::moved,
     {"pg_proc", "pronamespace", "x.proname", "pg_get_function_identity_arguments(x.oid)", "proowner", "x.prokind IN ('f', 'w')"}},
    {"PROCEDURE", "ROUTINE", "routine", P::moved,
     {"pg_proc", "pronamespace", "x.proname", "pg_get_function_identity_arguments(x.oid)", "proowner", "x.prokind = 'p'"}},
    // Not ROUTINE: only ALTER AGGREGATE reads an ordered-set aggregate's "(ORDER BY text)".
    {"AGGREGATE", "AGGREGATE", "routine", P::moved,
     {"pg_proc", "pronamespace", "x.proname", "pg_get_function_identity_arguments(x.oid)", "proowner", "x.prokind = 'a'"}},
    {"OPERATOR CLASS", "OPERATOR CLASS", "operator class", P::moved,
     {"pg_opclass", "opcnamespace", "x.opcname", "(SELECT amname FROM pg_am WHERE oid = x.opcmethod)", "opcowner", "true"}},
    {"OPERATOR FAMILY", "OPERATOR FAMILY", "operator family", P::moved,
     {"pg_opfamily", "opfnamespace", "x.opfname", "(SELECT amname FROM pg_am WHERE oid = x.opfmethod)", "opfowner", "true"}},
    {"OPERATOR", "OPERATOR", "operator", P::moved,
     {"pg_operator", "oprnamespace", "x.oprname",
      "CASE WHEN x.oprleft = 0 THEN 'NONE' ELSE format_type(x.oprleft, NULL) END || ', ' || format_type(x.oprright, NULL)", "oprowner",
      "true"}},
    {"TEXT SEARCH CONFIGURATION", "TEXT SEARCH CONFIGURATION", "text search configuration", P::moved,
     {"pg_ts_config", "cfgnamespace", "x.cfgname", "''", "cfgowner", "true"}},
    {"TEXT SEARCH DICTIONARY", "TEXT SEARCH DICTIONARY", "text search dictionary", P::moved,
     {"pg_ts_dict", "dictnamespace", "x.dictname", "''", "dictowner", "true"}},
    // Only a superuser makes parsers and templates: they have no owner to list them by.
    {"TEXT SEARCH PARSER", "TEXT SEARCH PARSER", "text search parser", P::moved, {}},
    {"TEXT SEARCH TEMPLATE", "TEXT SEARCH TEMPLATE", "text search template", P::moved, {}},
    {"CONVERSION", "CONVERSION", "conversion", P::moved, {"pg_conversion", "connamespace", "x.conname", "''", "conowner", "true"}},
    {"COLLATION", "COLLATION", "collation", P::moved, {"pg_collation", "collnamespace", "x.collname", "''", "collowner", "true"}},
    {"TYPE", "TYPE", "type", P::moved,
     // Made by CREATE TYPE: not a table's row type, not an array type. A range type says so in
     // args: its constructors are the bootstrap superuser's, so it cannot move.
     {"pg_type", "typnamespace", "x.typname", "CASE x.typtype WHEN 'r' THEN 'range' ELSE '' END", "typowner",
      "x.typtype IN ('e', 'c', 'r') AND x.typelem = 0 AND (x.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = x.typrelid) = 'c')"}},
    {"DOMAIN", "DOMAIN", "type", P::moved, {"pg_type", "typnamespace", "x.typname", "''", "typowner", "x.typtype = 'd'"}},
    {"SHELL TYPE", "TYPE", "type", P::moved, {}},
    {"SCHEMA", "SCHEMA", "schema", P::target, {"pg_namespace", "", "x.nspname", "''", "nspowner", "true"}},
    {"EXTENSION", "EXTENSION", "", P::target, {}},
    // Parts of a table or a type: made beside it, they move with it.
    {"CONSTRAINT", "", "", P::attached, {}},
    {"CHECK CONSTRAINT", "", "", P::attached, {}},
    {"FK CONSTRAINT", "", "", P::attached, {}},
    {"DEFAULT", "", "", P::attached, {}},
    {"TRIGGER", "", "", P::attached, {}},
    {"RULE", "", "", P::attached, {}},
    {"POLICY", "", "", P::attached, {}},
    {"ROW SECURITY", "", "", P::attached, {}},
    {"INDEX ATTACH", "", "", P::attached, {}},
    {"TABLE ATTACH", "", "", P::attached, {}},
    {"SEQUENCE OWNED BY", "", "", P::attached, {}},
    {"SEQUENCE SET", "", "", P::attached, {}},
    {"TABLE DATA", "", "", P::attached, {}},
    {"MATERIALIZED VIEW DATA", "", "", P::attached, {}},
    {"STATISTICS DATA", "", "", P::attached, {}},
    {"COMMENT", "", "", P::attached, {}},
    {"SECURITY LABEL", "", "", P::attached, {}},
    // Not in a schema, but naming what is built beside (a cast between its types): made with it.
    {"CAST", "", "", P::attached, {}},
    {"TRANSFORM", "", "", P::attached, {}},
    // Names of the whole database: yesterday's would clash with tonight's.
    {"PUBLICATION", "PUBLICATION", "publication", P::database, {}},
    {"PUBLICATION TABLE", "", "", P::database, {}},
    {"PUBLICATION TABLES IN SCHEMA", "", "", P::database, {}},
    {"EVENT TRIGGER", "EVENT TRIGGER", "event trigger", P::database, {}},
    {"SUBSCRIPTION", "SUBSCRIPTION", "subscription", P::database, {}},
    {"SERVER", "SERVER", "server", P::database, {}},
    {"USER MAPPING", "", "", P::database, {}},
    {"FOREIGN DATA WRAPPER", "FOREIGN DATA WRAPPER", "foreign data wrapper", P::database, {}},
    {"PROCEDURAL LANGUAGE", "LANGUAGE", "language", P::database, {}},
    {"ACCESS METHOD", "ACCESS METHOD", "access method", P::database, {}},
    // --no-owner --no-privileges restore nothing of these; the dump's own settings are the session's.
    {"ACL", "", "", P::none, {}},
    {"DEFAULT ACL", "", "", P::none, {}},
    {"ENCODING", "", "", P::none, {}},
    {"STDSTRINGS", "", "", P::none, {}},
    {"SEARCHPATH", "", "", P::none, {}},
    {"DATABASE", "", "", P::none, {}},
    {"DATABASE PROPERTIES", "", "", P::none, {}},
};

}  // namespace

const std::vector<ObjectKind>& object_kinds() { return kKinds; }

const ObjectKind* object_kind(std::string_view desc) {
    for (const auto& k : kKinds)
        if (k.desc == desc) return &k;
    return nullptr;
}

bool built_beside(std::string_view desc) {
    const ObjectKind* k = object_kind(desc);
    return k && k->placement == Placement::moved && !k->family.empty();
}

std::string catalog_objects_sql() {
    std::string sql;
    int rank = 0;
    for (const auto& k : kKinds) {
        ++rank;
        const Listing& l = k.listing;
        if (l.catalog.empty()) continue;
        const std::string catalog(l.catalog);
        const std::string schema = l.namespace_.empty() ? "''::text" : "n.nspname::text";
        const std::string join = l.namespace_.empty() ? "" : " JOIN pg_namespace n ON n.oid = x." + std::string(l.namespace_);
        // With its catalog, so that pg_depend's index is used.
        sql += std::string(sql.empty() ? "" : "\nUNION ALL ") + "SELECT " + std::to_string(rank) + " AS o, '" + std::string(k.desc) + "'::text AS kind, " +
               schema + " AS nspname, (" + std::string(l.name) + ")::text AS name, (" + std::string(l.args) + ")::text AS args, x." +
               std::string(l.owner) + " AS owner_oid, EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '" + catalog +
               "'::regclass AND d.objid = x.oid AND d.deptype = 'e') AS member FROM " + catalog + " x" + join + " WHERE " +
               std::string(l.where) + (k.desc == "SEQUENCE" ? std::string(kOwnedSequence) : "");
    }
    return sql;
}

std::string object_reference(std::string_view kind, const std::string& schema, const std::string& name, const std::string& args) {
    if (kind == "SCHEMA") return sql_name(name);
    const ObjectKind* k = object_kind(kind);
    const std::string family = k ? std::string(k->family) : "";
    // An operator's name is never quoted: it is made of operator characters.
    if (family == "operator") return sql_name(schema) + "." + name + " (" + args + ")";
    const std::string qualified = sql_name(schema) + "." + sql_name(name);
    if (family == "routine") return qualified + "(" + args + ")";
    if (family == "operator class" || family == "operator family") return qualified + " USING " + sql_name(args);
    return qualified;
}

std::string set_schema_statement(std::string_view kind, const std::string& schema, const std::string& name, const std::string& args,
                                 const std::string& to) {
    const ObjectKind* k = object_kind(kind);
    return "ALTER " + std::string(k ? k->sql : kind) + " " + object_reference(kind, schema, name, args) + " SET SCHEMA " + sql_name(to);
}

std::string drop_statement(std::string_view kind, const std::string& schema, const std::string& name, const std::string& args) {
    const ObjectKind* k = object_kind(kind);
    return "DROP " + std::string(k ? k->sql : kind) + " IF EXISTS " + object_reference(kind, schema, name, args) + " CASCADE";
}

}  // namespace pixrep::beside
