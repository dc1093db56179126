#include "db.hpp"

#include <cctype>

#include "pg_errors.hpp"

namespace pixrep::common {

Session::Session(const RunEnv& env, const std::string& purpose, bool stoppable) : env_(env) {
    // Steps clean up in finish() after a stop too: there, only the statements are cancelled.
    conn_ = connect_target(env, purpose, stoppable);
    watcher_ = std::thread([this] { watch(); });
}

Session::~Session() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        closing_ = true;
    }
    cv_.notify_all();
    watcher_.join();
    if (cancelled_ || env_.stopping()) return;
    if (PGconn* idle = conn_->release()) env_.keep_target_connection(idle);
}

void Session::watch() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return closing_; })) {
        if (!busy_ || cancelled_ || !env_.stopping()) continue;
        cancelled_ = true;
        conn_->cancel();
    }
}

namespace {

std::unique_ptr<PgConn> reuse_connection(PGconn* idle, const std::string& label, const std::string& purpose,
                                         const std::function<bool()>& stopping) {
    try {
        auto c = std::make_unique<PgConn>(idle, label, stopping);
        // One round trip: the connection answers, and pg_stat_activity names its new purpose.
        c->set_statement_deadline(kConnectDeadline);
        c->exec("SET application_name = " + quote_literal("pix-db-replication " + purpose));
        c->set_statement_deadline(kStatementDeadline);
        return c;
    } catch (const std::exception&) {
        return nullptr;  // closed: the server or a proxy let it go while it was kept
    }
}

}  // namespace

std::unique_ptr<PgConn> connect_reusing(const Target& target, const std::string& purpose, const std::function<PGconn*()>& take,
                                        const std::function<bool()>& stopping) {
    while (PGconn* idle = take())
        if (auto c = reuse_connection(idle, target.label, purpose, stopping)) return c;
    return std::make_unique<PgConn>(target.conninfo + " application_name=" + quote_literal("pix-db-replication " + purpose), target.label,
                                    kConnectDeadline, stopping);
}

std::unique_ptr<PgConn> connect_target(const RunEnv& env, const std::string& purpose, bool stoppable) {
    if (env.target().conninfo.empty()) throw not_connecting(purpose);
    std::function<bool()> stopping;
    if (stoppable) stopping = [&env] { return env.stopping(); };
    return connect_reusing(env.target(), purpose, [&env] { return env.reuse_target_connection(); }, stopping);
}

StepError not_connecting(const std::string& purpose) {
    return StepError(ErrorKind::config, "'" + purpose + "' connects to the target, but its step's StepInfo does not say connects_to_target");
}

std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string sql_name(const std::string& name) {
    bool plain = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
    for (unsigned char c : name)
        if (!(std::islower(c) || std::isdigit(c) || c == '_')) plain = false;
    if (plain) return name;
    std::string out = "\"";
    for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string quote_ident_list(const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + quote_ident(n);
    return list;
}

std::string quote_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
    return out + "'";
}

std::string conninfo_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

namespace {

bool loopback_host(const std::string& h) {
    if (h.empty() || h[0] == '/' || h[0] == '@') return true;  // a Unix socket
    const bool ipv4_loopback = h.rfind("127.", 0) == 0 && h.find_first_not_of("0123456789.") == std::string::npos;
    return h == "localhost" || h == "::1" || h == "[::1]" || ipv4_loopback;
}

bool all_loopback(const std::string& list) {
    std::size_t start = 0;
    for (;;) {
        const auto comma = list.find(',', start);
        if (!loopback_host(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start))) return false;
        if (comma == std::string::npos) return true;
        start = comma + 1;
    }
}

}  // namespace

bool on_loopback(const std::string& host, const std::string& hostaddr) {
    // libpq connects to hostaddr when given, whatever host says.
    return hostaddr.empty() ? all_loopback(host) : all_loopback(hostaddr);
}

std::string default_sslmode(const std::string& host, const std::string& hostaddr) {
    return on_loopback(host, hostaddr) ? "" : "require";
}

}  // namespace pixrep::common
