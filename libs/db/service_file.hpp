#pragma once
// A TLS key's passphrase for a child (pg_restore, pg_dump): libpq reads it from no environment
// variable, and a command line is readable by anyone in /proc. A libpq service file in the run's
// own folder, mode 0600, carries it, and is removed as soon as the child is done.
#include <filesystem>
#include <string>

namespace pixrep::common {

class ServiceFile {
public:
    /// Writes service `name` holding `sslpassword` to `path` (mode 0600). Throws StepError(fatal).
    ServiceFile(std::filesystem::path path, std::string name, const std::string& sslpassword);
    /// Removes the file.
    ~ServiceFile();
    ServiceFile(const ServiceFile&) = delete;
    ServiceFile& operator=(const ServiceFile&) = delete;

    /// The file, for the child's PGSERVICEFILE.
    const std::filesystem::path& path() const { return path_; }
    /// "service=<name> " + `conninfo`: what the child's --dbname gets.
    std::string dbname(const std::string& conninfo) const { return "service=" + name_ + " " + conninfo; }

private:
    std::filesystem::path path_;
    std::string name_;
};

}  // namespace pixrep::common
