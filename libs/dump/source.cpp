#include "source.hpp"

#include <set>
#include <sstream>

#include "process.hpp"
#include "toc.hpp"

namespace pixrep::common {
namespace fs = std::filesystem;
namespace {

std::string format_name(const DumpHeader& h) { return h.format == 3 ? "directory" : "custom"; }

}  // namespace

std::unique_ptr<DumpScanner> scanner_for(const std::string& label, const Tool& pg_restore) {
    auto scanner = std::make_unique<DumpScanner>(label);
    scanner->on_version([label, pg_restore](const DumpHeader& h) {
        int needed = pg_restore_major_for(h.vmaj, h.vmin);
        if (pg_restore.major >= needed) return;
        throw DumpError("dump '" + label + "' uses archive format " + h.version() + ", which pg_restore " + pg_restore.version +
                        " (" + pg_restore.path.string() + ") cannot read: it was made by a newer pg_dump (" +
                        std::to_string(needed) + " or later); install postgresql-client-" + std::to_string(needed) +
                        " (or newer), or point PG_RESTORE_BIN at one");
    });
    return scanner;
}

std::unique_ptr<DumpScanner> verify_local_dump(const fs::path& dump, const RunEnv& env) {
    auto stopping = [&env] { return env.stopping(); };
    auto scanner = scanner_for(dump.string(), env.pg_restore());
    scanning([&] {
        if (fs::is_directory(dump)) scan_directory(*scanner, dump, stopping);
        else scan_file(*scanner, dump, stopping);
    });
    return scanner;
}

RestorePlan checked_plan(const RunEnv& env, Backup& backup, const DumpScanner& scan) {
    const auto& h = scan.header();
    backup.format = format_name(h);
    backup.archive_version = h.version();
    backup.pg_dump_version = h.pg_dump_version;
    backup.server_version = h.server_version;
    // The pg_restore that will restore it must read it too, and see the same entries.
    const auto& tool = env.pg_restore();
    std::string out, err;
    int rc = capture_process({{tool.path.string(), "--list", backup.dump.string()}, {}}, out, err);
    if (rc != 0) {
        std::istringstream lines(err);
        std::string first;
        std::getline(lines, first);
        throw StepError(ErrorKind::input, "'" + backup.dump.string() + "' is not a readable pg_dump archive for pg_restore " +
                                              tool.version + ": " + (first.empty() ? "exit code " + std::to_string(rc) : first));
    }
    // pg_restore lists what it would restore (not ENCODING, DATABASE...): all of it must be in the scan.
    std::set<int> scanned;
    for (const auto& e : scan.entries()) scanned.insert(e.id);
    auto ids = listed_ids(out);
    for (int id : ids)
        if (!scanned.count(id))
            throw StepError(ErrorKind::input, "'" + backup.dump.string() + "': pg_restore " + tool.version + " lists entry " +
                                                  std::to_string(id) + ", which this tool did not find in the archive");
    if (ids.empty()) throw StepError(ErrorKind::input, "dump '" + backup.dump.string() + "' holds no objects at all");
    return plan_from_scan(scan.entries());
}

void verified_whole(const RunEnv& env, Logger& log, const Backup& backup, const DumpScanner& scan) {
    const auto& tool = env.pg_restore();
    if (!scan.data_checked()) {
        // lz4 or zstd data, which the scan walked without decompressing: let pg_restore read it all.
        ProcessHooks hooks;
        std::string verr;
        hooks.on_stderr = [&](const std::string& l) { verr += l + "\n"; };
        hooks.stop = [&env] { return env.stopping(); };
        log.info("verifying the dump's compressed data with pg_restore", {{"dump", backup.dump.string()}});
        if (run_process({{tool.path.string(), "--data-only", "--file=/dev/null", backup.dump.string()}, {}}, hooks) != 0)
            throw StepError(ErrorKind::input, "dump '" + backup.dump.string() + "' is corrupt: pg_restore cannot read its data: " +
                                                  verr.substr(0, verr.find('\n')));
    }
    std::int64_t rows = 0, left = 0;
    for (const auto& e : scan.entries()) {
        rows += e.rows > 0 ? e.rows : 0;
        left += e.data_seen && e.rows < 0 && !e.copy.empty() && scan.data_checked();  // see DumpScanner::leave()
    }
    const auto& h = scan.header();
    log.info("backup verified", {{"dump", backup.dump.string()}, {"format", format_name(h)},
                                 {"entries", static_cast<std::int64_t>(scan.entries().size())}, {"rows", rows},
                                 {"data_checked", scan.data_checked()}, {"blocks_read_by_steps", left}, {"archive_version", h.version()},
                                 {"dumped_by", h.pg_dump_version}, {"pg_restore", tool.version}});
}

void adopt_backup(RunContext& ctx, Backup backup, const DumpScanner& scan) {
    auto plan = checked_plan(ctx.env(), backup, scan);
    verified_whole(ctx.env(), ctx.log(), backup, scan);
    ctx.adopt(std::move(backup), std::move(plan));
}

void announce(Arrival& arrival, DumpScanner& scan, Backup backup, std::function<fs::path()> dump) {
    scan.on_toc([&arrival, &scan, backup = std::move(backup), dump = std::move(dump)]() mutable {
        backup.dump = dump();
        auto plan = checked_plan(arrival.env(), backup, scan);
        arrival.log().info("table of contents verified: the build may start while the data arrives",
                           {{"dump", backup.dump.string()}, {"entries", static_cast<std::int64_t>(plan.entries.size())}});
        arrival.toc(std::move(backup), std::move(plan));
    });
    scan.on_block([&arrival](const ScannedEntry& e) { arrival.arrived(DumpId{e.id}, {e.rows, e.first_key_max, e.data_offset, e.data_sha256}); });
    // A kept table's block is read whole by its append, which checks it: one decompression, not two.
    scan.leave([&arrival](int id) { return arrival.read_by_a_step(DumpId{id}); });
}

}  // namespace pixrep::common
