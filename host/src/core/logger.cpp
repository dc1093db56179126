#include <cctype>
#include "logger.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace pixrep {
namespace {

std::string iso_now() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::time_t t = system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::ostringstream os;
    os << buf << '.' << std::setw(3) << std::setfill('0') << ms << 'Z';
    return os.str();
}

const char* level_name(Level l) {
    switch (l) {
    case Level::trace: return "TRACE";
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO ";
    case Level::warn: return "WARN ";
    case Level::error: return "ERROR";
    case Level::fatal: return "FATAL";
    }
    return "?";
}

std::string field_text(const FieldValue& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) return x;
            else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
            else {
                std::ostringstream os;
                os << x;
                return os.str();
            }
        },
        v);
}

}  // namespace

std::string redact_patterns(std::string_view text) {
    // Passwords in URLs (postgres://user:pw@host) and bearer/basic credentials in headers.
    static const std::regex url_pw(R"(([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s"']*:)[^@\s"']*@)");
    static const std::regex bearer(R"((Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+)", std::regex::icase);
    std::string s(text);
    if (s.find("://") != std::string::npos) s = std::regex_replace(s, url_pw, "$1***@");
    if (s.find("earer") != std::string::npos || s.find("asic") != std::string::npos)
        s = std::regex_replace(s, bearer, "$1 ***");
    return s;
}

HostLogger::HostLogger(std::ostream& out, Format format, Level min_level)
    : out_(out), format_(format), min_level_(min_level), pid_(static_cast<long>(::getpid())) {
    const char* app = std::getenv("APP");
    name_ = (app && *app) ? app : "pix-db-replication";
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    hostname_ = host;
}

void HostLogger::add_secret(const std::string& secret) {
    if (secret.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : secrets_)
        if (s == secret) return;
    // The first ones are the configuration's (passwords, API tokens) and stay; later ones are a
    // run's short-lived bearers, which only the last few runs can still print: bounded.
    if (secrets_.size() >= kPinnedSecrets + kRotatingSecrets) secrets_.erase(secrets_.begin() + kPinnedSecrets);
    secrets_.push_back(secret);
}

namespace {

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

// Replaces `secret` in `s`. A secret shorter than 4 characters is replaced only where it stands
// alone (not inside a word), so that a password like "ab" does not mangle every line.
void replace_secret(std::string& s, const std::string& secret) {
    const bool whole_word = secret.size() < 4;
    for (auto pos = s.find(secret); pos != std::string::npos; pos = s.find(secret, pos)) {
        const bool alone = (pos == 0 || !word_char(s[pos - 1])) && (pos + secret.size() >= s.size() || !word_char(s[pos + secret.size()]));
        if (whole_word && !alone) {
            pos += 1;
            continue;
        }
        s.replace(pos, secret.size(), "***");
        pos += 3;
    }
}

}  // namespace

std::string HostLogger::redact(std::string_view text) const {
    std::string s(text);
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& secret : secrets_) replace_secret(s, secret);
    }
    return redact_patterns(s);
}

std::size_t HostLogger::secret_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return secrets_.size();
}

void HostLogger::write(Level level, std::string_view msg, const Fields& fields) {
    write_with(level, msg, {}, fields);
}

void HostLogger::write_with(Level level, std::string_view msg, const Fields& prefix, const Fields& fields) {
    if (static_cast<int>(level) < static_cast<int>(min_level_)) return;
    std::string line;
    if (format_ == Format::json) {
        nlohmann::ordered_json j;
        j["name"] = name_;
        j["hostname"] = hostname_;
        j["pid"] = pid_;
        j["level"] = static_cast<int>(level);
        for (const auto* fs : {&prefix, &fields})
            for (const auto& [k, v] : *fs)
                std::visit(
                    [&](const auto& x) {
                        using T = std::decay_t<decltype(x)>;
                        if constexpr (std::is_same_v<T, std::string>) j[k] = redact(x);
                        else j[k] = x;
                    },
                    v);
        j["msg"] = redact(msg);
        j["time"] = iso_now();
        j["v"] = 0;
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        std::ostringstream os;
        os << iso_now().substr(11, 12) << ' ' << level_name(level) << ' ';
        for (const auto& [k, v] : prefix)
            if (k == "step") os << '[' << field_text(v) << "] ";
        os << redact(msg);
        for (const auto* fs : {&prefix, &fields})
            for (const auto& [k, v] : *fs)
                if (!(fs == &prefix && k == "step")) os << "  " << k << '=' << redact(field_text(v));
        line = os.str();
    }
    std::lock_guard<std::mutex> lock(mu_);
    out_ << line << '\n' << std::flush;
}

}  // namespace pixrep
