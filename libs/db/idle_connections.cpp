#include "idle_connections.hpp"

#include <algorithm>
#include <utility>

namespace pixrep::common {

IdleConnections::IdleConnections(std::size_t most, std::chrono::milliseconds longest) : most_(most), longest_(longest) {}

IdleConnections::~IdleConnections() { close_all(); }

PGconn* IdleConnections::take() {
    std::vector<PGconn*> stale;
    PGconn* conn = nullptr;
    {
        std::lock_guard<std::mutex> lock(mu_);
        const auto now = Clock::now();
        for (auto& k : kept_)
            if (now - k.since > longest_ || PQstatus(k.conn) != CONNECTION_OK) stale.push_back(std::exchange(k.conn, nullptr));
        kept_.erase(std::remove_if(kept_.begin(), kept_.end(), [](const Kept& k) { return !k.conn; }), kept_.end());
        if (!kept_.empty()) {
            conn = kept_.back().conn;
            kept_.pop_back();
        }
    }
    for (auto* c : stale) PQfinish(c);  // outside the lock: a close may wait on the network
    return conn;
}

void IdleConnections::keep(PGconn* conn) {
    if (!conn) return;
    PGconn* oldest = nullptr;
    {
        std::lock_guard<std::mutex> lock(mu_);
        kept_.push_back({conn, Clock::now()});
        if (kept_.size() > most_) {
            oldest = kept_.front().conn;
            kept_.erase(kept_.begin());
        }
    }
    if (oldest) PQfinish(oldest);
}

void IdleConnections::close_all() {
    std::vector<Kept> all;
    {
        std::lock_guard<std::mutex> lock(mu_);
        all.swap(kept_);
    }
    for (auto& k : all) PQfinish(k.conn);
}

std::size_t IdleConnections::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_.size();
}

}  // namespace pixrep::common
