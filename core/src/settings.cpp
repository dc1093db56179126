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

}  // namespace

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
}

std::string expand_env(const std::string& text, const EnvLookup& env) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '$') {
            out += c;
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (i + 1 >= text.size() || text[i + 1] != '{') {
            out += c;
            continue;
        }
        auto close = text.find('}', i + 2);
        if (close == std::string::npos) fail("unterminated '${' in \"" + text + "\"");
        std::string body = text.substr(i + 2, close - i - 2);
        std::string name = body, fallback;
        bool has_fallback = false;
        if (auto p = body.find(":-"); p != std::string::npos) {
            name = body.substr(0, p);
            fallback = body.substr(p + 2);
            has_fallback = true;
        }
        if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
            fail("invalid variable name '" + name + "' in \"" + text + "\"");
        for (char ch : name)
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'))
                fail("invalid variable name '" + name + "' in \"" + text + "\"");
        auto value = env(name);
        if (value && !value->empty()) out += *value;
        else if (has_fallback) out += fallback;
        i = close;
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
        if (start == i) return std::nullopt;
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

OptionValue convert_text(const std::string& raw_text, OptionType type, const std::string& what,
                         std::vector<std::string>* warnings) {
    std::string text = trim(raw_text);
    switch (type) {
    case OptionType::string: return raw_text;
    case OptionType::boolean:
        // As in the original: only "true" enables; anything else disables, but say so when it
        // looks like the operator meant something else.
        if (text == "true") return true;
        if (!(text.empty() || text == "false") && warnings)
            warnings->push_back(what + " is '" + text + "', not 'true': treated as false");
        return false;
    case OptionType::integer: {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || text.empty())
            fail(what + " must be an integer, got '" + raw_text + "'");
        return v;
    }
    case OptionType::number: {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') fail(what + " must be a number, got '" + raw_text + "'");
        return v;
    }
    case OptionType::duration: {
        auto d = parse_duration(text);
        if (!d) fail(what + " must be a duration like 90s, 15m, 24h or 1h30m, got '" + raw_text + "'");
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
    fail(what + ": unknown type");
}

Options resolve_options(const std::string& scope, const std::vector<OptionSpec>& specs, const RawTable& raw,
                        const EnvLookup& env, std::vector<std::string>* warnings) {
    for (const auto& [key, value] : raw) {
        bool known = false;
        for (const auto& s : specs) known = known || s.key == key;
        if (!known) {
            std::vector<std::string> allowed;
            for (const auto& s : specs) allowed.push_back(s.key);
            fail(scope + ": unknown option '" + key + "'; allowed: " +
                 (allowed.empty() ? std::string("(none)") : join(allowed, ", ")));
        }
    }
    Options out;
    for (const auto& spec : specs) {
        const std::string what = scope + ": option '" + spec.key + "'";
        const RawValue* given = nullptr;
        for (const auto& [key, value] : raw)
            if (key == spec.key) given = &value;
        std::optional<OptionValue> value;
        if (given) {
            if (const auto* s = std::get_if<std::string>(given)) {
                std::string text = expand_env(*s, env);
                // An empty expansion means "not set": fall through to default and required checks.
                if (!text.empty() || spec.type == OptionType::string_list)
                    value = convert_text(text, spec.type, what, warnings);
            } else if (spec.type == OptionType::boolean && given->index() == 0) {
                value = std::get<bool>(*given);
            } else if (spec.type == OptionType::integer && given->index() == 1) {
                value = std::get<std::int64_t>(*given);
            } else if (spec.type == OptionType::number && (given->index() == 1 || given->index() == 2)) {
                value = given->index() == 1 ? static_cast<double>(std::get<std::int64_t>(*given))
                                            : std::get<double>(*given);
            } else if (spec.type == OptionType::duration && given->index() == 1) {
                value = std::chrono::milliseconds(std::get<std::int64_t>(*given) * 1000);
            } else if (spec.type == OptionType::string_list && given->index() == 4) {
                std::vector<std::string> items;
                for (const auto& item : std::get<std::vector<std::string>>(*given))
                    items.push_back(expand_env(item, env));
                value = items;
            } else {
                fail(what + " must be " + (spec.type == OptionType::integer ? "an " : "a ") +
                     type_name(spec.type) + ", got " + raw_type_name(*given));
            }
        } else if (!spec.env.empty()) {
            if (auto e = env(spec.env); e && !e->empty())
                value = convert_text(*e, spec.type, what + " (from " + spec.env + ")", warnings);
        }
        if (!value && spec.fallback) value = spec.fallback;
        if (!value) {
            if (spec.required)
                fail(what + " is required" + (spec.env.empty() ? std::string() : ": set " + spec.env));
            continue;
        }
        out.set(spec.key, *value);
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
