#include "extension_rows.hpp"

#include "copy_in.hpp"
#include "copy_text.hpp"
#include "db.hpp"
#include "entry_stream.hpp"

namespace pixrep::restore {
namespace {

constexpr const char* kRows = "pg_temp.pixrep_extension_rows";

// What the target role may do with `table`: "yes" (read and add rows), "no", or "missing".
std::string access(common::CopyIn& in, const std::string& table) {
    const std::string t = common::quote_literal(table);
    return in.exec("SELECT CASE WHEN to_regclass(" + t + ") IS NULL THEN 'missing' WHEN has_table_privilege(" + t +
                   ", 'INSERT') AND has_table_privilege(" + t + ", 'SELECT') THEN 'yes' ELSE 'no' END");
}

void add_one(RunContext& ctx, const TocEntry& listed) {
    const TocEntry e = common::arrived_entry(ctx, listed);
    const std::string table = common::sql_name(e.schema) + "." + common::sql_name(e.tag);
    common::CopyIn in(ctx.env(), "pg-restore extension rows");
    if (const std::string may = access(in, table); may != "yes") {
        const std::string what = e.qualified() + ": " + std::to_string(std::max<std::int64_t>(e.rows, 0)) +
                                 " row(s) of an extension's configuration table left out: " +
                                 (may == "missing" ? "the target has no such table (the extension is not there)"
                                                   : "the target role may not write it (the extension's owner may add them)");
        ctx.log().warn(what, {{"table", e.qualified()}});
        ctx.add_note(what);
        return;
    }
    const std::string columns = common::quote_ident_list(common::copy_columns(e.copy));
    in.exec(std::string("DROP TABLE IF EXISTS ") + kRows);
    in.exec("CREATE TEMP TABLE pixrep_extension_rows AS SELECT " + columns + " FROM " + table + " WITH NO DATA");
    in.begin(std::string("COPY ") + kRows + " (" + columns + ") FROM STDIN");
    common::stream_rows(ctx.env(), *ctx.backup(), e, [](const std::vector<std::string>&) {}, [&](std::string_view row) { in.row(row); },
                        [&ctx] { return ctx.env().stopping(); });
    const long long read = in.commit();
    const std::string added = in.exec("WITH added AS (INSERT INTO " + table + " (" + columns + ") SELECT " + columns + " FROM " + kRows +
                                      " EXCEPT SELECT " + columns + " FROM " + table + " RETURNING 1) SELECT count(*) FROM added");
    in.exec(std::string("DROP TABLE ") + kRows);
    ctx.add_note(e.qualified() + ": " + added + " row(s) added to an extension's configuration table (" + std::to_string(read) +
                 " in the backup, the others already there)");
}

}  // namespace

void add_extension_rows(RunContext& ctx, const std::vector<TocEntry>& entries) {
    for (const auto& e : entries) {
        try {
            add_one(ctx, e);
        } catch (const StepError& err) {
            // The copy is whole and live: rows an extension's table could not take are said, not a failed night.
            if (ctx.env().stopping()) throw;
            const std::string what = e.qualified() + ": the rows of an extension's configuration table could not be added: " + err.what();
            ctx.log().warn(what, {{"table", e.qualified()}});
            ctx.add_note(what);
        }
    }
}

}  // namespace pixrep::restore
