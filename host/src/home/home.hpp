#pragma once
// The tool's own schema in the target ("pix_db_replication" unless REPLICATION_SCHEMA says
// otherwise): one row per run (start, end, outcome, backup, time per step, rows per table), the
// access rules to re-apply, and what steps remember between runs. Every run leaves it in
// place; readers may query it ("how fresh is this data?").
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "access_rules.hpp"

namespace pixrep {

namespace common {
class PgConn;
}  // namespace common

/// The statements that create the home `schema` when missing. Pure.
std::vector<std::string> home_ddl(const std::string& schema);

/// What a reader role (GRANT_READ_TO) may read of the home `schema`: the runs, to tell how fresh
/// the copy is; never the access rules, what steps remember, nor who asked for runs and why
/// (revoked, should an older version have granted them). Pure.
std::vector<std::string> home_read_sql(const std::string& schema, const std::string& role);

class Home {
public:
    Home(common::PgConn& conn, std::string schema) : conn_(conn), schema_(std::move(schema)) {}

    /// Creates the schema and its tables when missing. Throws StepError(config) when the role may not.
    void ensure();
    /// Records a run starting now ("running"), first marking "interrupted" the runs still
    /// "running" (the caller holds the run's lock, so they were killed); returns its id.
    std::int64_t begin_run(const std::string& host, long pid);
    /// Records how run `id` ended: `outcome` holds status, exit_code, attempts, error, backup_*,
    /// duration_s, steps, rows, figures.
    void end_run(std::int64_t id, const nlohmann::json& outcome);

    /// Saves the access rules on `schemas` from the catalog as it is now; when the last saved set
    /// was never re-applied, keeps its rules on the objects whose oid changed since (dropped or
    /// rebuilt by the failed run). Returns how many rules are saved.
    std::size_t save_access_rules(const std::vector<std::string>& schemas);
    /// Re-applies the saved rules, then grants read access on `schemas` to `readers`; returns
    /// what could not be re-applied. With `built`, onto tonight's copy in its build schemas.
    std::vector<std::string> reapply_access_rules(const std::vector<std::string>& schemas, const std::vector<std::string>& readers,
                                                  const beside::BuildNames* built = nullptr);

    /// What every step remembered, by step (the host's own entries, step "", left out).
    std::map<std::string, std::map<std::string, std::string>> recall_all();
    /// Stores what steps remember.
    void remember(const std::map<std::string, std::map<std::string, std::string>>& by_step);

private:
    std::string table(const std::string& name) const;
    void write_end(std::int64_t id, const nlohmann::json& outcome);
    common::PgConn& conn_;
    std::string schema_;
};

/// The last `limit` runs recorded in `schema`, newest first, each as JSON; a run still marked
/// running whose lock nobody holds any more is marked "interrupted" in the table first.
nlohmann::json read_runs(common::PgConn& conn, const std::string& schema, int limit);

}  // namespace pixrep
