#include "progress.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace pixrep::restore {
namespace {

bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "launching item 3453 TABLE DATA t" -> 3453 and "TABLE DATA t"
std::pair<int, std::string> item(const std::string& rest) {
    int id = std::atoi(rest.c_str());
    auto sp = rest.find(' ');
    return {id, sp == std::string::npos ? "" : rest.substr(sp + 1)};
}

}  // namespace

void Progress::start_serial(const std::string& label, double now) {
    end(now);
    serial_label_ = label;
    serial_label_.erase(std::remove(serial_label_.begin(), serial_label_.end(), '"'), serial_label_.end());
    serial_start_ = now;
    ++done_;
}

void Progress::end(double now) {
    if (serial_label_.empty()) return;
    auto sp = serial_label_.find(' ');
    std::string desc = serial_label_.substr(0, sp), tag = sp == std::string::npos ? "" : serial_label_.substr(sp + 1);
    // "TABLE DATA x", "FK CONSTRAINT x": two-word kinds.
    for (const char* two : {"TABLE DATA ", "FK CONSTRAINT ", "SEQUENCE SET ", "SEQUENCE OWNED BY ", "MATERIALIZED VIEW "})
        if (starts(serial_label_, two)) desc = std::string(two).substr(0, std::string(two).size() - 1), tag = serial_label_.substr(desc.size() + 1);
    finished_.push_back({desc, tag, serial_start_, now});
    if (desc == "TABLE DATA") loaded_.push_back(tag.find('.') == std::string::npos ? "public." + tag : tag);
    serial_label_.clear();
}

void Progress::error(const std::string& text) {
    ++errors_;
    if (first_errors_.size() < 6) first_errors_.push_back(text);
    new_errors_.push_back(text);
}

void Progress::line(const std::string& raw, double now) {
    // Parallel workers write to the same stderr: a line may start "pg_restore:pg_restore: ".
    std::string m = raw;
    while (starts(m, "pg_restore:")) m.erase(0, m.size() > 11 && m[11] == ' ' ? 12 : 11);
    if (!pending_setting_.empty()) {
        std::string setting = pending_setting_;
        pending_setting_.clear();
        if (starts(m, ("Command was: SET " + setting + " = ").c_str())) {
            ++harmless_;
            if (std::find(unknown_settings_.begin(), unknown_settings_.end(), setting) == unknown_settings_.end())
                unknown_settings_.push_back(setting);
            return;
        }
        error("error: could not execute query: ERROR:  unrecognized configuration parameter \"" + setting + "\"");
    }
    if (starts(m, "launching item ")) {
        if (!parallel_) end(now);
        parallel_ = true;
        auto [id, label] = item(m.substr(15));
        running_[id] = {label, now};
        ++done_;
    } else if (starts(m, "finished item ")) {
        auto [id, label] = item(m.substr(14));
        auto it = running_.find(id);
        const TocEntry* e = plan_.find(DumpId{id});
        if (it != running_.end()) {
            finished_.push_back({e ? e->desc : label, e ? e->tag : label, it->second.second, now});
            running_.erase(it);
        }
        if (e && e->desc == "TABLE DATA") loaded_.push_back(e->schema + "." + e->tag);
    } else if (starts(m, "entering main parallel loop")) {
        end(now);
        parallel_ = true;
    } else if (starts(m, "processing item ") && !parallel_) {
        auto [id, label] = item(m.substr(16));
        const TocEntry* e = plan_.find(DumpId{id});
        if (e && !e->restored()) return;  // pre-data entries left out are "processed" too
        start_serial(e ? e->desc + " " + e->qualified() : label, now);
        serial_has_id_ = true;
    } else if (!parallel_ && !serial_has_id_ && (starts(m, "creating ") || starts(m, "processing data for table "))) {
        // --jobs=1: one item at a time, named but without its id.
        start_serial(starts(m, "creating ") ? m.substr(9) : "TABLE DATA " + m.substr(26), now);
    } else if (starts(m, "error: ")) {
        static const std::string unknown = "unrecognized configuration parameter \"";
        auto p = m.find(unknown);
        if (p != std::string::npos) {
            auto b = p + unknown.size(), e = m.find('"', b);
            pending_setting_ = m.substr(b, e - b);
            return;
        }
        error(m);
    } else if (starts(m, "warning: errors ignored on restore: ")) {
        reported_ignored_ = std::atoll(m.c_str() + 36);
    }
}

std::vector<FinishedItem> Progress::take_finished() { return std::exchange(finished_, {}); }
std::vector<std::string> Progress::take_loaded() { return std::exchange(loaded_, {}); }
std::vector<std::string> Progress::take_new_errors() { return std::exchange(new_errors_, {}); }

std::string Progress::running(double now) const {
    std::vector<std::pair<double, std::string>> items;
    for (const auto& [id, r] : running_) items.emplace_back(now - r.second, r.first);
    if (!serial_label_.empty()) items.emplace_back(now - serial_start_, serial_label_);
    std::sort(items.rbegin(), items.rend());
    std::string out;
    for (const auto& [s, label] : items) out += (out.empty() ? "" : "; ") + label + " (" + std::to_string(static_cast<long long>(s)) + "s)";
    return out.empty() ? "-" : out;
}

}  // namespace pixrep::restore
