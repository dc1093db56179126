#pragma once
// Typed option declarations and values. The host reads the TOML config, checks it against each
// step's OptionSpec table and hands the step an Options object: no toml++ type crosses the SDK.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace pixrep {

/// The type of an option's value.
enum class OptionType { boolean, integer, number, string, string_list, duration };

/// A typed option value; durations are held in milliseconds.
using OptionValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>,
                                 std::chrono::milliseconds>;

/// One option a step accepts, as declared by the step.
struct OptionSpec {
    std::string key;                     ///< Key in the step's config table.
    OptionType type;                     ///< Expected type; strings from the environment are converted.
    std::optional<OptionValue> fallback; ///< Default when neither config nor environment sets it.
    bool required = false;               ///< The run cannot start without a value.
    std::string description;             ///< One line, shown by `plugins`.
    std::string env;                     ///< Environment variable read when the key is absent ("" = none).
    bool secret = false;                 ///< Value is redacted from every log record.
};

/// Human name of an option type, as used in messages and `plugins` output.
inline const char* type_name(OptionType t) {
    switch (t) {
    case OptionType::boolean: return "boolean";
    case OptionType::integer: return "integer";
    case OptionType::number: return "number";
    case OptionType::string: return "string";
    case OptionType::string_list: return "list of strings";
    case OptionType::duration: return "duration";
    }
    return "?";
}

/// The validated, typed options of one step; a key is present when the config, the environment
/// or the default gave it a value.
class Options {
public:
    /// Sets a value; used by the host only.
    void set(const std::string& key, OptionValue v) { values_[key] = std::move(v); }
    /// True when the option has a value.
    bool has(const std::string& key) const { return values_.count(key) != 0; }
    /// Boolean value of `key`; throws std::out_of_range when absent.
    bool boolean(const std::string& key) const { return std::get<bool>(values_.at(key)); }
    /// Integer value of `key`.
    std::int64_t integer(const std::string& key) const { return std::get<std::int64_t>(values_.at(key)); }
    /// Floating-point value of `key`.
    double number(const std::string& key) const { return std::get<double>(values_.at(key)); }
    /// String value of `key`.
    const std::string& string(const std::string& key) const { return std::get<std::string>(values_.at(key)); }
    /// List value of `key`.
    const std::vector<std::string>& list(const std::string& key) const {
        return std::get<std::vector<std::string>>(values_.at(key));
    }
    /// Duration value of `key`.
    std::chrono::milliseconds duration(const std::string& key) const {
        return std::get<std::chrono::milliseconds>(values_.at(key));
    }
    /// String value of `key`, or `fallback` when absent.
    std::string string_or(const std::string& key, const std::string& fallback) const {
        return has(key) ? string(key) : fallback;
    }
    /// All values, for display.
    const std::map<std::string, OptionValue>& all() const { return values_; }

private:
    std::map<std::string, OptionValue> values_;
};

}  // namespace pixrep
