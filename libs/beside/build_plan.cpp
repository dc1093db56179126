#include "build_plan.hpp"

#include <algorithm>
#include <map>

#include "db.hpp"
#include "object_kinds.hpp"

namespace pixrep::beside {

using common::sql_name;

const char* const kDumpSearchPath = "SELECT pg_catalog.set_config('search_path', '', false)";

namespace {

// Entries that come after the data in pg_dump's post-data section.
bool after_data(const std::string& desc) {
    static const std::set<std::string> kinds{"INDEX", "INDEX ATTACH", "CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "TRIGGER",
                                             "RULE", "POLICY", "ROW SECURITY", "STATISTICS", "MATERIALIZED VIEW DATA"};
    return kinds.count(desc) > 0;
}

Placement placement(const std::string& desc) {
    const ObjectKind* k = object_kind(desc);
    return k ? k->placement : Placement::attached;
}

// What --no-owner --no-privileges restores nothing of, and what the build makes itself (schemas).
bool skipped(const std::string& desc) { return placement(desc) == Placement::none || desc == "SCHEMA"; }

// A routine whose body is text, resolved when it runs: PL/pgSQL, or SQL in quotes (not BEGIN
// ATOMIC nor RETURN, which are parsed at creation and follow their objects).
bool body_resolved_at_run_time(const TocEntry& e) {
    return (e.desc == "FUNCTION" || e.desc == "PROCEDURE") && e.sql.find("\n    AS ") != std::string::npos;
}

bool annotation(const std::string& desc) { return desc == "COMMENT" || desc == "SECURITY LABEL"; }

}  // namespace

std::string unbuildable(const RestorePlan& plan) {
    for (const auto& e : plan.entries) {
        if (!e.restored()) continue;
        if (e.desc == "BLOB" || e.desc == "BLOBS" || e.desc == "BLOB METADATA" || e.desc == "LARGE OBJECT")
            return "the backup holds large objects, which belong to the whole database and cannot be built beside the live ones";
        if (e.desc == "TABLE DATA" && e.copy.empty())
            return "the rows of " + e.qualified() + " are INSERT statements (pg_dump --inserts), which the build does not read";
    }
    return "";
}

std::vector<std::string> extension_schemas(const RestorePlan& plan) {
    std::set<std::string> out;
    for (const auto& e : plan.entries) {
        if (e.desc != "EXTENSION" || !e.created()) continue;
        for (DumpId d : e.deps)
            if (const TocEntry* s = plan.find(d); s && s->desc == "SCHEMA") out.insert(s->tag);
    }
    return {out.begin(), out.end()};
}

std::set<DumpId> refreshed_after_swap(const RestorePlan& plan) {
    std::set<DumpId> out;
    for (const auto& e : plan.entries) {
        if (e.desc != "MATERIALIZED VIEW DATA" || !e.restored()) continue;
        // What the view's rows come through, however deep.
        std::set<DumpId> seen;
        std::vector<DumpId> todo(e.deps.begin(), e.deps.end());
        while (!todo.empty()) {
            const DumpId d = todo.back();
            todo.pop_back();
            if (!seen.insert(d).second) continue;
            const TocEntry* x = plan.find(d);
            if (!x) continue;
            if (body_resolved_at_run_time(*x)) {
                out.insert(e.id);
                break;
            }
            todo.insert(todo.end(), x->deps.begin(), x->deps.end());
        }
    }
    return out;
}

std::set<std::string> kept_tables(const RestorePlan& plan) {
    std::set<std::string> kept;
    for (const auto& e : plan.entries)
        if (e.desc == "TABLE" && e.fate == Fate::kept) kept.insert(e.table);
    return kept;
}

namespace {

bool policy_on_kept(const TocEntry& e, const std::set<std::string>& kept) {
    return e.restored() && e.desc == "POLICY" && !e.table.empty() && kept.count(e.table) > 0;
}

}  // namespace

bool extension_config_data(const RestorePlan& plan, const TocEntry& e) {
    // The plan names a data entry's table after its TABLE entry: none, none to name.
    return e.desc == "TABLE DATA" && (e.table.empty() || plan.table(e.table) == nullptr);
}

std::vector<std::string> remade_in_swap(const RestorePlan& plan) {
    const auto kept = kept_tables(plan);
    std::vector<std::string> out;
    for (const auto& e : plan.entries)
        if (policy_on_kept(e, kept)) out.push_back(e.sql);
    if (!out.empty()) out.insert(out.begin(), "SELECT pg_catalog.set_config('search_path', '', true)");
    return out;
}

namespace {

// Yesterday's object of the same name goes first: a publication's name is the whole database's.
std::vector<std::string> replacing(const TocEntry& e) {
    std::vector<std::string> sql{kDumpSearchPath};
    if (e.desc == "PUBLICATION") sql.push_back("DROP PUBLICATION IF EXISTS " + sql_name(e.tag));
    sql.push_back(e.sql);
    return sql;
}

// The build's refresh gives the view yesterday's rows when yesterday's tables are there (so that
// readers never find it unpopulated between the swap and its refresh); none on a first night.
std::string tolerant_refresh(const std::string& refresh) {
    std::string body = refresh;
    while (!body.empty() && (body.back() == '\n' || body.back() == ';')) body.pop_back();
    return "DO $pixrep$ BEGIN " + body + "; EXCEPTION WHEN undefined_table OR undefined_function OR undefined_object OR "
           "invalid_schema_name THEN NULL; END $pixrep$";
}

// The names the steps' own SQL creates in a built schema ("CREATE VIEW public.students"): built
// there tonight too, so that they are swapped in rather than made in yesterday's copy.
BuildNames with_created(BuildNames names, const std::vector<Deferred>& deferred) {
    for (const auto& w : deferred)
        if (!w.replaces)
            for (const auto& sql : w.sql) names.add_created(sql);
    return names;
}

}  // namespace

BuildPlan build_plan(const RestorePlan& plan, const std::vector<Deferred>& deferred, const BuildNames& built_names) {
    BuildPlan out;
    out.in_place_schemas = extension_schemas(plan);
    const auto refresh_later = refreshed_after_swap(plan);
    const BuildNames names = with_created(built_names, deferred);
    const std::set<std::string> kept = kept_tables(plan);
    auto rewrite = [&](const std::string& sql) { return rewrite_for_build(sql, names); };
    // Entries run as the pool's work, by id, with the table whose rows they wait for.
    std::map<DumpId, std::string> as_work;
    for (const auto& w : deferred)
        if (w.replaces) as_work[*w.replaces] = w.table;
    auto on_kept = [&](const TocEntry& e) { return !e.table.empty() && kept.count(e.table) > 0; };
    for (const auto& e : plan.entries) {
        if (!e.restored() || skipped(e.desc) || policy_on_kept(e, kept)) continue;
        const std::string label = e.desc + " " + e.qualified();
        // What hangs on a kept table, and a live schema's comment, wait for the swap: the live
        // names are then tonight's, and yesterday's version of it is gone.
        if (on_kept(e) || (annotation(e.desc) && e.tag.rfind("SCHEMA ", 0) == 0) || placement(e.desc) == Placement::database) {
            out.after_swap.push_back({e.qualified(), e.desc, replacing(e), "", {}, e.id, "pg-restore"});
            continue;
        }
        if (refresh_later.count(e.id)) {
            out.after_swap.push_back({e.qualified(), e.desc, {kDumpSearchPath, e.sql}, "", {}, e.id, "pg-restore"});
            out.work.push_back({e.qualified(), e.desc, {kDumpSearchPath, tolerant_refresh(rewrite(e.sql))}, "", {}, std::nullopt, "pg-restore"});
            continue;
        }
        if (e.desc == "TABLE DATA") {
            out.loads.push_back({e.id, e.table, rewrite(e.copy), e.rows});
            continue;
        }
        if (e.desc == "SEQUENCE SET") {
            out.sequences.push_back({label, rewrite(e.sql)});
            continue;
        }
        std::vector<DumpId> after;
        std::string table = e.table;
        bool post = after_data(e.desc);
        for (DumpId d : e.deps) {
            auto it = as_work.find(d);
            if (it == as_work.end()) continue;
            after.push_back(d);
            if (annotation(e.desc)) post = true, table = it->second;
        }
        if (!post) {
            out.schema.push_back({label, rewrite(e.sql)});
            continue;
        }
        // A materialized view's rows need every table it reads: after the whole load.
        if (e.desc == "MATERIALIZED VIEW DATA") table.clear();
        out.work.push_back({e.qualified(), e.desc, {kDumpSearchPath, rewrite(e.sql)}, table, after, e.id, "pg-restore"});
        as_work[e.id] = table;
    }
    const std::string path = build_search_path(names);
    // What waits for work done after the swap is done after the swap too (a VALIDATE after its ADD).
    std::set<DumpId> later;
    for (const auto& w : out.after_swap)
        if (w.replaces) later.insert(*w.replaces);
    for (const auto& w : deferred) {
        const TocEntry* replaced = w.replaces ? plan.find(*w.replaces) : nullptr;
        const bool waits = std::any_of(w.after.begin(), w.after.end(), [&](DumpId d) { return later.count(d) > 0; });
        if ((replaced && on_kept(*replaced)) || kept.count(w.table) || waits) {
            Deferred live = w;
            live.sql.insert(live.sql.begin(), kDumpSearchPath);
            if (w.replaces) later.insert(*w.replaces);
            out.after_swap.push_back(std::move(live));
            continue;
        }
        Deferred built = w;
        for (auto& s : built.sql) s = rewrite(s);
        built.sql.insert(built.sql.begin(), path);
        out.work.push_back(std::move(built));
    }
    std::stable_sort(out.loads.begin(), out.loads.end(), [](const Load& a, const Load& b) { return a.rows > b.rows; });
    return out;
}

}  // namespace pixrep::beside
