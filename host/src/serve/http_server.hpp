#pragma once
// The web process's HTTP transport, on Boost.Beast's asynchronous streams: one thread accepts and
// reads every connection, each request whole (headers and body) within a deadline, so that slow
// or idle clients cost a timer and a buffer, never a thread; /health is answered there at once.
// The other requests, which may read the target, run on a small pool of workers.
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "logger.hpp"

namespace pixrep {

/// What the routes see of a request.
struct HttpRequest {
    std::string method, path;            ///< The path without its query.
    std::string authorization, cookie;   ///< Header values, "" when absent.
    std::string body;
    bool https = false;                  ///< Came over TLS to the platform's router (X-Forwarded-Proto: https).
};

/// What the routes answer.
struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< Set-Cookie, Location, Retry-After...
};

/// The limits of the transport.
struct HttpLimits {
    std::chrono::milliseconds request_deadline{10'000};  ///< To read a whole request, from its first byte to its last.
    std::chrono::milliseconds write_deadline{10'000};    ///< To write an answer.
    int max_connections = 512;                            ///< Beyond, new connections are closed at once.
    int workers = 4;                                      ///< Threads answering what may read the target.
    int max_queued = 64;                                  ///< Requests waiting for a worker; beyond, 503.
};

/// Answers a request (on a worker thread); must not throw.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

/// Serves `handler` on `port` (0 = any; `on_listen` gets the port) until `stop` is set; returns
/// the exit code.
int serve_http(int port, const HttpHandler& handler, const HttpLimits& limits, HostLogger& log, const std::atomic<bool>* stop,
               const std::function<void(int)>& on_listen = {});

}  // namespace pixrep
