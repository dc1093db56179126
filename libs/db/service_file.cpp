#include "service_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <pixrep/step.hpp>

namespace pixrep::common {

ServiceFile::ServiceFile(std::filesystem::path path, std::string name, const std::string& sslpassword)
    : path_(std::move(path)), name_(std::move(name)) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw StepError(ErrorKind::fatal, "cannot write " + path_.string() + ": " + std::strerror(errno));
    const std::string text = "[" + name_ + "]\nsslpassword=" + sslpassword + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
        throw StepError(ErrorKind::fatal, "cannot write " + path_.string());
    }
}

ServiceFile::~ServiceFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
}

}  // namespace pixrep::common
