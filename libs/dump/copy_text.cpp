#include "copy_text.hpp"

#include <charconv>

namespace pixrep::common {

std::vector<std::string> copy_columns(const std::string& header) {
    if (header.rfind("COPY ", 0) != 0) return {};
    auto open = header.find(" (");
    if (open == std::string::npos) return {};
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = open + 2; i < header.size(); ++i) {
        char c = header[i];
        if (quoted) {
            if (c == '"' && i + 1 < header.size() && header[i + 1] == '"') cur += '"', ++i;
            else if (c == '"') quoted = false;
            else cur += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',' || c == ')') {
            out.push_back(cur);
            cur.clear();
            if (c == ')') return out;
            while (i + 1 < header.size() && header[i + 1] == ' ') ++i;
        } else {
            cur += c;
        }
    }
    return {};
}

std::optional<std::string_view> copy_field(std::string_view row, std::size_t index) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < index; ++i) {
        auto tab = row.find('\t', start);
        if (tab == std::string_view::npos) return std::nullopt;
        start = tab + 1;
    }
    auto tab = row.find('\t', start);
    return row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
}

std::optional<std::int64_t> integer_field(std::string_view f) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (f.empty() || ec != std::errc() || p != f.data() + f.size()) return std::nullopt;
    return v;
}

std::string unescape_field(std::string_view f) {
    std::string out;
    out.reserve(f.size());
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    auto hex = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '\\' || i + 1 == f.size()) {
            out += f[i];
            continue;
        }
        const char c = f[++i];
        switch (c) {
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case 'x':
                if (i + 1 < f.size() && hex(f[i + 1]) >= 0) {
                    int v = hex(f[++i]);
                    if (i + 1 < f.size() && hex(f[i + 1]) >= 0) v = v * 16 + hex(f[++i]);
                    out += static_cast<char>(v);
                } else {
                    out += 'x';
                }
                break;
            default:
                if (octal(c)) {
                    int v = c - '0';
                    for (int k = 0; k < 2 && i + 1 < f.size() && octal(f[i + 1]); ++k) v = v * 8 + (f[++i] - '0');
                    out += static_cast<char>(v);
                } else {
                    out += c;  // \\ and any other character stand for themselves
                }
        }
    }
    return out;
}

std::string escape_field(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace pixrep::common
