#include "download.hpp"

#include "threads.hpp"

#include <archive.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "archive.hpp"
#include "source.hpp"
#include "threads.hpp"

namespace pixrep::scalingo {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// "download progress" records: every `every`, and at every 5% when the size is known.
class Progress {
public:
    Progress(Logger& log, std::int64_t total, std::chrono::milliseconds every) : log_(log), total_(total), every_(every) {}
    void update(std::int64_t delivered) {
        auto now = Clock::now();
        std::int64_t pct = total_ > 0 ? delivered * 100 / total_ : -1;
        bool step = pct >= 0 && pct / 5 > last_pct_ / 5;
        if (!step && now - last_log_ < every_) return;
        last_log_ = now;
        if (pct >= 0) last_pct_ = pct;
        double s = std::chrono::duration<double>(now - t0_).count();
        double rate = s > 0 ? static_cast<double>(delivered) / s : 0;
        Fields f{{"bytes", delivered}, {"mb_per_s", rate / 1e6}};
        if (total_ > 0) {
            f.emplace_back("total", total_);
            f.emplace_back("percent", pct);
            if (rate > 0) f.emplace_back("eta_s", static_cast<std::int64_t>(static_cast<double>(total_ - delivered) / rate));
        }
        log_.info("download progress", f);
    }

private:
    Logger& log_;
    std::int64_t total_;
    std::chrono::milliseconds every_;
    Clock::time_point t0_ = Clock::now(), last_log_ = Clock::now();
    std::int64_t last_pct_ = 0;
};

// Writes all of `n` bytes to the pipe; false when the reader is gone.
bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w, n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

fs::path stream_backup(common::HttpClient& http, const std::string& url, const BackupInfo& b, common::DumpScanner& scanner,
                       Arrival& ctx, std::chrono::milliseconds progress_every,
                       const std::function<void(const fs::path&)>& opened) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw StepError(ErrorKind::fatal, std::string("pipe: ") + std::strerror(errno));
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    std::int64_t delivered = 0;
    std::optional<StepError> transfer_error;
    bool reader_gone = false;  // the transfer was abandoned because extraction had failed
    const auto t0 = Clock::now();
    // The transfer runs on its own thread, writing into the pipe that libarchive reads here.
    // Nothing it throws escapes it, and it is joined whatever the reading side throws.
    common::JoinedThread writer([&] {
        Progress progress(ctx.log(), b.size, progress_every);
        common::HttpRequest req;
        req.what = "download of backup " + b.name;
        req.url = url;
        transfer_error = common::capture_error(
            [&] {
                http.download(req, [&](const char* p, std::size_t n) {
                    if (!write_all(fds[1], p, n)) return !(reader_gone = true);
                    progress.update(delivered + static_cast<std::int64_t>(n));
                    return true;
                }, delivered);
            },
            ErrorKind::fatal, req.what + " failed");
        ::close(fds[1]);
    });
    // Destroyed before the writer: its read end closed, the writer cannot block on a full pipe.
    struct CloseReadEnd {
        int& fd;
        ~CloseReadEnd() {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
    } close_read{fds[0]};
    auto join = [&] {
        if (fds[0] >= 0) ::close(fds[0]);
        fds[0] = -1;
        writer.join();
    };
    fs::path dump;
    try {
        auto a = common::open_tar_reader();
        if (archive_read_open_fd(a.get(), fds[0], 1 << 16) != ARCHIVE_OK)
            throw StepError(ErrorKind::input, "backup " + b.name + " is not a gzip'd tar archive: " +
                                                  (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"));
        common::scanning([&] {
            dump = common::extract_pgsql(a.get(), ctx.env().work_dir(), "backup " + b.name,
                                         [&](const char* p, std::size_t n) { scanner.feed(p, n); },
                                         [&ctx] { return ctx.env().stopping(); }, opened);
        });
        char sink[65536];
        while (::read(fds[0], sink, sizeof sink) > 0) {
        }  // let the writer finish the tar's padding
    } catch (const StepError&) {
        join();
        if (transfer_error && !reader_gone) throw *transfer_error;  // a cut transfer is why the archive ended early
        throw;
    } catch (...) {  // a filesystem_error, bad_alloc...: the pipe is closed, the writer joined
        join();
        throw;
    }
    join();
    std::error_code ec;
    if (transfer_error) {
        fs::remove(dump, ec);
        throw *transfer_error;
    }
    try {
        common::scanning([&] { scanner.finish(); });
    } catch (const StepError&) {
        fs::remove(dump, ec);
        throw;
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    ctx.add_figure("bytes_downloaded", static_cast<double>(delivered), Unit::bytes);
    ctx.log().info("download done", {{"bytes", delivered}, {"duration_ms", static_cast<std::int64_t>(s * 1000)},
                                     {"mb_per_s", s > 0 ? static_cast<double>(delivered) / 1e6 / s : 0.0}});
    return dump;
}

}  // namespace pixrep::scalingo
