#pragma once
// Who may see and do what on the web process, as pure parts: tokens compared in constant time,
// the page's login sessions, rate limits, and the source's names scrubbed from every answer.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace pixrep {

/// True when `a` equals `b`, in a time that does not depend on where they differ.
bool same_secret(const std::string& a, const std::string& b);

/// What a request may see and do.
enum class Access {
    anyone,   ///< the public facts: is there a copy, of which backup date, restored when, is a run going on
    reader,   ///< everything shown: runs, errors, notes, requests (STATUS_TOKEN, TRIGGER_TOKEN, or a login)
    trigger,  ///< and ask for runs (TRIGGER_TOKEN as a bearer)
};

/// The web process's tokens ("" = not set).
struct Tokens {
    std::string status, trigger, hook;
};

/// Why `tokens` cannot be used ("" when they can): each set one at least 16 characters, and no
/// two the same (the hook's travels in a URL others may see). Pure.
std::string tokens_problem(const Tokens& tokens);

/// The access an `Authorization` header value gives. Pure.
Access bearer_access(const std::string& authorization, const Tokens& tokens);

/// The value of cookie `name` in a Cookie header, "" when absent. Pure.
std::string cookie_value(const std::string& header, const std::string& name);

/// The value of `key` in an application/x-www-form-urlencoded body, decoded; "" when absent. Pure.
std::string form_value(const std::string& body, const std::string& key);

/// At most `limit` events per minute. Thread-safe.
class RateLimit {
public:
    explicit RateLimit(int limit) : limit_(limit) {}
    /// Counts an event at `now`; false (and not counted) when the last minute holds `limit` already.
    bool allow(std::chrono::steady_clock::time_point now);
    /// Seconds until one more is allowed, at `now`.
    int retry_after(std::chrono::steady_clock::time_point now);

private:
    void forget(std::chrono::steady_clock::time_point now);
    int limit_;
    std::deque<std::chrono::steady_clock::time_point> events_;
    std::mutex mu_;
};

/// The page's logins: random ids, held in memory for `lifetime`, at most `capacity` (the oldest
/// go first). Thread-safe.
class Sessions {
public:
    Sessions(std::chrono::seconds lifetime, std::size_t capacity) : lifetime_(lifetime), capacity_(capacity) {}
    /// A new session's id (64 hex digits from the kernel's random source).
    std::string open(std::chrono::steady_clock::time_point now);
    /// True when `id` is a live session at `now`.
    bool valid(const std::string& id, std::chrono::steady_clock::time_point now);
    /// Ends session `id`.
    void close(const std::string& id);
    std::chrono::seconds lifetime() const { return lifetime_; }

private:
    std::chrono::seconds lifetime_;
    std::size_t capacity_;
    std::map<std::string, std::chrono::steady_clock::time_point> expiry_;
    std::mutex mu_;
};

/// The words no answer may hold: the user, hosts and database of `source_url` (a libpq URL or
/// key=value string; "" = none), those of 3 characters or more. Pure.
std::vector<std::string> source_words(const std::string& source_url);

/// `text` with each of `words` replaced by "[source]" where it stands as a whole word (not inside
/// a longer name). Pure.
std::string scrub(std::string text, const std::vector<std::string>& words);

}  // namespace pixrep
