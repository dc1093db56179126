#pragma once
// Files the run writes, each checked on write and on close, so that a full disk is reported as
// a full disk, at once, and never as a truncated backup or an empty list later.
#include <filesystem>
#include <string>

#include <pixrep/step.hpp>

namespace pixrep::common {

/// The error for a failed write of `path` with `err` (errno); ENOSPC and EDQUOT say the
/// directory is full. Not retried: the same backup needs the same room.
StepError write_error(const std::filesystem::path& path, int err, long long bytes_written);

/// Writes `content` to `path` (replacing it), checking every write and the close, then that the
/// file holds exactly `content`'s size.
void write_file_checked(const std::filesystem::path& path, const std::string& content);

/// A file written block by block with the same checks; the destructor closes (unchecked) when
/// close() was not called.
class CheckedFile {
public:
    /// Creates (or truncates) `path`.
    explicit CheckedFile(std::filesystem::path path);
    ~CheckedFile();
    CheckedFile(const CheckedFile&) = delete;
    CheckedFile& operator=(const CheckedFile&) = delete;
    /// Appends `n` bytes; throws write_error().
    void write(const char* data, std::size_t n);
    /// Closes, checking the result; throws write_error().
    void close();
    /// Bytes written so far.
    long long written() const { return written_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    long long written_ = 0;
};

}  // namespace pixrep::common
