#include "status.hpp"

#include <cmath>
#include <fstream>

#include "db.hpp"
#include "files.hpp"
#include "home.hpp"
#include "pg_conn.hpp"
#include "pg_errors.hpp"

namespace pixrep {

nlohmann::json status_json(const Backup* backup, const RunOutcome& outcome, int code, const RunReport& report) {
    auto tenths = [](double s) { return std::round(s * 10) / 10; };
    nlohmann::json j;
    j["status"] = outcome.success ? "success" : "failure";
    j["duration_s"] = tenths(outcome.seconds);
    j["attempts"] = outcome.attempt;
    j["exit_code"] = code;
    // The history and the page are read by many: the error's statement, code and message, not
    // the DETAIL or CONTEXT lines that quote the rows (those stay in the operator's logs).
    j["error"] = outcome.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(common::error_summary(outcome.error, 600));
    if (backup) {
        j["backup_id"] = backup->id;
        j["backup_name"] = backup->name;
        j["backup_created_at"] = backup->created_at;
    }
    nlohmann::json steps = nlohmann::json::object(), rows = nlohmann::json::object(), figures = nlohmann::json::object();
    for (const auto& [label, s] : report.step_seconds) {
        auto step = label.substr(0, label.find(" ("));
        steps[step] = tenths(steps.value(step, 0.0) + s);
    }
    for (const auto& [name, f] : report.figures) {
        if (name.rfind("rows.", 0) == 0) rows[name.substr(5)] = static_cast<std::int64_t>(f.value);
        else figures[name] = f.value;
    }
    j["steps"] = steps;
    j["rows"] = rows;
    j["figures"] = figures;
    nlohmann::json notes = nlohmann::json::array();
    for (const auto& [step, text] : report.notes) notes.push_back({{"step", step}, {"note", text}});
    j["notes"] = notes;
    return j;
}

void write_last_run(const std::filesystem::path& work_dir, const nlohmann::json& status, Logger& log) {
    try {
        common::write_file_checked(work_dir / "last-run.json", status.dump() + "\n");
    } catch (const std::exception& e) {
        log.warn(std::string("could not write last-run.json: ") + e.what());
    }
}

nlohmann::json read_history(const std::string& conninfo, const std::string& schema, int limit, const std::filesystem::path& work_dir,
                            std::chrono::milliseconds timeout) {
    if (!conninfo.empty()) try {
            common::PgConn c(conninfo + " application_name='pix-db-replication serve'", "target", timeout, nullptr);
            c.exec("SET statement_timeout = " + std::to_string(timeout.count()));
            if (c.scalar("SELECT to_regclass($1) IS NOT NULL", {common::quote_ident(schema) + ".runs"}) == std::optional<std::string>("t"))
                return read_runs(c, schema, limit);
        } catch (const std::exception&) {
        }
    std::ifstream in(work_dir / "last-run.json");
    if (!in) return nlohmann::json::array();
    try {
        return nlohmann::json::array({nlohmann::json::parse(in)});
    } catch (const std::exception&) {
        return nlohmann::json::array();
    }
}

std::map<std::string, std::map<std::string, std::string>> read_state(const std::string& conninfo, const std::string& schema,
                                                                      std::chrono::milliseconds timeout) {
    try {
        common::PgConn c(conninfo + " application_name='pix-db-replication plan'", "target", timeout, nullptr);
        if (c.scalar("SELECT to_regclass($1) IS NOT NULL", {common::quote_ident(schema) + ".state"}) == std::optional<std::string>("t"))
            return Home(c, schema).recall_all();
    } catch (const std::exception&) {
    }
    return {};
}

}  // namespace pixrep
