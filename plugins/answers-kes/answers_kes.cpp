// The big tables. Without BACKUP_MODE, as in 2020: answers and knowledge-elements are restored
// only when RESTORE_ANSWERS_AND_KES=true (with their analytics indexes). With BACKUP_MODE, as
// the original's later versions: each table it names is left out ("none") or kept on the target
// with only its new rows appended from the backup ("incremental"), unless it must be reloaded
// in full, which the run says and explains. Tables are matched by identity (schema and exact
// name), never by a pattern that also catches "user-answers-stats".
#include <algorithm>
#include <ctime>

#include <pixrep/step_export.hpp>

#include "backup_mode.hpp"
#include "copy_text.hpp"
#include "db.hpp"
#include "entry_stream.hpp"
#include "incremental.hpp"

namespace {

using namespace pixrep;
using answers::Mode;

class AnswersKesStep final : public Step {
public:
    StepInfo info() const override {
        return {"answers-kes", "1.0.0", "Big tables: left out, restored with their analytics indexes, or kept with only their new rows (BACKUP_MODE)",
                true};
    }

    void declare(OptionTable& t) override {
        t.add("restore", restore_, "Restore the tables; only the exact value 'true' enables it (when BACKUP_MODE is unset)")
            .env("RESTORE_ANSWERS_AND_KES");
        t.add("tables", tables_, "Tables concerned, as name or schema.name");
        t.add("analytics_indexes", indexes_, "When restored, also build the original's analytics indexes on answers and knowledge-elements");
        t.add("backup_mode", backup_mode_, "JSON object of tables to \"incremental\" or \"none\"; when set, it decides alone").env("BACKUP_MODE");
        t.add("key_columns", key_columns_, "Key column of an incremental table without a single-column integer primary key, as table:column")
            .env("INCREMENTAL_KEY_COLUMNS");
        t.add("full_reload_every", full_reload_every_, "Reload an incremental table in full this often, to catch updates and deletes; 0 = never")
            .env("INCREMENTAL_FULL_RELOAD_EVERY");
    }

    void configure(Logger& log) override {
        if (tables_.empty()) throw StepError(ErrorKind::config, "option 'tables' is empty");
        for (auto& t : tables_) t = answers::qualified(t);
        modes_.clear();
        if (backup_mode_) {
            modes_ = answers::parse_backup_mode(*backup_mode_);
            if (restore_) log.warn("RESTORE_ANSWERS_AND_KES is ignored: BACKUP_MODE decides which tables are left out or kept");
        }
        for (const auto& kc : key_columns_)
            if (kc.find(':') == std::string::npos)
                throw StepError(ErrorKind::config, "option 'key_columns': '" + kc + "' is not table:column");
    }

    void prepare(RunContext& ctx) override {
        before_restore_.clear();
        if (!backup_mode_) return without_backup_mode(ctx);
        for (const auto& m : modes_) {
            const TocEntry* table = ctx.plan().table(m.table);
            if (!table)
                throw StepError(ErrorKind::config, "BACKUP_MODE names table '" + m.table + "', which the backup does not have");
            if (m.mode == Mode::none) {
                const DumpId id = table->id;
                auto n = ctx.exclude([id](const TocEntry& e) { return e.id == id; }, "BACKUP_MODE: none");
                ctx.log().info("table left out (BACKUP_MODE none)", {{"table", m.table}, {"entries_excluded", static_cast<std::int64_t>(n)}});
                ctx.add_note(m.table + ": left out (BACKUP_MODE none)");
            } else {
                incremental(ctx, *table);
            }
        }
        // Tables restored in full get their analytics indexes, as in the original.
        for (const auto& e : ctx.plan().entries)
            if (e.desc == "TABLE" && e.restored() && std::find(tables_.begin(), tables_.end(), e.table) != tables_.end()) analytics(ctx, e);
    }

private:
    void without_backup_mode(RunContext& ctx) {
        auto listed = [&](const std::string& t) { return std::find(tables_.begin(), tables_.end(), t) != tables_.end(); };
        if (!restore_) {
            auto n = ctx.exclude([&](const TocEntry& e) { return e.desc == "TABLE" && listed(e.table); }, "RESTORE_ANSWERS_AND_KES is not 'true'");
            std::string names;
            for (const auto& t : tables_) names += (names.empty() ? "" : ", ") + t;
            ctx.log().info("big tables left out", {{"tables", names}, {"entries_excluded", static_cast<std::int64_t>(n)}});
            return;
        }
        for (const auto& e : ctx.plan().entries)
            if (e.desc == "TABLE" && e.restored() && listed(e.table)) analytics(ctx, e);
    }

    // The original built these after the restore, one by one; the restorer starts each as soon
    // as its table's data is in, beside the other indexes.
    void analytics(RunContext& ctx, const TocEntry& table) {
        if (!indexes_) return;
        if (table.table == "public.knowledge-elements")
            ctx.add_work({"knowledge-elements_createdAt_idx", "INDEX",
                          {"CREATE INDEX \"knowledge-elements_createdAt_idx\" ON public.\"knowledge-elements\" "
                           "((cast(\"createdAt\" AT TIME ZONE 'UTC+1' AS date)) DESC)"},
                          table.table});
        if (table.table == "public.answers")
            ctx.add_work({"answers_challengeId_idx", "INDEX", {"CREATE INDEX \"answers_challengeId_idx\" ON public.answers (\"challengeId\")"},
                          table.table});
    }

    const TocEntry* data_of(const RunContext& ctx, const TocEntry& table) const {
        for (const auto& e : ctx.plan().entries)
            if (e.desc == "TABLE DATA" && e.table == table.table && e.created()) return &e;
        return nullptr;
    }

    // Reads what the target holds of the table; decides; keeps it (new rows appended) or lets it
    // be reloaded in full.
    void incremental(RunContext& ctx, const TocEntry& table) {
        const TocEntry* data = data_of(ctx, table);
        if (!data) throw StepError(ErrorKind::config, "BACKUP_MODE: table '" + table.table + "' has no data entry in the backup");
        answers::TargetTable target;
        std::string key = key_override(table.table);
        common::Session s(ctx.env(), "answers-kes");
        s.run([&](common::Connection& c) { target = read_target(c, table, key); });
        // The backup's largest key matters only when the target has rows (and so a key). Read
        // from a dump, it waits for the table's whole block, and the build would wait with it:
        // a first attempt assumes it is not below the target's, and the append checks that as
        // the rows go by (an older backup fails the attempt, and the retry decides on the keys).
        const bool assumed = !target.empty && target.max_key && !ctx.live() && ctx.env().attempt() == 1 && !decide_on_keys_;
        if (assumed) check_key_in_backup(*data, key);
        answers::BackupTable backup{answers::columns_of(table.sql),
                                    target.empty ? std::nullopt : assumed ? target.max_key : backup_max(ctx, *data, key)};
        const std::string memo = "last_full_reload." + table.table;
        std::optional<std::time_t> last_full;
        if (auto v = ctx.recall(memo)) last_full = static_cast<std::time_t>(std::stoll(*v));
        const std::time_t now = std::time(nullptr);
        auto d = answers::decide(target, backup, last_full, now,
                                 std::chrono::duration_cast<std::chrono::seconds>(full_reload_every_), key.empty() ? "key" : key);
        // Rows masked otherwise than the kept ones (other rules, another key, masking new): all again.
        const RowFilterSpec* filter = ctx.row_filter(table.table);
        const std::string masked = filter ? filter->fingerprint : "", mask_memo = "masking." + table.table;
        if (d.incremental && ctx.recall(mask_memo).value_or("") != masked)
            d = {false, "its rows are masked otherwise than those kept (the masking rules or key changed)"};
        ctx.remember(mask_memo, masked);
        if (d.incremental) {
            // What the table stands on is kept too: it must mean tonight what it means in the backup.
            answers::SupportCheck support;
            s.run([&](common::Connection& c) { support = check_support(c, ctx.plan(), table); });
            if (!support.same) d = {false, support.reason};
            else for (auto& sql : support.statements) before_restore_.push_back(std::move(sql));
        }
        if (d.incremental && assumed) d.reason += ", once its rows show the backup's keys reach it";
        if (d.incremental) {
            ctx.keep(table.id, "kept on the target (BACKUP_MODE incremental)");
            ctx.append({data->id, table.table, key, *target.max_key}, "new rows appended: " + d.reason);
            ctx.log().info(table.table + ": incremental, " + d.reason, {{"table", table.table}, {"mode", std::string("incremental")}});
            ctx.add_note(table.table + ": incremental, " + d.reason);
            return;
        }
        ctx.remember(memo, std::to_string(now));
        ctx.log().info(table.table + ": reloaded in full: " + d.reason, {{"table", table.table}, {"mode", std::string("full")}, {"why", d.reason}});
        ctx.add_note(table.table + ": reloaded in full: " + d.reason);
    }

    // After a failed run (an older backup found by the append, among others), the next one
    // decides on the backup's keys from its first attempt.
    void finish(RunContext&, const RunOutcome& outcome) override { decide_on_keys_ = !outcome.success; }

    // Labels the backup adds to a kept table's enum go in before the restore and its append.
    void execute(RunContext& ctx) override {
        if (before_restore_.empty()) return;
        common::Session s(ctx.env(), "answers-kes");
        s.run([&](common::Connection& c) {
            for (const auto& sql : before_restore_) {
                pqxx::nontransaction tx(c);
                tx.exec(sql);
                ctx.log().info("kept type updated from the backup", {{"sql", sql}});
            }
        });
    }

    // The enums and domains of the kept table's columns and the functions of its defaults, as
    // the target has them, against the backup's definitions.
    answers::SupportCheck check_support(common::Connection& c, const RestorePlan& plan, const TocEntry& table) const {
        pqxx::read_transaction tx(c);
        const std::string name = tx.quote(common::quote_ident(table.schema) + "." + common::quote_ident(table.tag));
        answers::SupportCheck out;
        auto fail = [&](const std::string& what, const std::string& why) {
            return answers::SupportCheck{false, {}, what + " " + why + ", and the kept table uses it"};
        };
        for (const auto& r : tx.exec(support_types_sql(name))) {
            const std::string schema = r[0].as<std::string>(), type = r[1].as<std::string>(), kind = r[2].as<std::string>();
            const std::string qualified = common::quote_ident(schema) + "." + common::quote_ident(type);
            const TocEntry* e = find_entry(plan, kind == "e" ? "TYPE" : "DOMAIN", schema, type);
            if (!e) return fail((kind == "e" ? "type " : "domain ") + qualified, "is not in the backup");
            auto check = kind == "e" ? compare_labels(qualified, r[3].as<std::string>(), e->sql)
                                     : answers::compare_domain(e->sql, r[5].as<std::string>(), r[6].as<bool>(), lines(r[4].as<std::string>()));
            if (!check.same) return {false, {}, (kind == "e" ? "" : "domain " + qualified + ": ") + check.reason + ", and the kept table uses it"};
            for (auto& sql : check.statements) out.statements.push_back(std::move(sql));
        }
        for (const auto& r : tx.exec(support_functions_sql(name))) {
            const std::string schema = r[0].as<std::string>(), fn = r[1].as<std::string>();
            const TocEntry* e = find_entry(plan, "FUNCTION", schema, fn + "(");
            if (!e) return fail("function " + schema + "." + fn, "is not in the backup");
            if (!answers::compare_function(e->sql, r[2].as<std::string>()).same) return fail("function " + schema + "." + fn, "changed its body");
        }
        return out;
    }

    static answers::SupportCheck compare_labels(const std::string& type, const std::string& target, const std::string& sql) {
        auto backup = answers::enum_labels(sql);
        if (!backup) return {false, {}, "type " + type + " is no longer an enum in the backup"};
        return answers::compare_enum(type, lines(target), *backup);
    }

    static std::vector<std::string> lines(const std::string& text) {
        std::vector<std::string> out;
        std::size_t start = 0;
        if (text.empty()) return out;
        for (std::size_t p; (p = text.find('\n', start)) != std::string::npos; start = p + 1) out.push_back(text.substr(start, p - start));
        out.push_back(text.substr(start));
        return out;
    }

    // A TOC entry by kind, schema and tag (a prefix of the tag for "name(" of a function).
    static const TocEntry* find_entry(const RestorePlan& plan, const std::string& desc, const std::string& schema, const std::string& tag) {
        for (const auto& e : plan.entries)
            if (e.desc == desc && e.schema == schema && (tag.back() == '(' ? e.tag.rfind(tag, 0) == 0 : e.tag == tag)) return &e;
        return nullptr;
    }

    static std::string support_types_sql(const std::string& table) {
        return "SELECT DISTINCT n.nspname, t.typname, t.typtype::text, "
               "coalesce((SELECT string_agg(e.enumlabel, E'\\n' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), ''), "
               "coalesce((SELECT string_agg(pg_get_constraintdef(k.oid), E'\\n' ORDER BY k.conname) FROM pg_constraint k "
               "WHERE k.contypid = t.oid), ''), format_type(t.typbasetype, t.typtypmod), t.typnotnull "
               "FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid "
               "JOIN pg_type t ON t.oid = CASE WHEN at.typcategory = 'A' AND at.typelem <> 0 THEN at.typelem ELSE at.oid END "
               "JOIN pg_namespace n ON n.oid = t.typnamespace "
               "WHERE a.attrelid = " + table + "::regclass AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype IN ('e', 'd')";
    }

    static std::string support_functions_sql(const std::string& table) {
        return "SELECT DISTINCT n.nspname, p.proname, p.prosrc FROM pg_attrdef d "
               "JOIN pg_depend dep ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid AND dep.refclassid = 'pg_proc'::regclass "
               "JOIN pg_proc p ON p.oid = dep.refobjid JOIN pg_namespace n ON n.oid = p.pronamespace "
               "WHERE d.adrelid = " + table + "::regclass AND n.nspname NOT IN ('pg_catalog', 'information_schema')";
    }

    std::string key_override(const std::string& table) const {
        for (const auto& kc : key_columns_) {
            auto colon = kc.rfind(':');
            if (answers::qualified(kc.substr(0, colon)) == table) return kc.substr(colon + 1);
        }
        return "";
    }

    answers::TargetTable read_target(common::Connection& c, const TocEntry& table, std::string& key) {
        answers::TargetTable t;
        pqxx::read_transaction tx(c);
        tx.exec("SET LOCAL search_path = ''");  // types come out qualified, as pg_dump writes them
        const std::string name = common::quote_ident(table.schema) + "." + common::quote_ident(table.tag);
        t.exists = tx.exec("SELECT to_regclass(" + tx.quote(name) + ") IS NOT NULL")[0][0].as<bool>();
        if (!t.exists) return t;
        for (const auto& r : tx.exec("SELECT quote_ident(attname) || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute "
                                     "WHERE attrelid = " + tx.quote(name) + "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"))
            t.columns.push_back(r[0].as<std::string>());
        if (key.empty()) {
            auto r = tx.exec("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                             "WHERE i.indrelid = " + tx.quote(name) + "::regclass AND i.indisprimary AND i.indnatts = 1 "
                             "AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)");
            if (r.empty())
                throw StepError(ErrorKind::config, "BACKUP_MODE: table '" + table.table + "' has no single-column integer primary key on "
                                                       "the target; name its key column with option key_columns (" + table.tag + ":column)");
            key = r[0][0].as<std::string>();
        } else {
            check_key_column(tx, table, name, key);
        }
        t.empty = !tx.exec("SELECT EXISTS (SELECT 1 FROM " + name + ")")[0][0].as<bool>();
        auto m = tx.exec("SELECT max(" + common::quote_ident(key) + ")::bigint FROM " + name);
        if (!m[0][0].is_null()) t.max_key = m[0][0].as<std::int64_t>();
        return t;
    }

    // A key named by key_columns must be what "rows above the largest key are new" rests on: an
    // integer (compared as a number), NOT NULL and unique (no NULL to skip, no equal key to
    // lose). Checked in prepare, before anything is dropped.
    static void check_key_column(pqxx::read_transaction& tx, const TocEntry& table, const std::string& name, const std::string& key) {
        auto r = tx.exec("SELECT a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype), a.attnotnull, format_type(a.atttypid, NULL), "
                         "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique AND i.indnatts = 1 "
                         "AND i.indkey[0] = a.attnum AND i.indpred IS NULL AND i.indexprs IS NULL) "
                         "FROM pg_attribute a WHERE a.attrelid = " + tx.quote(name) + "::regclass AND a.attname = " + tx.quote(key) +
                         " AND a.attnum > 0 AND NOT a.attisdropped");
        const std::string option = "option 'key_columns': " + table.tag + ":" + key + ": ";
        if (r.empty()) throw StepError(ErrorKind::config, option + "the target's " + table.table + " has no column '" + key + "'");
        if (!r[0][0].as<bool>())
            throw StepError(ErrorKind::config, option + "the column is " + r[0][2].as<std::string>() + ", not an integer (smallint, integer, bigint)");
        if (!r[0][1].as<bool>()) throw StepError(ErrorKind::config, option + "the column may be NULL; the key must be NOT NULL");
        if (!r[0][3].as<bool>())
            throw StepError(ErrorKind::config, option + "no unique index or constraint on that column alone; rows with equal keys would be lost");
    }

    static void check_key_in_backup(const TocEntry& data, const std::string& key) {
        auto columns = common::copy_columns(data.copy);
        if (std::find(columns.begin(), columns.end(), key) == columns.end())
            throw StepError(ErrorKind::config, "BACKUP_MODE: the backup's " + data.table + " has no column '" + key + "'");
    }

    // The backup's largest key: known from the dump's check when the key is the first column,
    // else read from the dump (one more pass over that table's rows).
    std::optional<std::int64_t> backup_max(RunContext& ctx, const TocEntry& listed, const std::string& key) {
        const TocEntry data = common::arrived_entry(ctx, listed);  // while the dump arrives, once this table's block is in
        auto columns = common::copy_columns(data.copy);
        auto at = std::find(columns.begin(), columns.end(), key);
        check_key_in_backup(data, key);
        if (at == columns.begin() && data.rows >= 0) return data.rows == 0 ? std::nullopt : data.first_key_max;
        if (LiveSource* live = ctx.live()) {  // the source's index answers; no rows read
            auto max = live->query("SELECT max(" + common::quote_ident(key) + ")::text FROM ONLY " + common::quote_ident(data.schema) + "." +
                                   common::quote_ident(data.tag));
            return max ? std::optional<std::int64_t>(std::stoll(*max)) : std::nullopt;
        }
        const std::size_t index = static_cast<std::size_t>(at - columns.begin());
        std::optional<std::int64_t> max;
        bool all_integers = true;
        ctx.log().info("reading the backup's keys of " + data.table +
                       (at == columns.begin() ? " (the check left its rows to the append)" : " (its key is not its first column)"));
        common::stream_rows(ctx.env(), *ctx.backup(), data, [](const std::vector<std::string>&) {},
                            [&](std::string_view row) {
                                auto v = common::copy_field(row, index);
                                auto k = v ? common::integer_field(*v) : std::nullopt;
                                if (!k) all_integers = false;  // the append would fail on it, after the drop
                                if (k && (!max || *k > *max)) max = k;
                            },
                            [&ctx] { return ctx.env().stopping(); });
        // No usable largest key: the table is reloaded in full rather than appended to.
        return all_integers ? max : std::nullopt;
    }

    bool restore_ = false, indexes_ = true;
    bool decide_on_keys_ = false;  ///< The last run failed: wait for the backup's keys before deciding.
    std::vector<std::string> tables_{"answers", "knowledge-elements"}, key_columns_;
    std::vector<std::string> before_restore_;  ///< ADD VALUE statements, run by execute().
    std::optional<std::string> backup_mode_;
    std::chrono::milliseconds full_reload_every_{7 * 24 * 3600 * 1000LL};
    std::vector<answers::TableMode> modes_;
};

}  // namespace

PIXREP_STEP(AnswersKesStep)
