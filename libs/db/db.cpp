#include "db.hpp"

#include "pg_errors.hpp"

namespace pixrep::common {

Session::Session(const RunEnv& env, const std::string& purpose) : env_(env) {
    if (env.target().conninfo.empty()) throw not_connecting(purpose);
    try {
        conn_ = std::make_unique<pqxx::connection>(env.target().conninfo + " application_name=" +
                                                   quote_literal("pix-db-replication " + purpose));
    } catch (const std::exception& e) {
        throw connect_error(env.target().label, e.what());
    }
    watcher_ = std::thread([this] { watch(); });
}

Session::~Session() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        closing_ = true;
    }
    cv_.notify_all();
    watcher_.join();
}

void Session::watch() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return closing_; })) {
        if (!busy_ || cancelled_ || !env_.stopping()) continue;
        cancelled_ = true;
        try {
            conn_->cancel_query();
        } catch (const std::exception&) {
        }
    }
}

StepError not_connecting(const std::string& purpose) {
    return StepError(ErrorKind::config, "'" + purpose + "' connects to the target, but its step's StepInfo does not say connects_to_target");
}

std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string quote_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
    return out + "'";
}

}  // namespace pixrep::common
