#include "http_server.hpp"

#include <memory>
#include <optional>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "pipeline.hpp"

namespace pixrep {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxHeader = 16 * 1024, kMaxBody = 16 * 1024;

struct Shared {
    const HttpHandler& handler;
    const HttpLimits& limits;
    HostLogger& log;
    asio::thread_pool& pool;
    std::atomic<int> connections{0}, queued{0};
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) { ++shared_.connections; }
    ~Connection() { --shared_.connections; }

    void start() {
        parser_.emplace();
        parser_->header_limit(kMaxHeader);
        parser_->body_limit(kMaxBody);
        // One deadline for the whole request: a client sending a header line now and then is
        // cut like an idle one.
        stream_.expires_after(shared_.limits.request_deadline);
        http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (ec == http::error::body_limit) return reply({413, "application/json", R"({"error":"the body is larger than 16 KiB"})", {}}, 11);
        if (ec == http::error::header_limit) return reply({431, "application/json", R"({"error":"the headers are larger than 16 KiB"})", {}}, 11);
        if (ec) return close();
        const auto& req = parser_->get();
        version_ = req.version();
        HttpRequest r;
        r.method = std::string(req.method_string());
        r.path = std::string(req.target());
        if (auto q = r.path.find('?'); q != std::string::npos) r.path.erase(q);
        r.authorization = std::string(req[http::field::authorization]);
        r.cookie = std::string(req[http::field::cookie]);
        r.https = req["X-Forwarded-Proto"] == "https";
        r.body = req.body();
        if (r.path == "/health") return reply({200, "application/json", R"({"status":"ok"})", {}}, version_);
        if (shared_.queued.fetch_add(1) >= shared_.limits.max_queued) {
            --shared_.queued;
            return reply({503, "application/json", R"({"error":"busy: try again in a moment"})", {{"Retry-After", "5"}}}, version_);
        }
        // The routes may wait on the target: a worker answers, and the answer comes back here.
        asio::post(shared_.pool, [self = shared_from_this(), r = std::move(r)] {
            HttpResponse res;
            try {
                res = self->shared_.handler(r);
            } catch (...) {
                res = {500, "application/json", R"({"error":"the answer could not be made; see the logs"})", {}};
            }
            --self->shared_.queued;
            asio::post(self->stream_.get_executor(), [self, res = std::move(res)] { self->reply(res, self->version_); });
        });
    }

    void reply(const HttpResponse& r, unsigned version) {
        res_.version(version);
        res_.result(static_cast<http::status>(r.status));
        res_.keep_alive(false);
        res_.set(http::field::content_type, r.content_type);
        res_.set(http::field::cache_control, "no-store");
        res_.set("X-Content-Type-Options", "nosniff");
        res_.set("X-Frame-Options", "DENY");
        for (const auto& [k, v] : r.headers) res_.insert(k, v);
        res_.body() = r.body;
        res_.prepare_payload();
        stream_.expires_after(shared_.limits.write_deadline);
        http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

    beast::tcp_stream stream_;
    Shared& shared_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    unsigned version_ = 11;
};

void accept_next(tcp::acceptor& acceptor, Shared& shared) {
    acceptor.async_accept([&acceptor, &shared](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (!ec) {
            if (shared.connections.load() >= shared.limits.max_connections) {
                beast::error_code ignored;
                socket.close(ignored);  // a flood must not exhaust the process's descriptors
            } else {
                std::make_shared<Connection>(std::move(socket), shared)->start();
            }
        }
        accept_next(acceptor, shared);
    });
}

void watch_stop(asio::steady_timer& timer, asio::io_context& io, tcp::acceptor& acceptor, const std::atomic<bool>* stop) {
    timer.expires_after(std::chrono::milliseconds(100));
    timer.async_wait([&timer, &io, &acceptor, stop](beast::error_code ec) {
        if (ec) return;
        if (stop && stop->load()) {
            beast::error_code ignored;
            acceptor.close(ignored);
            io.stop();
            return;
        }
        watch_stop(timer, io, acceptor, stop);
    });
}

}  // namespace

int serve_http(int port, const HttpHandler& handler, const HttpLimits& limits, HostLogger& log, const std::atomic<bool>* stop,
               const std::function<void(int)>& on_listen) {
    asio::thread_pool pool(static_cast<std::size_t>(limits.workers));
    // Before the io_context: connections its queue still holds on destruction count themselves out.
    Shared shared{handler, limits, log, pool};
    {
        asio::io_context io(1);
        tcp::acceptor acceptor(io, tcp::endpoint(tcp::v4(), static_cast<unsigned short>(port)));
        const int bound = acceptor.local_endpoint().port();
        log.info("web endpoint listening", {{"port", static_cast<std::int64_t>(bound)}});
        if (on_listen) on_listen(bound);
        accept_next(acceptor, shared);
        asio::steady_timer timer(io);
        watch_stop(timer, io, acceptor, stop);
        io.run();
        // Workers still answering post back to `io`: they finish before it goes.
        pool.join();
        log.info("web endpoint stopping: signal received");
    }
    return kExitOk;
}

}  // namespace pixrep
