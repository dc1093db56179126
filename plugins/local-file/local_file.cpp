// Source step for local development and tests: a Scalingo backup archive (.tar.gz with one
// *.pgsql), a bare custom-format dump or a directory-format dump, already on disk.
#include <archive.h>

#include <pixrep/step_export.hpp>

#include "dump.hpp"
#include "source.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pixrep;

class LocalFileStep final : public Step {
public:
    StepInfo info() const override {
        return {"local-file", "1.0.0", "Reads a backup archive or pg_dump file from the local disk and verifies it",
                {{"path", OptionType::string, std::nullopt, true,
                  "Scalingo backup (.tar.gz holding one *.pgsql), custom-format dump or directory dump", "BACKUP_FILE"}}};
    }

    void configure(const Options& options, Logger&) override { path_ = options.string("path"); }

    void prepare(RunContext& ctx) override {
        auto kind = common::detect_kind(path_);
        Backup b;
        b.id = fs::absolute(path_).string();
        b.name = path_.filename().string();
        switch (kind) {
        case common::FileKind::missing:
            throw StepError(ErrorKind::input, "backup file '" + path_.string() + "' not found (set BACKUP_FILE)");
        case common::FileKind::unknown:
            throw StepError(ErrorKind::input, "'" + path_.string() +
                                                  "' is neither a Scalingo backup archive (.tar.gz) nor a pg_dump file");
        case common::FileKind::custom_dump:
        case common::FileKind::directory_dump:
            b.dump = path_;
            break;
        case common::FileKind::gzip_archive:
        case common::FileKind::tar_archive:
            b.dump = extract(ctx);
            b.archive_bytes = static_cast<std::int64_t>(fs::file_size(path_));
            break;
        }
        common::adopt_backup(ctx, std::move(b));
    }

private:
    fs::path extract(RunContext& ctx) {
        // A retry after a failed restore reuses what an earlier attempt extracted from the same file.
        auto stamp = fs::last_write_time(path_);
        auto size = fs::file_size(path_);
        std::error_code ec;
        if (!extracted_.empty() && stamp == stamp_ && size == size_ && fs::exists(extracted_, ec)) {
            ctx.log().info("reusing the dump extracted by an earlier attempt", {{"dump", extracted_.string()}});
            return extracted_;
        }
        if (!extracted_.empty()) fs::remove(extracted_, ec);
        ctx.log().info("extracting backup archive", {{"archive", path_.string()}, {"bytes", static_cast<std::int64_t>(size)}});
        std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), &archive_read_free);
        archive_read_support_filter_gzip(a.get());
        archive_read_support_format_tar(a.get());
        archive_read_support_format_gnutar(a.get());
        if (archive_read_open_filename(a.get(), path_.c_str(), 1 << 20) != ARCHIVE_OK)
            throw StepError(ErrorKind::input, "archive '" + path_.string() + "' is corrupt or unreadable: " +
                                                  (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"));
        extracted_ = common::extract_pgsql(a.get(), ctx.work_dir, path_.string());
        stamp_ = stamp;
        size_ = size;
        return extracted_;
    }

    fs::path path_, extracted_;
    fs::file_time_type stamp_{};
    std::uintmax_t size_ = 0;
};

}  // namespace

PIXREP_STEP(LocalFileStep)
