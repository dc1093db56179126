#include "access.hpp"

#include <libpq-fe.h>
#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace pixrep {

bool same_secret(const std::string& a, const std::string& b) {
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0, y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

std::string tokens_problem(const Tokens& t) {
    const std::pair<const char*, const std::string*> all[] = {{"STATUS_TOKEN", &t.status}, {"TRIGGER_TOKEN", &t.trigger}, {"HOOK_TOKEN", &t.hook}};
    for (const auto& [name, value] : all)
        if (!value->empty() && value->size() < 16) return std::string(name) + " must be at least 16 characters";
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = i + 1; j < 3; ++j)
            if (!all[i].second->empty() && *all[i].second == *all[j].second)
                return std::string(all[i].first) + " and " + all[j].first + " must differ: each opens a different door";
    return "";
}

Access bearer_access(const std::string& authorization, const Tokens& tokens) {
    const std::string bearer = "Bearer ";
    if (authorization.rfind(bearer, 0) != 0) return Access::anyone;
    const std::string given = authorization.substr(bearer.size());
    // Both compared, whatever the first says: the time taken tells nothing.
    const bool trigger = !tokens.trigger.empty() && same_secret(given, tokens.trigger);
    const bool status = !tokens.status.empty() && same_secret(given, tokens.status);
    return trigger ? Access::trigger : status ? Access::reader : Access::anyone;
}

std::string cookie_value(const std::string& header, const std::string& name) {
    std::size_t start = 0;
    while (start < header.size()) {
        auto end = header.find(';', start);
        std::string part = header.substr(start, end == std::string::npos ? std::string::npos : end - start);
        part.erase(0, part.find_first_not_of(' '));
        if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=') return part.substr(name.size() + 1);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return "";
}

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string url_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') out += ' ';
        else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
            i += 2;
        } else out += s[i];
    }
    return out;
}

}  // namespace

std::string form_value(const std::string& body, const std::string& key) {
    std::size_t start = 0;
    while (start <= body.size()) {
        auto end = body.find('&', start);
        const std::string pair = body.substr(start, end == std::string::npos ? std::string::npos : end - start);
        auto eq = pair.find('=');
        if (url_decode(pair.substr(0, eq)) == key) return eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return "";
}

void RateLimit::forget(std::chrono::steady_clock::time_point now) {
    while (!events_.empty() && now - events_.front() >= std::chrono::minutes(1)) events_.pop_front();
}

bool RateLimit::allow(std::chrono::steady_clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    forget(now);
    if (static_cast<int>(events_.size()) >= limit_) return false;
    events_.push_back(now);
    return true;
}

int RateLimit::retry_after(std::chrono::steady_clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    forget(now);
    if (static_cast<int>(events_.size()) < limit_ || events_.empty()) return 0;
    auto wait = std::chrono::duration_cast<std::chrono::seconds>(events_.front() + std::chrono::minutes(1) - now).count();
    return static_cast<int>(std::max<long long>(1, wait + 1));
}

std::string Sessions::open(std::chrono::steady_clock::time_point now) {
    unsigned char bytes[32];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) throw std::runtime_error("no random bytes for a session");
    static const char* hex = "0123456789abcdef";
    std::string id;
    for (unsigned char b : bytes) id += hex[b >> 4], id += hex[b & 15];
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = expiry_.begin(); it != expiry_.end();) it = it->second <= now ? expiry_.erase(it) : std::next(it);
    if (expiry_.size() >= capacity_)
        expiry_.erase(std::min_element(expiry_.begin(), expiry_.end(), [](const auto& a, const auto& b) { return a.second < b.second; }));
    expiry_[id] = now + lifetime_;
    return id;
}

bool Sessions::valid(const std::string& id, std::chrono::steady_clock::time_point now) {
    if (id.size() != 64) return false;
    std::lock_guard<std::mutex> lock(mu_);
    bool found = false;
    for (const auto& [known, until] : expiry_) found |= same_secret(id, known) && until > now;  // every one compared
    return found;
}

void Sessions::close(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    expiry_.erase(id);
}

std::vector<std::string> source_words(const std::string& source_url) {
    std::vector<std::string> out;
    if (source_url.empty()) return out;
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> opts(PQconninfoParse(source_url.c_str(), &err), PQconninfoFree);
    if (err) PQfreemem(err);
    if (!opts) return out;
    for (auto* o = opts.get(); o->keyword; ++o) {
        const std::string k = o->keyword;
        if (!o->val || (k != "user" && k != "host" && k != "hostaddr" && k != "dbname")) continue;
        std::string list = o->val;
        for (std::size_t start = 0;;) {  // host lists: "a,b"
            auto comma = k == "dbname" ? std::string::npos : list.find(',', start);
            auto w = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            if (w.size() >= 3 && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    // Longest first: a host holding the database's name is replaced whole.
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return out;
}

std::string scrub(std::string text, const std::vector<std::string>& words) {
    auto part_of_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; };
    const std::string mark = "[source]";
    for (const auto& w : words)
        for (std::size_t p = text.find(w); p != std::string::npos; p = text.find(w, p)) {
            const bool whole = (p == 0 || !part_of_name(text[p - 1])) && (p + w.size() >= text.size() || !part_of_name(text[p + w.size()]) ||
                                                                          (text[p + w.size()] == '.' && (p + w.size() + 1 >= text.size() ||
                                                                                                        !part_of_name(text[p + w.size() + 1]))));
            if (whole) {
                text.replace(p, w.size(), mark);
                p += mark.size();
            } else {
                p += 1;
            }
        }
    return text;
}

}  // namespace pixrep
