#pragma once
// A step's options: each declared once, with its type, default, description and environment
// variable, and bound to the member that stores it. The host reads the TOML config, checks every
// value against these declarations and stores it through the binding: no toml++ type crosses
// the SDK, and a step never looks an option up by name.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pixrep {

/// The type of an option's value.
enum class OptionType { boolean, integer, number, string, string_list, duration };

/// A typed option value; durations are held in milliseconds.
using OptionValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>,
                                 std::chrono::milliseconds>;

/// One option as a step declares it.
struct OptionSpec {
    std::string key;                      ///< Key in the step's config table.
    OptionType type = OptionType::string; ///< Expected type; text from the environment is converted.
    std::optional<OptionValue> fallback;  ///< Default when neither the config nor the environment sets it.
    bool required = false;                ///< The run cannot start without a value.
    std::string description;              ///< One line, shown by `plugins`.
    std::string env;                      ///< Environment variable read when the key is absent ("" = none).
    bool secret = false;                  ///< The value is redacted from every log record.
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

/// The options of one step. A step fills it in declare(); the host lists, validates and stores.
struct OptionStore;

class OptionTable {
public:
    /// Modifiers of the option just declared.
    class Decl {
    public:
        /// Reads environment variable `var` when the config does not set the key.
        Decl& env(const std::string& var) { return edit([&](OptionSpec& s) { s.env = var; }); }
        /// The run cannot start without a value; the member's value is then no default.
        Decl& required() { return edit([](OptionSpec& s) { s.required = true, s.fallback.reset(); }); }
        /// The value is a secret: redacted from every log record and from `plugins`/`check`.
        Decl& secret() { return edit([](OptionSpec& s) { s.secret = true; }); }

    private:
        friend class OptionTable;
        Decl(OptionTable& t, std::size_t i) : table_(t), index_(i) {}
        template <class F>
        Decl& edit(F f) {
            f(table_.bound_[index_].spec);
            return *this;
        }
        OptionTable& table_;
        std::size_t index_;
    };

    /// Declares boolean option `key`, stored in `into`, whose current value is the default.
    Decl add(const std::string& key, bool& into, const std::string& description) {
        return bind(key, OptionType::boolean, into, into, description);
    }
    /// Declares integer option `key`, stored in `into`, whose current value is the default.
    Decl add(const std::string& key, std::int64_t& into, const std::string& description) {
        return bind(key, OptionType::integer, into, into, description);
    }
    /// Declares number option `key`, stored in `into`, whose current value is the default.
    Decl add(const std::string& key, double& into, const std::string& description) {
        return bind(key, OptionType::number, into, into, description);
    }
    /// Declares string option `key`, stored in `into`, whose current value is the default.
    Decl add(const std::string& key, std::string& into, const std::string& description) {
        return bind(key, OptionType::string, into, into, description);
    }
    /// Declares list option `key` (comma-separated in a variable), stored in `into`; its current value is the default.
    Decl add(const std::string& key, std::vector<std::string>& into, const std::string& description) {
        return bind(key, OptionType::string_list, into, into, description);
    }
    /// Declares duration option `key` ("90s", "15m", "24h"...), stored in `into`; its current value is the default.
    Decl add(const std::string& key, std::chrono::milliseconds& into, const std::string& description) {
        return bind(key, OptionType::duration, into, into, description);
    }
    /// Declares string option `key` without default: `into` stays empty unless a value is given.
    Decl add(const std::string& key, std::optional<std::string>& into, const std::string& description) {
        return bind_optional<std::string>(key, OptionType::string, into, description);
    }
    /// Declares duration option `key` without default: `into` stays empty unless a value is given.
    Decl add(const std::string& key, std::optional<std::chrono::milliseconds>& into, const std::string& description) {
        return bind_optional<std::chrono::milliseconds>(key, OptionType::duration, into, description);
    }

    /// Every declared option, in declaration order.
    std::vector<OptionSpec> specs() const {
        std::vector<OptionSpec> out;
        for (const auto& b : bound_) out.push_back(b.spec);
        return out;
    }
private:
    friend struct OptionStore;  // the host's, the only one that stores values
    void store(const std::string& key, const OptionValue& value) const {
        for (const auto& b : bound_)
            if (b.spec.key == key) b.store(value);
    }

    struct Bound {
        OptionSpec spec;
        std::function<void(const OptionValue&)> store;
    };
    template <class T>
    Decl bind(const std::string& key, OptionType type, T& into, const T& fallback, const std::string& description) {
        Bound b{{key, type, OptionValue(fallback), false, description, "", false},
                [&into](const OptionValue& v) { into = std::get<T>(v); }};
        bound_.push_back(std::move(b));
        return Decl(*this, bound_.size() - 1);
    }
    template <class T>
    Decl bind_optional(const std::string& key, OptionType type, std::optional<T>& into, const std::string& description) {
        Bound b{{key, type, std::nullopt, false, description, "", false},
                [&into](const OptionValue& v) { into = std::get<T>(v); }};
        bound_.push_back(std::move(b));
        return Decl(*this, bound_.size() - 1);
    }
    std::vector<Bound> bound_;
};

}  // namespace pixrep
