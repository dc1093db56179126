#include "swap_sql.hpp"
#include "db.hpp"

#include <nlohmann/json.hpp>

#include "object_kinds.hpp"
#include "sql_rewrite.hpp"

namespace pixrep::beside {

using common::sql_name;
namespace {

// The kinds the build makes beside and the swap moves, as an SQL list.
std::string moved_kinds() {
    std::string list;
    for (const auto& k : object_kinds())
        if (k.placement == Placement::moved && !k.listing.catalog.empty()) list += (list.empty() ? "'" : ", '") + std::string(k.desc) + "'";
    return list;
}

}  // namespace

const std::string& movable_sql() {
    // Routines and operators first: their arguments name types (a table's row type) that are
    // still where they were. Not range types: their constructor functions belong to the
    // bootstrap superuser and would stay behind (pg-restore keeps them in the live schema).
    static const std::string sql = "SELECT kind, nspname, name, args FROM (" + catalog_objects_sql() +
                                   ") o WHERE nspname = $1 AND NOT member AND owner_oid = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
                                   " AND kind IN (" + moved_kinds() + ") AND NOT (kind = 'TYPE' AND args = 'range')"
                                   " ORDER BY CASE WHEN kind IN ('FUNCTION', 'PROCEDURE', 'AGGREGATE', 'OPERATOR') THEN 0 ELSE 1 END, o, name, args";
    return sql;
}

std::string lock_statement(const std::vector<Movable>& objects) {
    std::string list;
    for (const auto& m : objects)
        if (m.kind == "TABLE") list += (list.empty() ? "" : ", ") + sql_name(m.schema) + "." + sql_name(m.name);
    return list.empty() ? "" : "LOCK TABLE " + list + " IN ACCESS EXCLUSIVE MODE";
}

std::string move_statement(const Movable& m, const std::string& to) { return set_schema_statement(m.kind, m.schema, m.name, m.args, to); }

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

}  // namespace pixrep::beside
