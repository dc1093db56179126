#include "build_names.hpp"

#include <cstdint>
#include <cstdio>

namespace pixrep::beside {
namespace {

constexpr std::size_t kMaxName = 63;  // NAMEDATALEN - 1

std::string derived(const std::string& prefix, const std::string& schema) {
    std::string name = prefix + schema;
    if (name.size() <= kMaxName) return name;
    // Two long names sharing a prefix must not meet: the hash of the whole schema name tells them apart.
    std::uint32_t h = 2166136261u;
    for (unsigned char c : schema) h = (h ^ c) * 16777619u;
    char hex[10];
    std::snprintf(hex, sizeof hex, "_%08x", h);
    std::string head = prefix.substr(0, std::min(prefix.size(), kMaxName - 9));
    std::string keep = schema.substr(0, kMaxName - 9 - head.size());
    // Never cut a UTF-8 character in two.
    while (!keep.empty() && (static_cast<unsigned char>(keep.back()) & 0xC0) == 0x80) keep.pop_back();
    if (!keep.empty() && static_cast<unsigned char>(keep.back()) >= 0xC0) keep.pop_back();
    return head + keep + hex;
}

std::string like_escaped(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '_' || c == '%' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

std::string build_schema_name(const std::string& home, const std::string& schema) { return derived(home + "_build_", schema); }

std::string previous_schema_name(const std::string& home, const std::string& schema) { return derived(home + "_prev_", schema); }

// The host keeps the home schema's name within kMaxHome bytes, so both prefixes stay whole.
std::string build_schema_pattern(const std::string& home) { return like_escaped(home + "_build_") + "%"; }

std::string previous_schema_pattern(const std::string& home) { return like_escaped(home + "_prev_") + "%"; }

bool is_tool_schema(const std::string& home, const std::string& name) {
    return name == home || name.rfind(home + "_build_", 0) == 0 || name.rfind(home + "_prev_", 0) == 0;
}

namespace {
const std::string kIndexMark = "made by pix-db-replication step ";
}

std::string step_index_comment(const std::string& step, const std::string& digest) { return kIndexMark + step + ", statement " + digest; }

bool is_step_index_comment(const std::string& comment) { return comment.rfind(kIndexMark, 0) == 0; }

}  // namespace pixrep::beside
