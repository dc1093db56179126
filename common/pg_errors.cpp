#include "pg_errors.hpp"

namespace pixrep::common {

ErrorKind connect_error_kind(const std::string& m) {
    for (const char* s : {"password authentication failed", "no password supplied", "does not exist", "pg_hba.conf",
                          "invalid connection option", "invalid URI", "invalid integer value", "missing \"=\"",
                          "unterminated quoted string", "permission denied for database", "authentication method",
                          "invalid sslmode", "role is not permitted to log in"})
        if (m.find(s) != std::string::npos) return ErrorKind::config;
    return ErrorKind::transient;
}

std::string one_line(std::string msg) {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (auto& c : msg)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return msg;
}

StepError connect_error(const std::string& label, const std::string& message) {
    ErrorKind kind = connect_error_kind(message);
    std::string text = "cannot connect to the target database " + label + ": " + one_line(message);
    if (kind == ErrorKind::config) text += " (check DATABASE_URL)";
    return StepError(kind, text);
}

}  // namespace pixrep::common
