// Source step for local development and tests: a Scalingo backup archive (.tar.gz with one
// *.pgsql), a bare custom-format dump or a directory-format dump, already on disk. The archive
// is extracted into the run's own directory, the dump verified on the way.
#include <archive.h>

#include <pixrep/step_export.hpp>

#include "archive.hpp"
#include "dump.hpp"
#include "source.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pixrep;

class LocalFileStep final : public Step {
public:
    StepInfo info() const override {
        return {"local-file", "1.0.0", "Reads a backup archive or pg_dump file from the local disk and verifies it"};
    }

    void declare(OptionTable& t) override {
        t.add("path", path_, "Scalingo backup (.tar.gz holding one *.pgsql), custom-format dump or directory dump")
            .env("BACKUP_FILE")
            .required();
    }

    void prepare(RunContext& ctx) override {
        const fs::path path(path_);
        Backup b;
        b.id = fs::absolute(path).string();
        b.name = path.filename().string();
        switch (common::detect_kind(path)) {
        case common::FileKind::missing:
            throw StepError(ErrorKind::input, "backup file '" + path_ + "' not found (set BACKUP_FILE)");
        case common::FileKind::unknown:
            throw StepError(ErrorKind::input, "'" + path_ + "' is neither a Scalingo backup archive (.tar.gz) nor a pg_dump file");
        case common::FileKind::custom_dump:
        case common::FileKind::directory_dump:
            b.dump = path;
            scan_ = common::verify_local_dump(path, ctx.env());
            break;
        case common::FileKind::gzip_archive:
        case common::FileKind::tar_archive:
            b.dump = extract(ctx);
            b.archive_bytes = static_cast<std::int64_t>(fs::file_size(path));
            break;
        }
        common::adopt_backup(ctx, std::move(b), *scan_);
    }

private:
    fs::path extract(RunContext& ctx) {
        // A retry reuses what an earlier attempt of this run extracted from the same file.
        const fs::path path(path_);
        auto stamp = fs::last_write_time(path);
        auto size = fs::file_size(path);
        std::error_code ec;
        if (!extracted_.empty() && extracted_.parent_path() == ctx.env().work_dir() && stamp == stamp_ && size == size_ &&
            fs::exists(extracted_, ec)) {
            ctx.log().info("reusing the dump extracted by an earlier attempt", {{"dump", extracted_.string()}});
            return extracted_;
        }
        ctx.log().info("extracting backup archive", {{"archive", path_}, {"bytes", static_cast<std::int64_t>(size)}});
        auto a = common::open_tar_reader();
        if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
            throw StepError(ErrorKind::input, "archive '" + path_ + "' is corrupt or unreadable: " +
                                                  (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"));
        scan_ = common::scanner_for(path_, ctx.env().pg_restore());
        auto stopping = [&ctx] { return ctx.env().stopping(); };
        extracted_.clear();
        fs::path dump;
        common::scanning([&] {
            dump = common::extract_pgsql(a.get(), ctx.env().work_dir(), path_,
                                         [&](const char* p, std::size_t n) { scan_->feed(p, n); }, stopping);
            scan_->finish();
        });
        extracted_ = dump;
        stamp_ = stamp;
        size_ = size;
        return extracted_;
    }

    std::string path_;
    fs::path extracted_;
    fs::file_time_type stamp_{};
    std::uintmax_t size_ = 0;
    std::unique_ptr<common::DumpScanner> scan_;
};

}  // namespace

PIXREP_STEP(LocalFileStep)
