#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <pqxx/pqxx>

#include "config.hpp"
#include "pipeline.hpp"
#include "plugin_loader.hpp"
#include "process.hpp"

namespace pixtest {
namespace fs = std::filesystem;
namespace {

std::vector<TempPostgres*> g_servers;

int free_port() {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    close(s);
    return port;
}

// initdb refuses to run as root: run the server tools as the postgres system user then.
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
    if (geteuid() != 0) return argv;
    argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    return argv;
}

void stop_on_signal(int sig) {
    for (auto* s : g_servers) s->stop();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

}  // namespace

std::string TempPostgres::bin_dir(int major) {
    if (major == 17 || major == 18) {  // Debian 13's and forky's, beside this Debian 12
        const std::string m = std::to_string(major);
        const char* env = std::getenv(("PIXREP_PG" + m + "_BIN").c_str());
        std::string dir = env && *env ? env : "/var/cache/pix-db-replication/pg" + m + "/usr/lib/postgresql/" + m + "/bin";
        if (!fs::exists(fs::path(dir) / "postgres"))
            throw std::runtime_error("PostgreSQL " + m + " is not set up in " + dir + ": scripts/test.sh sets it up (scripts/lib/pg" + m + ".sh)");
        return dir;
    }
    std::string dir = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
    if (!fs::exists(fs::path(dir) / "postgres"))
        throw std::runtime_error("PostgreSQL " + std::to_string(major) + " server not found in " + dir + ": install postgresql");
    return dir;
}

std::string TempPostgres::bin(const std::string& name, int major) { return bin_dir(major) + "/" + name; }

TempPostgres& TempPostgres::instance(int major) {
    static std::map<int, std::unique_ptr<TempPostgres>> servers;
    auto& server = servers[major];
    if (!server) {
        if (g_servers.empty()) {
            std::atexit([] {
                for (auto* s : g_servers) s->stop();
            });
            for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGABRT, SIGSEGV, SIGBUS}) std::signal(sig, stop_on_signal);
        }
        server.reset(new TempPostgres(major));
        g_servers.push_back(server.get());
    }
    return *server;
}

TempPostgres::TempPostgres(int major) : major_(major) {
    char tmpl[] = "/tmp/pixrep-pg-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (geteuid() == 0) {
        passwd* pw = getpwnam("postgres");
        if (!pw) throw std::runtime_error("no 'postgres' system user: install postgresql");
        if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
    }
    auto r = run_cmd(as_server_user({bin("initdb", major_), "-D", (dir_ / "data").string(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                     "--no-sync", "--locale=C"}));
    if (r.code != 0) throw std::runtime_error("initdb failed: " + r.out);
    // As on Scalingo, roles log in with their password; the superuser keeps trust for the tests.
    write_file(dir_ / "data" / "pg_hba.conf",
               "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    for (int attempt = 0; attempt < 5 && !running_; ++attempt) {
        port_ = free_port();
        r = run_cmd(as_server_user({bin("pg_ctl", major_), "-D", (dir_ / "data").string(), "-w", "-t", "60", "-l", (dir_ / "server.log").string(),
                                    "-o", "-p " + std::to_string(port_) + " -k " + dir_.string() +
                                              " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
                                    "start"}));
        running_ = r.code == 0;
    }
    if (!running_) throw std::runtime_error("cannot start PostgreSQL: " + r.out + "\n" + read_file(dir_ / "server.log"));
}

TempPostgres::~TempPostgres() { stop(); }

void TempPostgres::stop() {
    if (running_) {
        running_ = false;
        run_cmd(as_server_user({bin("pg_ctl", major_), "-D", (dir_ / "data").string(), "-m", "immediate", "-w", "stop"}));
    }
    if (!dir_.empty()) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
        dir_.clear();
    }
}

std::string TempPostgres::url(const std::string& db, const std::string& user, const std::string& password) const {
    return "postgresql://" + user + (password.empty() ? "" : ":" + password) + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void TempPostgres::exec(const std::string& db, const std::string& sql) const {
    pqxx::connection c(url(db));
    pqxx::nontransaction tx(c);
    tx.exec(sql);
}

std::string TempPostgres::scalar(const std::string& db, const std::string& sql) const {
    pqxx::connection c(url(db));
    pqxx::nontransaction tx(c);
    auto r = tx.exec(sql);
    if (r.empty() || r[0][0].is_null()) return "";
    return r[0][0].as<std::string>();
}

std::string TempPostgres::create_target(const std::string& db, const std::string& role, const std::string& password) const {
    exec("postgres", "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
    exec("postgres", "DROP ROLE IF EXISTS " + role);
    exec("postgres", "CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'");
    exec("postgres", "CREATE DATABASE " + db + " OWNER " + role);
    return url(db, role, password);
}

Result run_cmd(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    Result r;
    pixrep::common::ProcessSpec spec;
    spec.argv = argv;
    for (const auto& [k, v] : env) spec.env.emplace_back(k, v);
    pixrep::common::ProcessHooks hooks;
    hooks.on_stdout = [&](const std::string& l) { r.out += l + "\n"; };
    hooks.on_stderr = [&](const std::string& l) { r.out += l + "\n"; };
    r.code = pixrep::common::run_process(spec, hooks);
    return r;
}

Result run_tool(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    std::vector<std::string> argv{PIXREP_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, tool_env(env));
}

std::string http_request(int port, const std::string& method, const std::string& path, const std::vector<std::string>& headers,
                         const std::string& body) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(s);
        return "";
    }
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& h : headers) req += h + "\r\n";
    if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    if (write(s, req.data(), req.size()) < 0) {
        close(s);
        return "";
    }
    // Until the server closes, or the body its Content-Length announces has come (chromedriver
    // keeps connections open whatever the request says).
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(s, buf, sizeof buf)) > 0;) {
        out.append(buf, static_cast<std::size_t>(n));
        const auto end = out.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        std::string head = out.substr(0, end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto at = head.find("\r\ncontent-length:");
        if (at != std::string::npos && out.size() - end - 4 >= std::stoul(head.substr(at + 17))) break;
    }
    close(s);
    return out;
}

std::string http_get(int port, const std::string& path) { return http_request(port, "GET", path, {}, ""); }

std::map<std::string, std::string> tool_env(const std::map<std::string, std::string>& env) {
    // Tests never inherit the developer's settings: every variable the host, the shipped
    // plugins and the shipped configs may read is reset, derived from their option tables.
    static const std::vector<std::string> vars = [] {
        pixrep::PluginLoader loader({PIXREP_PLUGIN_DIR});
        std::vector<pixrep::LoadedStep> steps;
        for (const auto& name : loader.available()) steps.push_back(loader.load(name));
        std::vector<std::string> out;
        for (const char* file : {"/config/local.toml", "/config/production.toml"})
            for (const auto& v : pixrep::known_variables(pixrep::load_config(std::string(PIXREP_SOURCE_DIR) + file), steps))
                out.push_back(v);
        return out;
    }();
    std::map<std::string, std::string> full;
    for (const auto& v : vars) full[v] = "";
    full["MAX_RETRY_COUNT"] = "0";
    full["PG_RESTORE_JOBS"] = "2";
    full["LOG_FORMAT"] = "json";
    for (const auto& [k, v] : env) full[k] = v;
    return full;
}

struct Background::Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> lines;
    bool eof = false;
    std::thread reader;
};

Background::Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env)
    : shared_(std::make_shared<Shared>()) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    auto shared = shared_;
    int fd = out_;
    shared_->reader = std::thread([shared, fd] {
        std::string buf;
        char chunk[4096];
        for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) {
            buf.append(chunk, static_cast<std::size_t>(n));
            std::lock_guard<std::mutex> lock(shared->mu);
            for (std::size_t p; (p = buf.find('\n')) != std::string::npos; buf.erase(0, p + 1)) shared->lines.push_back(buf.substr(0, p));
            shared->cv.notify_all();
        }
        std::lock_guard<std::mutex> lock(shared->mu);
        if (!buf.empty()) shared->lines.push_back(buf);
        shared->eof = true;
        shared->cv.notify_all();
    });
}

Background::~Background() {
    if (!exited_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (shared_->reader.joinable()) shared_->reader.join();
    if (out_ >= 0) close(out_);
}

std::string Background::wait_for(const std::string& needle, double timeout_s, int nth) {
    std::unique_lock<std::mutex> lock(shared_->mu);
    std::size_t seen = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
    for (;;) {
        for (; seen < shared_->lines.size(); ++seen)
            if (shared_->lines[seen].find(needle) != std::string::npos && --nth == 0) return shared_->lines[seen];
        if (shared_->eof) return "";
        if (shared_->cv.wait_until(lock, deadline) == std::cv_status::timeout) return "";
    }
}

void Background::signal(int sig) {
    if (!exited_) kill(pid_, sig);
}

int Background::wait_exit(double timeout_s) {
    if (exited_) return code_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            if (shared_->reader.joinable()) shared_->reader.join();
            return code_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
}

std::string Background::output() const {
    std::lock_guard<std::mutex> lock(shared_->mu);
    std::string out;
    for (const auto& l : shared_->lines) out += l + "\n";
    return out;
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/pixrep-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace pixtest
