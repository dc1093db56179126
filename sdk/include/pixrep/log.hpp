#pragma once
// Logging interface handed to steps. The host decides the format (bunyan JSON or text) and
// redacts secrets; a step only states what happened.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pixrep {

/// Bunyan levels, so log platforms read them without mapping.
enum class Level : int { trace = 10, debug = 20, info = 30, warn = 40, error = 50, fatal = 60 };

/// One structured field value of a log record.
using FieldValue = std::variant<std::string, std::int64_t, double, bool>;

/// Structured fields of a log record, in the order they should appear.
using Fields = std::vector<std::pair<std::string, FieldValue>>;

/// Where steps write their log records.
class Logger {
public:
    virtual ~Logger() = default;
    /// Writes one record; secrets registered with add_secret() are replaced by "***".
    virtual void write(Level level, std::string_view msg, const Fields& fields = {}) = 0;
    /// Registers a value (token, signed URL...) that must never appear in any record.
    virtual void add_secret(const std::string& secret) = 0;
    /// Returns `text` with every registered secret and URL password replaced by "***".
    virtual std::string redact(std::string_view text) const = 0;

    /// Shorthand for write(Level::debug, ...).
    void debug(std::string_view m, const Fields& f = {}) { write(Level::debug, m, f); }
    /// Shorthand for write(Level::info, ...).
    void info(std::string_view m, const Fields& f = {}) { write(Level::info, m, f); }
    /// Shorthand for write(Level::warn, ...).
    void warn(std::string_view m, const Fields& f = {}) { write(Level::warn, m, f); }
    /// Shorthand for write(Level::error, ...).
    void error(std::string_view m, const Fields& f = {}) { write(Level::error, m, f); }
};

}  // namespace pixrep
