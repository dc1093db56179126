// The web process: /health for the platform, /status for people and monitors. Boost.Beast, one
// request at a time, which is plenty for a health check.
#include <chrono>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http_server.hpp"
#include "pipeline.hpp"
#include "status.hpp"

namespace pixrep {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

int serve_http(int port, const std::string& target_url, const std::filesystem::path& work_dir, HostLogger& log,
               const std::atomic<bool>* stop) {
    boost::asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(tcp::v4(), static_cast<unsigned short>(port)));
    acceptor.non_blocking(true);
    log.info("web endpoint listening", {{"port", static_cast<std::int64_t>(acceptor.local_endpoint().port())}});
    while (!(stop && stop->load())) {
        tcp::socket socket(io);
        boost::system::error_code ec;
        acceptor.accept(socket, ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        if (ec) continue;
        socket.non_blocking(false);
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::read(socket, buffer, req, ec);
        if (ec) continue;
        http::response<http::string_body> res;
        res.version(req.version());
        res.set(http::field::content_type, "application/json");
        res.keep_alive(false);
        std::string target(req.target());
        if (target == "/health") {
            res.result(http::status::ok);
            res.body() = R"({"status":"ok"})";
        } else if (target == "/" || target == "/status") {
            auto status = read_status(target_url, work_dir);
            res.result(http::status::ok);
            res.body() = nlohmann::json{{"last_run", status ? *status : nlohmann::json(nullptr)}}.dump();
        } else {
            res.result(http::status::not_found);
            res.body() = R"({"error":"not found; try /health or /status"})";
        }
        res.prepare_payload();
        http::write(socket, res, ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }
    log.info("web endpoint stopping: signal received");
    return kExitOk;
}

}  // namespace pixrep
