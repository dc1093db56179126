#pragma once
// The run's connections to the target that a session handed back, for the next one: a night
// opens dozens of short sessions one after the other (the host's record, each step's checks),
// and each new connection costs a server process, and on Scalingo a TLS handshake and SCRAM.
// Few are kept, never for long: a proxy closes connections silent for 30 minutes, and the
// server counts them against its limit.
#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

namespace pixrep::common {

class IdleConnections {
public:
    using Clock = std::chrono::steady_clock;

    /// Keeps at most `most` connections, each for at most `longest`.
    explicit IdleConnections(std::size_t most = 2, std::chrono::milliseconds longest = std::chrono::minutes(5));
    /// Closes what is kept.
    ~IdleConnections();
    IdleConnections(const IdleConnections&) = delete;
    IdleConnections& operator=(const IdleConnections&) = delete;

    /// The connection kept last, the caller's now; nullptr when none was kept within `longest`.
    PGconn* take();
    /// Keeps `conn` (idle, its session state discarded), closing the oldest beyond `most`.
    void keep(PGconn* conn);
    /// Closes every connection kept.
    void close_all();
    /// How many are kept.
    std::size_t size() const;

private:
    struct Kept {
        PGconn* conn;
        Clock::time_point since;
    };
    std::size_t most_;
    std::chrono::milliseconds longest_;
    mutable std::mutex mu_;
    std::vector<Kept> kept_;  // oldest first
};

}  // namespace pixrep::common
