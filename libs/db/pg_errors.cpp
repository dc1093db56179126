#include "pg_errors.hpp"

#include <pqxx/pqxx>

namespace pixrep::common {

ErrorKind connect_error_kind(const std::string& m) {
    for (const char* s : {"password authentication failed", "no password supplied", "does not exist", "pg_hba.conf",
                          "invalid connection option", "invalid URI", "invalid integer value", "missing \"=\"",
                          "unterminated quoted string", "permission denied for database", "authentication method",
                          "invalid sslmode", "role is not permitted to log in"})
        if (m.find(s) != std::string::npos) return ErrorKind::config;
    return ErrorKind::transient;
}

ErrorKind sql_error_kind(const std::string& state, const std::string& m) {
    if (state.size() == 5) {
        if (state.compare(0, 2, "08") == 0) return ErrorKind::transient;
        for (const char* s : {"57P01", "57P02", "57P03", "53300", "55P03", "57014", "40P01", "40001", "58030"})
            if (state == s) return state == "58030" ? ErrorKind::fatal : ErrorKind::transient;
        return ErrorKind::fatal;
    }
    for (const char* s : {"server closed the connection", "terminating connection", "connection to server", "could not connect",
                          "could not receive data", "could not send data", "no connection to the server", "connection not open",
                          "lost synchronization with server", "SSL SYSCALL error", "SSL connection has been closed",
                          "the database system is starting up", "the database system is shutting down",
                          "the database system is in recovery mode", "sorry, too many clients", "too many connections",
                          "canceling statement due to statement timeout", "canceling statement due to lock timeout",
                          "could not obtain lock", "deadlock detected", "could not serialize access", "Connection refused",
                          "Connection reset", "Broken pipe", "no answer within", "timeout expired"})
        if (m.find(s) != std::string::npos) return ErrorKind::transient;
    return ErrorKind::fatal;
}

ErrorKind message_error_kind(const std::string& message) { return sql_error_kind("", message); }

ErrorKind exception_error_kind(const std::exception& e) {
    if (const auto* s = dynamic_cast<const StepError*>(&e)) return s->kind();
    if (dynamic_cast<const pqxx::broken_connection*>(&e)) return ErrorKind::transient;
    if (const auto* q = dynamic_cast<const pqxx::sql_error*>(&e)) return sql_error_kind(q->sqlstate(), q->what());
    return sql_error_kind("", e.what());
}

std::string error_summary(const std::string& message, std::size_t max) {
    std::string out;
    std::size_t start = 0;
    while (start <= message.size()) {
        std::size_t end = message.find('\n', start);
        std::string line = message.substr(start, end == std::string::npos ? std::string::npos : end - start);
        std::size_t b = line.find_first_not_of(" \t");
        std::string trimmed = b == std::string::npos ? "" : line.substr(b);
        bool quoting = false;
        for (const char* p : {"DETAIL:", "CONTEXT:", "HINT:", "LINE ", "QUERY:", "Failing row contains", "Key ("})
            quoting = quoting || trimmed.rfind(p, 0) == 0;
        if (quoting) break;  // what follows the server's message may quote the rows
        if (!trimmed.empty()) out += (out.empty() ? "" : " ") + trimmed;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    // The same markers inside a line that one_line() already joined.
    std::size_t cut = std::string::npos;
    for (const char* marker : {" DETAIL:", " CONTEXT:", " HINT:", " LINE ", " QUERY:", " Command was:"})
        cut = std::min(cut, out.find(marker));
    if (cut != std::string::npos) out.erase(cut);
    // "invalid input syntax for type integer: "<a value of a row>"": the value goes.
    for (const char* quoting : {"invalid input syntax for type ", "invalid input value for enum ", "malformed array literal",
                                "malformed record literal", "invalid input syntax for "})
        if (auto p = out.find(quoting); p != std::string::npos)
            if (auto q = out.find(": \"", p); q != std::string::npos) {
                auto e = out.find('"', q + 3);
                out.replace(q + 2, e == std::string::npos ? std::string::npos : e - q - 1, "\"...\"");
            }
    return cut_utf8(out, max);
}

namespace {

// The length of the valid UTF-8 character starting at s[i], 0 when none starts there.
std::size_t utf8_char_length(const std::string& s, std::size_t i) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    return n;
}

}  // namespace

std::string cut_utf8(const std::string& text, std::size_t max) {
    std::string out;
    out.reserve(std::min(text.size(), max));
    const std::size_t room = text.size() > max && max >= 3 ? max - 3 : max;
    for (std::size_t i = 0; i < text.size();) {
        std::size_t n = utf8_char_length(text, i);
        const std::size_t width = n ? n : 1;
        if (out.size() + width > room) return out + (text.size() > max && max >= 3 ? "..." : "");
        if (n) out.append(text, i, n);
        else out += '?';
        i += width;
    }
    return out;
}

std::string one_line(std::string msg) {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (auto& c : msg)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return msg;
}

StepError connect_error(const std::string& label, const std::string& message, const std::string& which) {
    ErrorKind kind = connect_error_kind(message);
    std::string text = "cannot connect to the " + which + " database " + label + ": " + one_line(message);
    if (kind == ErrorKind::config) text += which == "source" ? " (check SOURCE_DATABASE_URL)" : " (check DATABASE_URL)";
    return StepError(kind, text);
}

bool disk_full(const std::string& message) {
    return message.find("No space left on device") != std::string::npos || message.find("could not extend file") != std::string::npos ||
           message.find("53100") != std::string::npos;
}

}  // namespace pixrep::common
