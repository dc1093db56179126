#include "status.hpp"

#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>

#include <pqxx/pqxx>

#include "cron.hpp"

namespace pixrep {

nlohmann::json status_json(const Backup* backup, const RunOutcome& outcome, int code) {
    nlohmann::json j;
    j["status"] = outcome.success ? "success" : "failure";
    j["finished_at"] = format_utc(std::time(nullptr));
    j["duration_s"] = std::round(outcome.seconds * 10) / 10;
    j["attempts"] = outcome.attempt;
    j["exit_code"] = code;
    j["error"] = outcome.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(outcome.error);
    if (backup) {
        j["backup_id"] = backup->id;
        j["backup_name"] = backup->name;
        j["backup_created_at"] = backup->created_at;
    }
    return j;
}

void record_status(const Target& target, const std::filesystem::path& work_dir, const nlohmann::json& j, Logger& log) {
    // The web process runs in another container: the target database itself carries the last
    // run's outcome, as its comment (a database survives DROP OWNED). A copy goes to the work dir.
    std::ofstream(work_dir / "last-run.json") << j.dump() << "\n";
    try {
        pqxx::connection c(target.conninfo);
        pqxx::nontransaction tx(c);
        tx.exec("COMMENT ON DATABASE " + c.quote_name(tx.exec("SELECT current_database()")[0][0].as<std::string>()) + " IS " +
                tx.quote(std::string(kStatusPrefix) + j.dump()));
    } catch (const std::exception& e) {
        log.warn("could not record the run's outcome in the target database", {{"error", log.redact(e.what())}});
    }
}

std::optional<nlohmann::json> read_status(const std::string& conninfo, const std::filesystem::path& work_dir) {
    try {
        pqxx::connection c(conninfo);
        pqxx::nontransaction tx(c);
        auto r = tx.exec("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()");
        if (!r.empty() && !r[0][0].is_null()) {
            auto text = r[0][0].as<std::string>();
            if (text.rfind(kStatusPrefix, 0) == 0) return nlohmann::json::parse(text.substr(std::strlen(kStatusPrefix)));
        }
    } catch (const std::exception&) {
    }
    std::ifstream in(work_dir / "last-run.json");
    if (!in) return std::nullopt;
    try {
        return nlohmann::json::parse(in);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace pixrep
