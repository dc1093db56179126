#pragma once
// Extracting the one *.pgsql of a Scalingo backup archive (a gzip'd tar) as it is read, from a
// file or from a download, with the dump scanner looking at every block on the way.
#include <filesystem>
#include <functional>
#include <string>

struct archive;

namespace pixrep::common {

/// Where each extracted block of the dump also goes (the scanner).
using BlockObserver = std::function<void(const char* data, std::size_t n)>;

/// A libarchive reader for gzip'd (or plain) tar streams; freed by the deleter.
std::unique_ptr<struct archive, int (*)(struct archive*)> open_tar_reader();

/// Reads a tar stream from `a` (already opened) and writes its single *.pgsql entry to `dir`,
/// telling `opened` its path once created, then handing every block to `observe` once written.
/// Refuses absolute paths, "..", no *.pgsql and more than one. Checks every write (a full disk
/// says so); checks `stopping` at every block. Removes what it wrote on any failure. `label`
/// names the archive in messages. Returns the dump's path.
std::filesystem::path extract_pgsql(struct archive* a, const std::filesystem::path& dir, const std::string& label,
                                    const BlockObserver& observe, const std::function<bool()>& stopping,
                                    const std::function<void(const std::filesystem::path&)>& opened = nullptr);

}  // namespace pixrep::common
