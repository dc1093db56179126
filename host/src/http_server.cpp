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

#include "pipeline.hpp"
#include "status.hpp"
#include "status_page.hpp"

namespace pixrep {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr int kMaxClients = 32;
constexpr std::chrono::seconds kDatabaseTimeout{3};

void set_timeouts(tcp::socket& s, int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
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
        res.body() = render_status_page(runs, std::time(nullptr));
    } else {
        res.result(http::status::not_found);
        res.body() = R"({"error":"not found; try /, /health or /status"})";
    }
}

void answer(int fd, const StatusSource& source) {
    // Its own io_context: the thread may outlive serve_http's.
    boost::asio::io_context io;
    tcp::socket socket(io, tcp::v4(), fd);
    boost::system::error_code ec;
    socket.non_blocking(false, ec);
    set_timeouts(socket, 10);
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(false);
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    std::string target(req.target());
    if (auto q = target.find('?'); q != std::string::npos) target.erase(q);
    res.result(http::status::ok);
    try {
        route(target, source, res);
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
void answer_guarded(int fd, const StatusSource& source) noexcept {
    try {
        answer(fd, source);
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
            std::thread([fd, source, clients] {
                answer_guarded(fd, source);
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
