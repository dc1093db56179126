#pragma once
// Option resolution, free of toml++: raw config values + environment -> typed Options.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <pixrep/options.hpp>

namespace pixrep {

/// A value as written in the config file, before checking it against an OptionSpec.
using RawValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;
/// The keys of one config table, in file order.
using RawTable = std::vector<std::pair<std::string, RawValue>>;
/// Reads an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
EnvLookup process_env();

/// Expands ${VAR}, ${VAR:-default} and $$ in `text`. Throws StepError(config) on bad syntax.
std::string expand_env(const std::string& text, const EnvLookup& env);

/// Parses "90s", "15m", "24h", "1h30m", "500ms", "2d" or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

/// Converts text (from the environment or an expanded string) to `type`; `what` names the origin
/// in error messages. Non-fatal remarks (e.g. a boolean that is neither true nor false) go to `warnings`.
OptionValue convert_text(const std::string& text, OptionType type, const std::string& what,
                         std::vector<std::string>* warnings);

/// Checks `raw` against `specs` and builds typed Options. `scope` names the table in messages,
/// e.g. "step 'pg-restore'". Throws StepError(config) naming the scope and the key.
Options resolve_options(const std::string& scope, const std::vector<OptionSpec>& specs, const RawTable& raw,
                        const EnvLookup& env, std::vector<std::string>* warnings);

/// Display form of a value ("true", "4", "24h", "a, b").
std::string format_value(const OptionValue& v);

}  // namespace pixrep
