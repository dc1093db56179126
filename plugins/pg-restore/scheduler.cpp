#include "scheduler.hpp"

#include <regex>

namespace pixrep::restore {

std::optional<std::pair<std::string, std::string>> foreign_key_tables(const std::string& sql) {
    static const std::string name = R"((?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*)(?:\.(?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*))?)";
    static const std::regex alter("^\\s*ALTER\\s+TABLE\\s+(?:ONLY\\s+)?(" + name + ")", std::regex::icase);
    static const std::regex references("\\bFOREIGN\\s+KEY\\b[\\s\\S]*?\\bREFERENCES\\s+(" + name + ")", std::regex::icase);
    std::smatch a, r;
    if (!std::regex_search(sql, a, alter) || !std::regex_search(sql, r, references)) return std::nullopt;
    return std::make_pair(a[1].str(), r[1].str());
}

Scheduler::Scheduler(std::vector<Deferred> work) : work_(std::move(work)), taken_(work_.size()), done_(work_.size()) {
    for (const auto& w : work_) {
        if (w.replaces) created_by_work_.insert(*w.replaces);
        std::optional<Edge> key;
        for (const auto& sql : w.sql)
            if (auto k = foreign_key_tables(sql); k && k->first != k->second) key = k;
        keys_.push_back(std::move(key));
    }
}

// True when the keys being added lead from the table work `i` references back to its own: it
// would hold its table and wait for one that waits, in the end, for its own.
bool Scheduler::clashes(std::size_t i) const {
    if (!keys_[i]) return false;
    std::vector<std::string> todo{keys_[i]->second};
    std::set<std::string> seen;
    while (!todo.empty()) {
        const std::string t = todo.back();
        todo.pop_back();
        if (t == keys_[i]->first) return true;
        if (!seen.insert(t).second) continue;
        for (const auto& [from, to] : adding_)
            if (from == t) todo.push_back(to);
    }
    return false;
}

void Scheduler::table_loaded(const std::string& table) { loaded_.insert(table); }

void Scheduler::restore_over() { restore_over_ = true; }

bool Scheduler::ready(std::size_t i) const {
    const auto& w = work_[i];
    if (!restore_over_ && (w.table.empty() || !loaded_.count(w.table))) return false;
    // Entries pg_restore creates exist once their table is loaded or the restore is over; those
    // created by other deferred work must wait for it.
    for (DumpId d : w.after)
        if (created_by_work_.count(d) && !created_.count(d)) return false;
    return true;
}

std::optional<std::size_t> Scheduler::take() {
    for (std::size_t i = 0; i < work_.size(); ++i)
        if (!taken_[i] && ready(i) && !clashes(i)) {
            taken_[i] = true;
            ++started_;
            if (keys_[i]) adding_.insert(*keys_[i]);
            return i;
        }
    return std::nullopt;
}

void Scheduler::done(std::size_t i) {
    if (done_[i]) return;
    done_[i] = true;
    ++done_count_;
    if (keys_[i]) adding_.erase(adding_.find(*keys_[i]));
    if (work_[i].replaces) created_.insert(*work_[i].replaces);
}

}  // namespace pixrep::restore
