#pragma once
// Option resolution, free of toml++: raw config values + environment -> typed values, with
// messages that name what the operator typed (the variable, or the file and line).
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <pixrep/options.hpp>

namespace pixrep {

/// The host's hand on option tables: stores a value, already checked against the spec of
/// `key`, into the member the step bound it to. Steps cannot.
struct OptionStore {
    static void store(const OptionTable& table, const std::string& key, const OptionValue& value) { table.store(key, value); }
};

/// A value as written in the config file, before checking it against an OptionSpec.
using RawValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;
/// One key of a config table, with the line it is on.
struct RawEntry {
    std::string key;
    RawValue value;
    int line = 0;
};
/// The keys of one config table, in file order.
using RawTable = std::vector<RawEntry>;
/// Reads an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
EnvLookup process_env();

/// Text after ${VAR} expansion, and the variables whose values went into it.
struct Expanded {
    std::string text;
    std::vector<std::string> vars;
};

/// Expands ${VAR}, ${VAR:-default} (the default may itself hold ${...}) and $$ in `text`.
/// Throws StepError(config) on bad syntax.
Expanded expand_env(const std::string& text, const EnvLookup& env);

/// Parses "90s", "15m", "24h", "1h30m", "500ms", "2d" or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

/// Converts text to `type`; `what` is the message's subject ("option 'jobs'"), `origin` says
/// where the text came from and leads the message. Non-fatal remarks go to `warnings`.
OptionValue convert_text(const std::string& text, OptionType type, const std::string& what, const std::string& origin,
                         std::vector<std::string>* warnings);

/// Typed values of one table, by key.
using Values = std::map<std::string, OptionValue>;

/// Where a table comes from, for messages: `scope` as "step 'pg-restore' (file:6)" or
/// "file [run]", `file` the config file.
struct TableSource {
    std::string scope;
    std::string file;
};

/// Checks `raw` against `specs` and returns typed values. Throws StepError(config) naming the
/// variable or the file and line the bad value came from.
Values resolve_options(const TableSource& source, const std::vector<OptionSpec>& specs, const RawTable& raw,
                       const EnvLookup& env, std::vector<std::string>* warnings);

/// Display form of a value ("true", "4", "24h", "a, b").
std::string format_value(const OptionValue& v);

/// Every ${VAR} name referenced in `text` (defaults included).
std::vector<std::string> referenced_vars(const std::string& text);

}  // namespace pixrep
