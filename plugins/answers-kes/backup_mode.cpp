#include "backup_mode.hpp"

#include <nlohmann/json.hpp>

#include <pixrep/step.hpp>

namespace pixrep::answers {

std::string qualified(const std::string& name) { return name.find('.') == std::string::npos ? "public." + name : name; }

std::vector<TableMode> parse_backup_mode(const std::string& text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        throw StepError(ErrorKind::config, "BACKUP_MODE is not JSON (" + std::string(e.what()).substr(0, 120) +
                                               "); expected e.g. {\"answers\": \"incremental\", \"knowledge-elements\": \"none\"}");
    }
    if (!j.is_object()) throw StepError(ErrorKind::config, "BACKUP_MODE must be a JSON object of table names to \"incremental\" or \"none\"");
    std::vector<TableMode> out;
    for (const auto& [table, mode] : j.items()) {
        if (table.empty()) throw StepError(ErrorKind::config, "BACKUP_MODE has an empty table name");
        if (!mode.is_string() || (mode != "incremental" && mode != "none"))
            throw StepError(ErrorKind::config, "BACKUP_MODE gives table '" + table + "' the mode " + mode.dump() +
                                                   "; allowed: \"incremental\", \"none\"");
        out.push_back({qualified(table), mode == "none" ? Mode::none : Mode::incremental});
    }
    return out;
}

}  // namespace pixrep::answers
