#include "http_server.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <system_error>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "pg_conn.hpp"
#include "pipeline.hpp"
#include "requests.hpp"
#include "status.hpp"
#include "status_page.hpp"

namespace pixrep {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr int kMaxClients = 32;
constexpr std::chrono::seconds kDatabaseTimeout{3};
constexpr std::size_t kMaxBody = 16 * 1024;

void set_timeouts(tcp::socket& s, int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// The runs asked for, for the page; none when the target does not answer at once.
nlohmann::json recent_requests(const StatusSource& source) {
    if (source.conninfo.empty()) return nlohmann::json::array();
    try {
        common::PgConn conn(source.conninfo, "target", kDatabaseTimeout, nullptr);
        conn.set_statement_deadline(kDatabaseTimeout);
        return Requests(conn, source.schema).recent(20);
    } catch (const std::exception&) {
        return nlohmann::json::array();
    }
}

void route(const std::string& target, const StatusSource& source, http::response<http::string_body>& res) {
    if (target == "/health") {
        res.body() = R"({"status":"ok"})";
    } else if (target == "/status") {
        auto runs = read_history(source.conninfo, source.schema, 10, source.work_dir, kDatabaseTimeout);
        res.body() = nlohmann::json{{"last_run", runs.empty() ? nlohmann::json(nullptr) : runs[0]}, {"runs", runs}}.dump();
    } else if (target == "/") {
        auto runs = read_history(source.conninfo, source.schema, 30, source.work_dir, kDatabaseTimeout);
        res.set(http::field::content_type, "text/html; charset=utf-8");
        res.body() = render_status_page(runs, std::time(nullptr), recent_requests(source));
    } else {
        res.result(http::status::not_found);
        res.body() = R"({"error":"not found; try /, /health or /status"})";
    }
}

void answer(int fd, const StatusSource& source, HostLogger& log) {
    // Its own io_context: the thread may outlive serve_http's.
    boost::asio::io_context io;
    tcp::socket socket(io, tcp::v4(), fd);
    boost::system::error_code ec;
    socket.non_blocking(false, ec);
    set_timeouts(socket, 10);
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(kMaxBody);
    http::read(socket, buffer, parser, ec);
    http::response<http::string_body> res;
    if (ec == http::error::body_limit) {
        res.result(http::status::payload_too_large);
        res.body() = R"({"error":"the body is larger than 16 KiB"})";
        res.prepare_payload();
        http::write(socket, res, ec);
        return;
    }
    if (ec) return;
    const auto& req = parser.get();
    res.version(req.version());
    res.keep_alive(false);
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    std::string target(req.target());
    if (auto q = target.find('?'); q != std::string::npos) target.erase(q);
    res.result(http::status::ok);
    try {
        if (auto a = answer_trigger(std::string(req.method_string()), target, std::string(req[http::field::authorization]), req.body(),
                                    source.trigger)) {
            res.result(static_cast<http::status>(a->status));
            res.body() = a->body;
            if (!a->log.empty()) log.info(a->log, {{"status", static_cast<std::int64_t>(a->status)}});
        } else {
            route(target, source, res);
        }
    } catch (const std::exception&) {
        // Whatever the database or the files say, the page answers and the process lives on.
        res.result(http::status::internal_server_error);
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"error":"the status could not be read; see the logs"})";
    }
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
}

// A connection's thread never lets an exception out: that would abort the whole process.
void answer_guarded(int fd, const StatusSource& source, HostLogger& log) noexcept {
    try {
        answer(fd, source, log);
    } catch (...) {
    }
}

}  // namespace

int serve_http(int port, const StatusSource& source, HostLogger& log, const std::atomic<bool>* stop) {
    boost::asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(tcp::v4(), static_cast<unsigned short>(port)));
    acceptor.non_blocking(true);
    log.info("web endpoint listening", {{"port", static_cast<std::int64_t>(acceptor.local_endpoint().port())}});
    auto clients = std::make_shared<std::atomic<int>>(0);
    while (!(stop && stop->load())) {
        tcp::socket socket(io);
        boost::system::error_code ec;
        acceptor.accept(socket, ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        if (ec) continue;
        if (*clients >= kMaxClients) continue;  // dropped: a flood must not exhaust the process
        int fd = ::dup(socket.native_handle());
        if (fd < 0) continue;
        ++*clients;
        try {
            std::thread([fd, source, clients, &log] {
                answer_guarded(fd, source, log);
                --*clients;
            }).detach();
        } catch (const std::system_error&) {  // no thread to be had: drop this client, keep serving
            --*clients;
            ::close(fd);
        }
    }
    log.info("web endpoint stopping: signal received");
    return kExitOk;
}

}  // namespace pixrep
