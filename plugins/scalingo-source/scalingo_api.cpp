#include "scalingo_api.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <pixrep/step.hpp>

namespace pixrep::scalingo {

std::optional<double> parse_rfc3339(const std::string& s) {
    int Y, M, D, h, m, sec;
    char T;
    int consumed = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &Y, &M, &D, &T, &h, &m, &sec, &consumed) != 7 || consumed != 19 ||
        (T != 'T' && T != 't' && T != ' '))
        return std::nullopt;
    std::size_t i = 19;
    double frac = 0;
    if (i < s.size() && s[i] == '.') {
        double scale = 0.1;
        for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, scale /= 10) frac += (s[i] - '0') * scale;
    }
    int offset = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = std::atoi(s.substr(i + 1, 2).c_str()), om = std::atoi(s.substr(i + 4, 2).c_str());
        offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        i += 6;
    } else {
        return std::nullopt;
    }
    if (i != s.size() || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
    std::tm tm{};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    return static_cast<double>(timegm(&tm)) - offset + frac;
}

std::string pick_addon(const nlohmann::json& body, const std::string& app, const std::string& wanted) {
    if (!body.is_object() || !body.contains("addons") || !body["addons"].is_array())
        throw StepError(ErrorKind::input, "Scalingo's addon list for app '" + app + "' is malformed (no 'addons' array)");
    std::vector<std::string> pg;
    for (const auto& a : body["addons"]) {
        std::string id = a.value("id", "");
        std::string provider = a.contains("addon_provider") && a["addon_provider"].is_object() ? a["addon_provider"].value("id", "") : "";
        if (!wanted.empty() && id == wanted) return id;
        if (provider == "postgresql" || provider == "scalingo-postgresql") pg.push_back(id);
    }
    if (!wanted.empty()) throw StepError(ErrorKind::config, "app '" + app + "' has no addon '" + wanted + "' (SCALINGO_ADDON_ID)");
    if (pg.empty()) throw StepError(ErrorKind::input, "app '" + app + "' has no PostgreSQL addon");
    if (pg.size() > 1) {
        std::string ids;
        for (const auto& id : pg) ids += (ids.empty() ? "" : ", ") + id;
        throw StepError(ErrorKind::config, "app '" + app + "' has " + std::to_string(pg.size()) + " PostgreSQL addons (" + ids +
                                               "); set SCALINGO_ADDON_ID to choose one");
    }
    return pg.front();
}

std::vector<BackupInfo> parse_backups(const nlohmann::json& body) {
    if (!body.is_object() || !body.contains("database_backups") || !body["database_backups"].is_array())
        throw StepError(ErrorKind::input, "Scalingo's backup list is malformed (no 'database_backups' array)");
    std::vector<BackupInfo> out;
    for (const auto& b : body["database_backups"]) {
        BackupInfo i;
        i.id = b.value("id", "");
        i.name = b.contains("name") && b["name"].is_string() ? b["name"].get<std::string>() : i.id;
        i.status = b.value("status", "");
        i.created_at = b.contains("created_at") && b["created_at"].is_string() ? b["created_at"].get<std::string>() : "";
        if (b.contains("size") && b["size"].is_number()) i.size = b["size"].get<long long>();
        auto t = parse_rfc3339(i.created_at);
        if (i.id.empty() || !t)
            throw StepError(ErrorKind::input, "Scalingo's backup list has an entry without id or with an unreadable created_at ('" +
                                                  i.created_at + "')");
        i.created = *t;
        out.push_back(std::move(i));
    }
    return out;
}

BackupInfo pick_backup(const std::vector<BackupInfo>& backups, const std::string& wanted) {
    if (!wanted.empty()) {
        for (const auto& b : backups)
            if (b.id == wanted) {
                if (b.status != "done")
                    throw StepError(ErrorKind::transient, "backup " + wanted + " is " + b.status + ", not done yet");
                return b;
            }
        throw StepError(ErrorKind::config, "no backup with id '" + wanted + "' (SCALINGO_BACKUP_ID)");
    }
    if (backups.empty()) throw StepError(ErrorKind::input, "the database has no backup at all");
    const BackupInfo* best = nullptr;
    for (const auto& b : backups)
        if (b.status == "done" && (!best || b.created > best->created)) best = &b;
    if (!best) {
        std::string states;
        for (const auto& b : backups) states += (states.empty() ? "" : ", ") + b.name + " " + b.status;
        throw StepError(ErrorKind::transient, "no backup is done yet (" + states + ")");
    }
    return *best;
}

std::string error_text(const std::string& body) {
    try {
        auto j = nlohmann::json::parse(body);
        if (j.is_object() && j.contains("error") && j["error"].is_string()) {
            std::string e = j["error"];
            if (j.contains("resource") && j["resource"].is_string()) e = j["resource"].get<std::string>() + " " + e;
            return e;
        }
        if (j.is_object() && j.contains("errors")) return j["errors"].dump();
    } catch (const std::exception&) {
    }
    std::string s = body.substr(0, 120);
    std::replace_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
    return s.empty() ? "(empty body)" : s;
}

nlohmann::json parse_json(const std::string& body, const std::string& what) {
    try {
        return nlohmann::json::parse(body);
    } catch (const std::exception&) {
        throw StepError(ErrorKind::input, "Scalingo " + what + ": answer is not JSON: " + error_text(body));
    }
}

}  // namespace pixrep::scalingo
