#pragma once
// The columns of a CREATE TABLE as pg_dump writes it (one column per line, constraints after),
// read once for every step that needs them: the kept tables' comparison with the target, the
// masking rules' check. Pure.
#include <string>
#include <vector>

namespace pixrep::common {

/// One column of a CREATE TABLE.
struct TableColumn {
    std::string name;    ///< Unquoted: firstName.
    std::string quoted;  ///< As pg_dump writes it, as quote_ident() would: "firstName".
    std::string type;    ///< As format_type() writes it: character varying(255), public.mood.
    bool not_null = false;
};

/// The columns of `create_table`, in order; none when it is not a CREATE TABLE with columns.
std::vector<TableColumn> table_columns(const std::string& create_table);

}  // namespace pixrep::common
