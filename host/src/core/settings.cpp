#include "settings.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <sstream>

#include <pixrep/step.hpp>

namespace pixrep {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw StepError(ErrorKind::config, msg); }

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

const char* raw_type_name(const RawValue& v) {
    switch (v.index()) {
    case 0: return "boolean";
    case 1: return "integer";
    case 2: return "number";
    case 3: return "string";
    default: return "array";
    }
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

bool valid_name(const std::string& name) {
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
    for (char ch : name)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return false;
    return true;
}

// The matching '}' of the "${" at `open`, skipping nested ${...} in defaults.
std::size_t closing_brace(const std::string& text, std::size_t open) {
    int depth = 0;
    for (std::size_t i = open; i < text.size(); ++i) {
        if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') ++depth, ++i;
        else if (text[i] == '}' && --depth == 0) return i;
    }
    return std::string::npos;
}

std::string scope_at(const TableSource& src, int line) {
    return line > 0 ? src.scope + ", line " + std::to_string(line) : src.scope;
}

// Where a value written in the file came from, said first in its error messages: the variables
// its ${...} took their value from, or else the file's line.
std::string origin_of(const Expanded& x, const TableSource& src, int line) {
    if (x.vars.empty()) return scope_at(src, line);
    return join(x.vars, ", ") + " (set in the environment, read by " + src.file + ":" + std::to_string(line) + " for " + src.scope + ")";
}

}  // namespace

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
}

Expanded expand_env(const std::string& text, const EnvLookup& env) {
    Expanded out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '$' || i + 1 >= text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
            out.text += c;
            continue;
        }
        if (text[i + 1] == '$') {
            out.text += '$';
            ++i;
            continue;
        }
        auto close = closing_brace(text, i);
        if (close == std::string::npos) fail("unterminated '${' in \"" + text + "\"");
        std::string body = text.substr(i + 2, close - i - 2);
        std::string name = body;
        std::optional<std::string> fallback;
        if (auto p = body.find(":-"); p != std::string::npos) {
            name = body.substr(0, p);
            fallback = body.substr(p + 2);
        }
        if (!valid_name(name)) fail("invalid variable name '" + name + "' in \"" + text + "\"");
        if (auto value = env(name); value && !value->empty()) {
            out.text += *value;
            out.vars.push_back(name);
        } else if (fallback) {
            auto inner = expand_env(*fallback, env);
            out.text += inner.text;
            out.vars.insert(out.vars.end(), inner.vars.begin(), inner.vars.end());
        }
        i = close;
    }
    return out;
}

std::vector<std::string> referenced_vars(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; (i = text.find("${", i)) != std::string::npos; i += 2) {
        auto end = text.find_first_of(":}", i + 2);
        if (end != std::string::npos && valid_name(text.substr(i + 2, end - i - 2))) out.push_back(text.substr(i + 2, end - i - 2));
    }
    return out;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& input) {
    std::string text = trim(input);
    if (text.empty()) return std::nullopt;
    long long total_ms = 0;
    std::size_t i = 0;
    bool bare = true;
    while (i < text.size()) {
        std::size_t start = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
        if (start == i || i - start > 12) return std::nullopt;
        long long n = std::stoll(text.substr(start, i - start));
        std::size_t ustart = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
        std::string unit = text.substr(ustart, i - ustart);
        long long mult;
        if (unit.empty()) {
            if (!bare || i != text.size()) return std::nullopt;
            mult = 1000;
        } else if (unit == "ms") mult = 1;
        else if (unit == "s") mult = 1000;
        else if (unit == "m" || unit == "min") mult = 60'000;
        else if (unit == "h") mult = 3'600'000;
        else if (unit == "d") mult = 86'400'000;
        else return std::nullopt;
        bare = false;
        total_ms += n * mult;
    }
    return std::chrono::milliseconds(total_ms);
}

OptionValue convert_text(const std::string& raw_text, OptionType type, const std::string& what, const std::string& origin,
                         std::vector<std::string>* warnings) {
    std::string text = trim(raw_text);
    const std::string lead = origin.empty() ? "" : origin + ": ";
    switch (type) {
    case OptionType::string: return raw_text;
    case OptionType::boolean:
        // As in the original: only "true" enables; anything else disables, but say so when it
        // looks like the operator meant something else.
        if (text == "true") return true;
        if (!(text.empty() || text == "false") && warnings)
            warnings->push_back(lead + what + " is '" + text + "', not 'true': treated as false");
        return false;
    case OptionType::integer: {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || text.empty())
            fail(lead + what + " must be an integer, got '" + raw_text + "'");
        return v;
    }
    case OptionType::number: {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') fail(lead + what + " must be a number, got '" + raw_text + "'");
        return v;
    }
    case OptionType::duration: {
        auto d = parse_duration(text);
        if (!d) fail(lead + what + " must be a duration like 90s, 15m, 24h or 1h30m, got '" + raw_text + "'");
        return *d;
    }
    case OptionType::string_list: {
        std::vector<std::string> items;
        std::stringstream ss(text);
        for (std::string item; std::getline(ss, item, ',');)
            if (!trim(item).empty()) items.push_back(trim(item));
        return items;
    }
    }
    fail(lead + what + ": unknown type");
}

namespace {

// A value written literally in the file, of the right TOML type (no text conversion needed).
std::optional<OptionValue> literal(const RawValue& given, OptionType type) {
    if (type == OptionType::boolean && given.index() == 0) return std::get<bool>(given);
    if (type == OptionType::integer && given.index() == 1) return std::get<std::int64_t>(given);
    if (type == OptionType::number && given.index() == 1) return static_cast<double>(std::get<std::int64_t>(given));
    if (type == OptionType::number && given.index() == 2) return std::get<double>(given);
    if (type == OptionType::duration && given.index() == 1)
        return std::chrono::milliseconds(std::get<std::int64_t>(given) * 1000);
    return std::nullopt;
}

std::optional<OptionValue> from_file(const TableSource& src, const OptionSpec& spec, const RawEntry& given,
                                     const EnvLookup& env, std::vector<std::string>* warnings) {
    const std::string what = "option '" + spec.key + "'";
    if (const auto* s = std::get_if<std::string>(&given.value)) {
        auto x = expand_env(*s, env);
        // An empty expansion means "not set": fall through to default and required checks.
        if (x.text.empty() && spec.type != OptionType::string_list) return std::nullopt;
        return convert_text(x.text, spec.type, what, origin_of(x, src, given.line), warnings);
    }
    if (auto v = literal(given.value, spec.type)) return v;
    if (spec.type == OptionType::string_list && given.value.index() == 4) {
        std::vector<std::string> items;
        for (const auto& item : std::get<std::vector<std::string>>(given.value)) items.push_back(expand_env(item, env).text);
        return items;
    }
    fail(scope_at(src, given.line) + ": " + what + " must be " +
         (spec.type == OptionType::integer ? "an " : "a ") + type_name(spec.type) + ", got " + raw_type_name(given.value));
}

}  // namespace

Values resolve_options(const TableSource& src, const std::vector<OptionSpec>& specs, const RawTable& raw,
                       const EnvLookup& env, std::vector<std::string>* warnings) {
    for (const auto& entry : raw) {
        bool known = false;
        for (const auto& s : specs) known = known || s.key == entry.key;
        if (!known) {
            std::vector<std::string> allowed;
            for (const auto& s : specs) allowed.push_back(s.key);
            fail(src.scope + ": unknown option '" + entry.key + "'; allowed: " +
                 (allowed.empty() ? std::string("(none)") : join(allowed, ", ")));
        }
    }
    Values out;
    for (const auto& spec : specs) {
        const RawEntry* given = nullptr;
        for (const auto& entry : raw)
            if (entry.key == spec.key) given = &entry;
        std::optional<OptionValue> value;
        if (given) {
            value = from_file(src, spec, *given, env, warnings);
        } else if (!spec.env.empty()) {
            if (auto e = env(spec.env); e && !e->empty())
                value = convert_text(*e, spec.type, "option '" + spec.key + "' (from " + spec.env + ")", src.scope, warnings);
        }
        if (!value && spec.fallback) value = spec.fallback;
        if (!value) {
            if (spec.required) {
                std::vector<std::string> vars = given ? referenced_vars(std::get<std::string>(given->value)) : std::vector<std::string>{};
                if (vars.empty() && !spec.env.empty()) vars.push_back(spec.env);
                fail(src.scope + ": option '" + spec.key + "' is required" + (vars.empty() ? std::string() : ": set " + join(vars, " or ")));
            }
            continue;
        }
        out[spec.key] = *value;
    }
    return out;
}

std::string format_value(const OptionValue& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>) return x;
            else if constexpr (std::is_same_v<T, std::vector<std::string>>) return join(x, ", ");
            else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
                auto ms = x.count();
                if (ms % 3'600'000 == 0 && ms) return std::to_string(ms / 3'600'000) + "h";
                if (ms % 60'000 == 0 && ms) return std::to_string(ms / 60'000) + "m";
                if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
                return std::to_string(ms) + "ms";
            } else {
                std::ostringstream os;
                os << x;
                return os.str();
            }
        },
        v);
}

}  // namespace pixrep
