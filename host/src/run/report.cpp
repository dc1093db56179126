#include "report.hpp"

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

namespace pixrep {
namespace {

std::int64_t ms(double s) { return static_cast<std::int64_t>(s * 1000); }

// Kinds shown on their own line; everything else is "other".
const char* kind_group(const std::string& kind) {
    for (const char* k : {"TABLE DATA", "APPEND", "INDEX", "CONSTRAINT", "FK CONSTRAINT", "SEQUENCE SET", "ANALYZE"})
        if (kind == k) return k;
    return "other";
}

std::string fmt_figure(const Figure& f) {
    std::ostringstream os;
    if (f.unit == Unit::seconds) return fmt_seconds(f.value);
    os << static_cast<long long>(f.value);
    if (f.unit == Unit::bytes && f.value >= 1 << 20) os << " (" << std::fixed << std::setprecision(1) << f.value / (1 << 20) << " MiB)";
    return os.str();
}

// One line per step, its phases in brackets when they took any time.
void steps_section(std::ostringstream& out, const RunReport& r, Fields& f) {
    std::vector<std::pair<std::string, std::pair<double, std::string>>> per_step;
    for (const auto& [label, s] : r.step_seconds) {
        f.emplace_back("step_ms." + label, ms(s));
        auto paren = label.find(" (");
        std::string step = label.substr(0, paren), phase = label.substr(paren + 2, label.size() - paren - 3);
        auto it = std::find_if(per_step.begin(), per_step.end(), [&](const auto& p) { return p.first == step; });
        if (it == per_step.end()) it = per_step.insert(per_step.end(), {step, {0.0, ""}});
        it->second.first += s;
        if (s >= 0.05) it->second.second += (it->second.second.empty() ? "" : ", ") + phase + " " + fmt_seconds(s);
    }
    for (const auto& [step, v] : per_step)
        out << "  " << std::left << std::setw(22) << step << std::setw(9) << fmt_seconds(v.first)
            << (v.second.empty() ? "" : "(" + v.second + ")") << "\n";
}

void timings_section(std::ostringstream& out, const RunReport& r, Fields& f) {
    if (r.timings.empty()) return;
    std::map<std::string, std::vector<const Timing*>> by_kind;
    for (const auto& t : r.timings) by_kind[kind_group(t.kind)].push_back(&t);
    out << "  restore by kind                    summed     wall   items  slowest\n";
    for (auto& [kind, items] : by_kind) {
        double summed = 0;
        std::vector<std::pair<double, double>> spans;
        for (const auto* t : items) summed += t->seconds, spans.emplace_back(t->start_s, t->start_s + t->seconds);
        double wall = covered_seconds(spans);
        auto sorted = items;
        std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->seconds > b->seconds; });
        std::string slowest;
        for (std::size_t i = 0; i < std::min<std::size_t>(3, sorted.size()); ++i)
            // In "other" the kind alone does not say what the item was (a COMMENT waiting on its table's lock).
            slowest += (i ? ", " : "") + (kind == "other" ? sorted[i]->kind + " " : std::string()) + sorted[i]->name + " " +
                       fmt_seconds(sorted[i]->seconds);
        out << "    " << std::left << std::setw(30) << kind << std::right << std::setw(8) << fmt_seconds(summed) << std::setw(9)
            << fmt_seconds(wall) << std::setw(8) << items.size() << "  " << slowest << "\n";
        f.emplace_back("restore_summed_ms." + kind, ms(summed));
        f.emplace_back("restore_wall_ms." + kind, ms(wall));
    }
}

// Figures named "group.item" are listed under their group; the others one per line.
void figures_section(std::ostringstream& out, const RunReport& r, Fields& f) {
    std::map<std::string, std::vector<std::pair<std::string, const Figure*>>> groups;
    for (const auto& [name, fig] : r.figures) {
        if (fig.unit == Unit::seconds) f.emplace_back(name + "_ms", ms(fig.value));
        else f.emplace_back(name, static_cast<std::int64_t>(fig.value));
        auto dot = name.find('.');
        // A name longer than its column keeps one space before its value.
        if (dot == std::string::npos) out << "  " << std::left << std::setw(22) << name << (name.size() >= 22 ? " " : "") << fmt_figure(fig) << "\n";
        else groups[name.substr(0, dot)].emplace_back(name.substr(dot + 1), &fig);
    }
    for (const auto& [group, items] : groups) {
        out << "  " << group << ":\n";
        for (const auto& [item, fig] : items)
            out << "    " << std::left << std::setw(40) << item << (item.size() >= 40 ? " " : "") << fmt_figure(*fig) << "\n";
    }
}

void notes_section(std::ostringstream& out, const RunReport& r) {
    if (r.notes.empty()) return;
    out << "  decisions:\n";
    for (const auto& [step, text] : r.notes) out << "    " << step << ": " << text << "\n";
}

}  // namespace

std::string fmt_seconds(double s) {
    std::ostringstream os;
    if (s >= 3600) os << static_cast<int>(s / 3600) << "h" << std::setw(2) << std::setfill('0') << static_cast<int>(s / 60) % 60 << "m";
    else if (s >= 60) os << static_cast<int>(s / 60) << "m" << std::setw(2) << std::setfill('0') << static_cast<int>(s) % 60 << "s";
    else os << std::fixed << std::setprecision(1) << s << "s";
    return os.str();
}

double covered_seconds(std::vector<std::pair<double, double>> spans) {
    std::sort(spans.begin(), spans.end());
    double wall = 0, cur_b = 0, cur_e = 0;
    bool open = false;
    for (auto [b, e] : spans) {
        if (!open || b > cur_e) {
            if (open) wall += cur_e - cur_b;
            cur_b = b, cur_e = e, open = true;
        } else {
            cur_e = std::max(cur_e, e);
        }
    }
    if (open) wall += cur_e - cur_b;
    return wall;
}

FormattedReport format_report(const RunReport& r, const RunOutcome& outcome) {
    FormattedReport rep;
    rep.fields = {{"success", outcome.success}, {"duration_ms", ms(outcome.seconds)},
                  {"attempts", static_cast<std::int64_t>(outcome.attempt)}};
    std::ostringstream out;
    out << "run report (" << (outcome.success ? "success" : "FAILED") << ", " << fmt_seconds(outcome.seconds) << ", attempt "
        << outcome.attempt << ")\n";
    steps_section(out, r, rep.fields);
    timings_section(out, r, rep.fields);
    figures_section(out, r, rep.fields);
    notes_section(out, r);
    if (!outcome.success) out << "  error: " << outcome.error << "\n";
    rep.text = out.str();
    return rep;
}

}  // namespace pixrep
