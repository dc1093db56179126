#include "pg_dump.hpp"

#include <cstdlib>
#include <optional>

#include "pg_errors.hpp"
#include "process.hpp"
#include "service_file.hpp"

namespace pixrep::live {

namespace {

constexpr const char* kSourceService = "pix-db-replication-source";

namespace fs = std::filesystem;

std::optional<Tool> probe(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    if (fs::canonical(path, ec).filename() == "pg_wrapper") return std::nullopt;  // Debian's chooser, not a pg_dump
    std::string out, err;
    try {
        if (common::capture_process({{path.string(), "--version"}, {}}, out, err) != 0) return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    // "pg_dump (PostgreSQL) 17.6 (Debian 17.6-1)"
    auto p = out.find(") ");
    if (p == std::string::npos) return std::nullopt;
    Tool t;
    t.path = path;
    t.version = out.substr(p + 2, out.find_first_of(" \n", p + 2) - p - 2);
    t.major = std::atoi(t.version.c_str());
    return t.major > 0 ? std::optional<Tool>(t) : std::nullopt;
}

}  // namespace

const Tool* pick_pg_dump(const std::vector<Tool>& found, int server_major) {
    const Tool* best = nullptr;
    for (const auto& t : found) {
        if (t.major < server_major) continue;
        if (!best || t.major < best->major) best = &t;
    }
    return best;
}

Tool find_pg_dump(const RunEnv& env, int server_major) {
    std::vector<fs::path> dirs{env.pg_restore().path.parent_path()};
    if (const char* path = std::getenv("PATH"))
        for (std::string rest = path; !rest.empty();) {
            auto colon = rest.find(':');
            dirs.emplace_back(rest.substr(0, colon));
            rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
        }
    std::error_code ec;
    for (const auto& d : fs::directory_iterator("/usr/lib/postgresql", ec)) dirs.push_back(d.path() / "bin");
    std::vector<Tool> found;
    for (const auto& d : dirs)
        if (auto t = probe(d / "pg_dump")) found.push_back(*t);
    if (const Tool* t = pick_pg_dump(found, server_major)) return *t;
    std::string seen;
    for (const auto& t : found) seen += (seen.empty() ? "" : ", ") + t.version;
    throw StepError(ErrorKind::config, "the source server is PostgreSQL " + std::to_string(server_major) + " and no pg_dump here is as new (found: " +
                                           (seen.empty() ? std::string("none") : seen) + "): install postgresql-client-" +
                                           std::to_string(server_major));
}

common::ProcessSpec pg_dump_spec(const Tool& pg_dump, const SourceUrl& url, const DumpJob& job, const std::filesystem::path& service_file) {
    common::ProcessSpec spec;
    spec.argv = {pg_dump.path.string(), "--no-owner", "--no-privileges", "--file=" + job.out.string(), "--dbname=" + url.conninfo_public};
    if (job.schema_only) spec.argv.insert(spec.argv.end(), {"--schema-only", "--format=custom"});
    else spec.argv.insert(spec.argv.end(), {"--format=directory", "--jobs=" + std::to_string(job.jobs), "--compress=1"});
    if (!job.snapshot.empty()) spec.argv.push_back("--snapshot=" + job.snapshot);
    if (!url.password.empty()) spec.env.emplace_back("PGPASSWORD", url.password);
    if (!url.sslpassword.empty()) {
        spec.argv[4] = "--dbname=service=" + std::string(kSourceService) + " " + url.conninfo_public;
        spec.env.emplace_back("PGSERVICEFILE", service_file.string());
    }
    spec.env.emplace_back("PGAPPNAME", "pix-db-replication pg_dump");
    return spec;
}

void run_pg_dump(RunContext& ctx, const Tool& pg_dump, const SourceUrl& url, const DumpJob& job) {
    const auto service_path = job.out.parent_path() / "pg_service_source.conf";
    std::optional<common::ServiceFile> service;
    if (!url.sslpassword.empty()) service.emplace(service_path, kSourceService, url.sslpassword);
    const common::ProcessSpec spec = pg_dump_spec(pg_dump, url, job, service_path);
    std::string first;
    common::ProcessHooks hooks;
    hooks.on_stderr = [&](const std::string& line) {
        if (first.empty()) first = line;
        ctx.log().warn("pg_dump: " + line);
    };
    hooks.stop = [&ctx] { return ctx.env().stopping(); };
    const int rc = common::run_process(spec, hooks);
    if (ctx.env().stopping()) throw StepError(ErrorKind::fatal, "stopped while pg_dump read the source");
    if (rc == 0) return;
    const std::string why = first.empty() ? "exit code " + std::to_string(rc) : first;
    ErrorKind kind = common::message_error_kind(why);
    if (why.find("permission denied") != std::string::npos || why.find("password authentication") != std::string::npos)
        kind = ErrorKind::config;
    throw StepError(kind, "pg_dump of the source database (" + url.label + ") failed: " + why);
}

}  // namespace pixrep::live
