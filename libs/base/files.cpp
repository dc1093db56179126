#include "files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pixrep::common {
namespace fs = std::filesystem;

StepError write_error(const fs::path& path, int err, long long bytes_written) {
    if (err == ENOSPC || err == EDQUOT)
        return StepError(ErrorKind::fatal, "the work directory " + path.parent_path().string() + " is full (" + std::strerror(err) +
                                               ") after writing " + std::to_string(bytes_written) + " bytes of " +
                                               path.filename().string() + ": free space, or set REPLICATION_WORK_DIR to a larger disk");
    return StepError(ErrorKind::fatal, "cannot write " + path.string() + ": " + std::strerror(err));
}

CheckedFile::CheckedFile(fs::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) throw write_error(path_, errno, 0);
}

CheckedFile::~CheckedFile() {
    if (fd_ >= 0) ::close(fd_);
}

void CheckedFile::write(const char* data, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd_, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw write_error(path_, errno, written_);
        }
        data += w, n -= static_cast<std::size_t>(w), written_ += w;
    }
}

void CheckedFile::close() {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw write_error(path_, errno, written_);
}

void write_file_checked(const fs::path& path, const std::string& content) {
    CheckedFile f(path);
    f.write(content.data(), content.size());
    f.close();
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec || size != content.size())
        throw StepError(ErrorKind::fatal, "cannot write " + path.string() + ": it holds " + std::to_string(size) + " bytes instead of " +
                                              std::to_string(content.size()));
}

}  // namespace pixrep::common
