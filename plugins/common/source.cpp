#include "source.hpp"

#include "dump.hpp"

namespace pixrep::common {

void adopt_backup(RunContext& ctx, Backup backup) {
    auto kind = detect_kind(backup.dump);
    if (kind == FileKind::custom_dump) {
        backup.format = "custom";
        verify_custom_dump(backup.dump);
    } else if (kind == FileKind::directory_dump) {
        backup.format = "directory";
    } else {
        throw StepError(ErrorKind::input, "'" + backup.dump.string() + "' is not a pg_dump custom-format file or directory");
    }
    ctx.plan = read_toc(backup.dump, ctx.log());
    if (kind == FileKind::directory_dump) verify_directory_dump(backup.dump, ctx.plan);
    ctx.log().info("backup verified", {{"dump", backup.dump.string()}, {"format", backup.format},
                                       {"entries", static_cast<std::int64_t>(ctx.plan.entries.size())},
                                       {"archive_version", ctx.plan.archive_version},
                                       {"dumped_by", ctx.plan.dumped_by}});
    ctx.backup = std::move(backup);
}

}  // namespace pixrep::common
