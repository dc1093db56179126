#include "workspace.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <pixrep/step.hpp>

namespace pixrep {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const fs::path& p, const std::string& what) {
    throw StepError(ErrorKind::config, "cannot use work directory " + p.string() + ": " + what + " (set REPLICATION_WORK_DIR)");
}

// Holds flock on `file` until closed; -1 when another process holds it (or on error).
int try_lock(const fs::path& file, bool wait) {
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Removes the folders of runs that are gone, and nothing else: only a "run-XXXXXX" folder
// holding the .lock file a run makes is the tool's own. An operator's files in the work
// directory (a BACKUP_FILE kept there, a dump of their own) are never touched.
bool run_folder(const fs::directory_entry& e) {
    std::error_code ec;
    const std::string name = e.path().filename().string();
    return name.rfind("run-", 0) == 0 && e.is_directory(ec) && !e.is_symlink(ec) &&
           fs::is_regular_file(e.path() / ".lock", ec);
}

void sweep(const fs::path& root) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec)) {
        if (!run_folder(e)) continue;
        int fd = try_lock(e.path() / ".lock", false);
        if (fd < 0) continue;  // in use by a live run
        fs::remove_all(e.path(), ec);
        ::close(fd);
    }
}

}  // namespace

Workspace::Workspace(const fs::path& root) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) fail(root, ec.message());
    // Creating a workspace and sweeping are done under the root's lock, so that a sweep never
    // sees a workspace between its creation and its own lock.
    int root_fd = try_lock(root / ".lock", true);
    if (root_fd < 0) fail(root, std::strerror(errno));
    sweep(root);
    std::string tmpl = (root / "run-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
        int err = errno;
        ::close(root_fd);
        fail(root, std::strerror(err));
    }
    path_ = tmpl;
    lock_fd_ = try_lock(path_ / ".lock", true);
    ::close(root_fd);
    if (lock_fd_ < 0) fail(path_, "cannot lock it");
}

Workspace::~Workspace() {
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace pixrep
