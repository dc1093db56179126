#include "scheduler.hpp"

namespace pixrep::restore {

Scheduler::Scheduler(std::vector<Deferred> work) : work_(std::move(work)), taken_(work_.size()), done_(work_.size()) {
    for (const auto& w : work_)
        if (w.replaces) created_by_work_.insert(*w.replaces);
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
        if (!taken_[i] && ready(i)) {
            taken_[i] = true;
            ++started_;
            return i;
        }
    return std::nullopt;
}

void Scheduler::done(std::size_t i) {
    if (done_[i]) return;
    done_[i] = true;
    ++done_count_;
    if (work_[i].replaces) created_.insert(*work_[i].replaces);
}

}  // namespace pixrep::restore
