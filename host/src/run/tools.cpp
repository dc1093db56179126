#include "tools.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include <pixrep/step.hpp>

#include "process.hpp"

namespace pixrep {
namespace fs = std::filesystem;

std::optional<std::pair<std::string, int>> parse_tool_version(const std::string& out) {
    static const std::regex re(R"(\(PostgreSQL\)\s+(([0-9]+)(\.[0-9]+)?))");
    std::smatch m;
    if (!std::regex_search(out, m, re)) return std::nullopt;
    return std::make_pair(m[1].str(), std::stoi(m[2].str()));
}

std::optional<Tool> newest(const std::vector<Tool>& found) {
    std::optional<Tool> best;
    auto minor = [](const Tool& t) {
        auto dot = t.version.find('.');
        return dot == std::string::npos ? 0 : std::atoi(t.version.c_str() + dot + 1);
    };
    for (const auto& t : found)
        if (!best || t.major > best->major || (t.major == best->major && minor(t) > minor(*best))) best = t;
    return best;
}

std::vector<fs::path> pg_restore_candidates(const std::string& path_env) {
    // The real binaries first, so that a tie goes to them rather than to Debian's pg_wrapper.
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) out.push_back(e.path() / "bin" / "pg_restore");
    std::sort(out.begin(), out.end());
    std::stringstream ss(path_env);
    for (std::string dir; std::getline(ss, dir, ':');)
        if (!dir.empty()) out.push_back(fs::path(dir) / "pg_restore");
    return out;
}

bool is_pg_wrapper(const fs::path& real) { return real.filename() == "pg_wrapper"; }

namespace {

std::optional<Tool> probe(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec) || access(p.c_str(), X_OK) != 0) return std::nullopt;
    std::string out, err;
    try {
        if (common::capture_process({{p.string(), "--version"}, {}}, out, err) != 0) return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    auto v = parse_tool_version(out);
    if (!v) return std::nullopt;
    return Tool{fs::absolute(p), v->first, v->second};
}

}  // namespace

Tool find_pg_restore(const std::string& override_path) {
    if (!override_path.empty()) {
        if (auto t = probe(override_path)) return *t;
        throw StepError(ErrorKind::config, "PG_RESTORE_BIN '" + override_path + "' is not a pg_restore that runs here");
    }
    const char* path = std::getenv("PATH");
    std::vector<Tool> found;
    std::set<fs::path> seen;
    for (const auto& c : pg_restore_candidates(path ? path : "")) {
        std::error_code ec;
        auto real = fs::canonical(c, ec);
        if (ec || !seen.insert(real).second || is_pg_wrapper(real)) continue;
        if (auto t = probe(c)) found.push_back(*t);
    }
    if (auto best = newest(found)) return *best;
    throw StepError(ErrorKind::config,
                    "no pg_restore found on PATH or in /usr/lib/postgresql/*/bin: install postgresql-client-17 (or newer), "
                    "or set PG_RESTORE_BIN");
}

}  // namespace pixrep
