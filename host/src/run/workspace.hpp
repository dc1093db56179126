#pragma once
// Each run's own scratch directory under the work directory, so that two runs on one machine
// never share a file. Held with flock for the run's lifetime and removed when it ends; a
// directory whose run is gone (killed) is removed by the next run.
#include <filesystem>

namespace pixrep {

class Workspace {
public:
    /// Creates `root` if needed, removes what runs that are gone left there, makes this run's
    /// directory. Throws StepError(config) when `root` cannot be used.
    explicit Workspace(const std::filesystem::path& root);
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    /// This run's directory.
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    int lock_fd_ = -1;
};

}  // namespace pixrep
