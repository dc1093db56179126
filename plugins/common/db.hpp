#pragma once
// Connections to the target for the steps that run SQL themselves.
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include <pixrep/step.hpp>

namespace pixrep::common {

/// Connects to `url`; a failure is a retryable StepError whose message names no password.
inline std::unique_ptr<pqxx::connection> connect(const std::string& url) {
    try {
        return std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        for (auto p = msg.find('\n'); p != std::string::npos; p = msg.find('\n')) msg[p] = ' ';
        throw StepError(ErrorKind::transient, "cannot connect to the target database: " + msg);
    }
}

/// Double-quotes an identifier for SQL.
inline std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace pixrep::common
