#include "status_page.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <vector>

#include "report.hpp"

namespace pixrep {
namespace {

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string text(const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

double number(const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

// "2026-11-25T05:10:00Z" -> seconds since the epoch; -1 when it is not in that form.
std::time_t parse_utc(const std::string& s) {
    std::tm tm{};
    if (s.size() < 19 || std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                                     &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900, tm.tm_mon -= 1;
    return timegm(&tm);
}

std::string ago(std::time_t then, std::time_t now) {
    if (then < 0) return "";
    long s = static_cast<long>(now - then);
    if (s < 0) s = 0;
    if (s < 3600) return std::to_string(s / 60) + " min ago";
    if (s < 86400 * 2) return std::to_string(s / 3600) + " h ago";
    return std::to_string(s / 86400) + " days ago";
}

std::string status_class(const std::string& status) {
    if (status == "success") return "ok";
    if (status == "running") return "running";
    return "bad";
}

// The values masked per column (figures masked.<table>.<column>); the transforms are in the
// run's decisions. Counts only: a masked value never reaches the page.
void masked(std::ostringstream& out, const nlohmann::json& r) {
    if (!r.contains("figures") || !r["figures"].is_object()) return;
    std::ostringstream items;
    for (const auto& [name, value] : r["figures"].items())
        if (name.rfind("masked.", 0) == 0 && value.is_number())
            items << "<li>" << html_escape(name.substr(7)) << ": " << static_cast<long long>(value.get<double>()) << " value(s) masked</li>";
    if (!items.str().empty()) out << "<ul id=\"masked\">" << items.str() << "</ul>";
}

void last_run(std::ostringstream& out, const nlohmann::json& runs, std::time_t now) {
    out << "<section id=\"last-run\">";
    if (runs.empty()) {
        out << "<h2>No run recorded yet</h2></section>";
        return;
    }
    const auto& r = runs[0];
    const std::string status = text(r, "status");
    out << "<h2>Last run: <span class=\"" << status_class(status) << "\">" << html_escape(status) << "</span></h2><p>";
    out << "Started " << html_escape(text(r, "started_at"));
    if (!text(r, "finished_at").empty())
        out << ", finished " << html_escape(text(r, "finished_at")) << " (" << ago(parse_utc(text(r, "finished_at")), now) << "), in "
            << fmt_seconds(number(r, "duration_s")) << ", " << static_cast<int>(number(r, "attempts")) << " attempt(s)";
    out << ".</p>";
    if (!text(r, "error").empty()) out << "<p class=\"error\">" << html_escape(text(r, "error")) << "</p>";
    // How tables were restored (kept, appended, reloaded in full and why): what an analyst asks.
    if (r.contains("notes") && r["notes"].is_array() && !r["notes"].empty()) {
        out << "<ul id=\"decisions\">";
        for (const auto& n : r["notes"]) out << "<li>" << html_escape(text(n, "note")) << "</li>";
        out << "</ul>";
    }
    masked(out, r);
    // Freshness: the backup of the last run that succeeded.
    for (const auto& run : runs)
        if (text(run, "status") == "success") {
            out << "<p id=\"freshness\">The data comes from backup <b>" << html_escape(text(run, "backup_name")) << "</b>";
            if (!text(run, "backup_created_at").empty()) out << ", made at " << html_escape(text(run, "backup_created_at"));
            out << "; restored " << html_escape(text(run, "finished_at")) << " (" << ago(parse_utc(text(run, "finished_at")), now)
                << ").</p>";
            break;
        }
    out << "</section>";
}

// Stacked bars, oldest night on the left: one segment per step, its height the step's time.
void chart(std::ostringstream& out, const nlohmann::json& runs) {
    std::vector<const nlohmann::json*> nights;
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
        if (it->contains("steps") && (*it)["steps"].is_object() && !(*it)["steps"].empty()) nights.push_back(&*it);
    out << "<section><h2>Where the time went</h2>";
    if (nights.empty()) {
        out << "<p>No timing recorded yet.</p></section>";
        return;
    }
    std::vector<std::string> steps;
    double tallest = 1;
    for (const auto* n : nights) {
        double total = 0;
        for (const auto& [step, s] : (*n)["steps"].items()) {
            if (std::find(steps.begin(), steps.end(), step) == steps.end()) steps.push_back(step);
            total += s.is_number() ? s.get<double>() : 0;
        }
        tallest = std::max(tallest, total);
    }
    const double w = 760, h = 260, left = 56, bottom = 34, top = 10;
    const double slot = (w - left - 10) / static_cast<double>(nights.size()), bar = std::min(40.0, slot * 0.7);
    out << std::fixed << std::setprecision(1) << "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w
        << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << " " << h << "\" role=\"img\" aria-label=\"time per step, run after run\">";
    out << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << h - bottom << "\" stroke=\"#888\"/>";
    out << "<text x=\"" << left - 6 << "\" y=\"" << top + 10 << "\" text-anchor=\"end\" font-size=\"11\">" << fmt_seconds(tallest) << "</text>";
    out << "<text x=\"" << left - 6 << "\" y=\"" << h - bottom << "\" text-anchor=\"end\" font-size=\"11\">0</text>";
    for (std::size_t i = 0; i < nights.size(); ++i) {
        const auto& n = *nights[i];
        double x = left + 6 + slot * static_cast<double>(i), y = h - bottom;
        for (std::size_t k = 0; k < steps.size(); ++k) {
            if (!n["steps"].contains(steps[k]) || !n["steps"][steps[k]].is_number()) continue;
            double s = n["steps"][steps[k]].get<double>(), height = (h - bottom - top) * s / tallest;
            y -= height;
            out << "<rect class=\"segment\" data-run=\"" << n.value("id", 0) << "\" data-step=\"" << html_escape(steps[k]) << "\" x=\"" << x
                << "\" y=\"" << y << "\" width=\"" << bar << "\" height=\"" << height << "\" fill=\"" << kPalette[k % 10] << "\"><title>"
                << html_escape(text(n, "started_at")) << ": " << html_escape(steps[k]) << " " << fmt_seconds(s) << "</title></rect>";
        }
        const std::string started = text(n, "started_at");
        std::string when = started.size() >= 16 ? started.substr(5, 11) : started;  // "11-26T05:10"
        std::replace(when.begin(), when.end(), 'T', ' ');
        out << "<text x=\"" << x + bar / 2 << "\" y=\"" << h - bottom + 14 << "\" text-anchor=\"middle\" font-size=\"10\">"
            << html_escape(when) << "</text>";
    }
    out << "</svg><p class=\"legend\">";
    for (std::size_t k = 0; k < steps.size(); ++k)
        out << "<span><i style=\"background:" << kPalette[k % 10] << "\"></i>" << html_escape(steps[k]) << "</span> ";
    out << "</p></section>";
}

void table(std::ostringstream& out, const nlohmann::json& runs) {
    out << "<section><h2>Recent runs</h2><table id=\"runs\"><thead><tr><th>#</th><th>Started (UTC)</th><th>Status</th><th>Duration</th>"
           "<th>Backup</th><th>Error</th></tr></thead><tbody>";
    for (const auto& r : runs)
        out << "<tr class=\"run\"><td>" << r.value("id", 0) << "</td><td>" << html_escape(text(r, "started_at")) << "</td><td class=\""
            << status_class(text(r, "status")) << "\">" << html_escape(text(r, "status")) << "</td><td>"
            << (r.contains("duration_s") && r["duration_s"].is_number() ? fmt_seconds(number(r, "duration_s")) : "")
            << "</td><td>" << html_escape(text(r, "backup_name")) << "</td><td>" << html_escape(text(r, "error")) << "</td></tr>";
    out << "</tbody></table></section>";
}

}  // namespace

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

namespace {

// Runs asked for: pending ones, and which run served which.
void requests_table(std::ostringstream& out, const nlohmann::json& requests) {
    if (!requests.is_array() || requests.empty()) return;
    out << "<h2>Requested runs</h2><table><tr><th>#</th><th>asked</th><th>by</th><th>why</th><th>state</th><th>run</th></tr>";
    for (const auto& r : requests) {
        const std::string state = text(r, "state");
        out << "<tr class=\"request\"><td>" << r.value("id", 0) << "</td><td>" << html_escape(text(r, "requested_at")) << "</td><td>"
            << html_escape(text(r, "requested_by")) << "</td><td>" << html_escape(text(r, "reason")) << "</td><td class=\""
            << (state == "pending" || state == "running" ? "running" : state == "failed" ? "bad" : "ok") << "\">" << html_escape(state)
            << "</td><td>" << (r.contains("run_id") && r["run_id"].is_number() ? "run " + std::to_string(r["run_id"].get<long long>()) : "")
            << "</td></tr>";
    }
    out << "</table>";
}

}  // namespace

namespace {

void head(std::ostringstream& out) {
    out << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
           "<title>pix-db-replication</title><style>"
           "body{font-family:sans-serif;margin:2em;color:#222;max-width:62em}h1{font-size:1.4em}h2{font-size:1.1em}"
           ".ok{color:#2e7d32}.bad{color:#c62828}.running{color:#ef6c00}.error{color:#c62828;font-family:monospace}"
           "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;font-size:.9em}"
           ".legend span{margin-right:1em;font-size:.85em}.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}"
           "form{display:inline}"
           "</style></head><body><h1>pix-db-replication</h1>";
}

std::string fact(const nlohmann::json& j, const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; }

}  // namespace

std::string render_public_page(const nlohmann::json& facts, std::time_t now, bool can_log_in, const std::string& message) {
    std::ostringstream out;
    head(out);
    out << "<section id=\"public\">";
    if (facts.value("copy", false)) {
        out << "<p id=\"freshness\">The copy holds the data of the backup made at <b>" << html_escape(fact(facts, "backup_created_at"))
            << "</b>; restored " << html_escape(fact(facts, "restored_at")) << " (" << ago(parse_utc(fact(facts, "restored_at")), now) << ").</p>";
    } else {
        out << "<p id=\"freshness\">No copy has been restored yet.</p>";
    }
    if (facts.value("running", false)) out << "<p id=\"running\" class=\"running\">A run is going on.</p>";
    else if (facts.contains("last_run") && facts["last_run"].is_object())
        out << "<p id=\"last-run\">Last run: <span class=\"" << status_class(fact(facts["last_run"], "status")) << "\">"
            << html_escape(fact(facts["last_run"], "status")) << "</span>.</p>";
    out << "</section>";
    if (can_log_in) {
        if (!message.empty()) out << "<p id=\"login-message\" class=\"bad\">" << html_escape(message) << "</p>";
        out << "<form id=\"login\" method=\"post\" action=\"/login\"><label>Token for the runs, their errors and figures: "
               "<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label> "
               "<button type=\"submit\">Log in</button></form>";
    }
    out << "<p><a href=\"/status\">/status</a> (JSON) &middot; <a href=\"/health\">/health</a></p></body></html>";
    return out.str();
}

std::string render_status_page(const nlohmann::json& runs, std::time_t now, const nlohmann::json& requests) {
    std::ostringstream out;
    head(out);
    out << "<form id=\"logout\" method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form>";
    last_run(out, runs, now);
    chart(out, runs);
    table(out, runs);
    requests_table(out, requests);
    out << "<p><a href=\"/status\">/status</a> (JSON) &middot; <a href=\"/health\">/health</a></p></body></html>";
    return out.str();
}

}  // namespace pixrep
