#include "archive.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include <pixrep/step.hpp>

#include "files.hpp"

namespace pixrep::common {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad_input(const std::string& msg) { throw StepError(ErrorKind::input, msg); }

std::string why(struct archive* a, const char* fallback) { return archive_error_string(a) ? archive_error_string(a) : fallback; }

void check_name(const std::string& name, const std::string& label) {
    if (!name.empty() && name[0] == '/') bad_input("archive '" + label + "' has an absolute path entry '" + name + "'; refused");
    for (const auto& c : fs::path(name))
        if (c == "..") bad_input("archive '" + label + "' has an entry leaving its folder ('" + name + "'); refused");
}

}  // namespace

std::unique_ptr<struct archive, int (*)(struct archive*)> open_tar_reader() {
    std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), &archive_read_free);
    archive_read_support_filter_gzip(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    return a;
}

fs::path extract_pgsql(struct archive* a, const fs::path& dir, const std::string& label, const BlockObserver& observe,
                       const std::function<bool()>& stopping, const std::function<void(const fs::path&)>& opened) {
    // Written under its own name from the first byte: the build may read the blocks already
    // checked while the rest arrives. A failure removes it; a kill leaves it in the run's folder.
    fs::path result;
    auto cleanup = [&] {
        std::error_code ec;
        if (!result.empty()) fs::remove(result, ec);
    };
    try {
        struct archive_entry* entry = nullptr;
        for (;;) {
            int r = archive_read_next_header(a, &entry);
            if (r == ARCHIVE_EOF) break;
            if (r < ARCHIVE_WARN) bad_input("archive '" + label + "' is corrupt: " + why(a, "unreadable"));
            std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
            check_name(name, label);
            if (archive_entry_filetype(entry) != AE_IFREG || fs::path(name).extension() != ".pgsql") {
                archive_read_data_skip(a);
                continue;
            }
            if (!result.empty())
                bad_input("archive '" + label + "' holds more than one *.pgsql file ('" + result.filename().string() + "' and '" +
                          fs::path(name).filename().string() + "'); which one to restore is ambiguous");
            result = dir / fs::path(name).filename();
            CheckedFile out(result);
            if (opened) opened(result);
            const void* buf;
            size_t size;
            la_int64_t offset;
            for (;;) {
                if (stopping && stopping()) throw StepError(ErrorKind::fatal, "stopped while extracting " + label);
                int rr = archive_read_data_block(a, &buf, &size, &offset);
                if (rr == ARCHIVE_EOF) break;
                if (rr < ARCHIVE_WARN) bad_input("archive '" + label + "' is corrupt or truncated: " + why(a, "read error"));
                out.write(static_cast<const char*>(buf), size);
                if (observe) observe(static_cast<const char*>(buf), size);
            }
            out.close();
        }
    } catch (...) {
        cleanup();
        throw;
    }
    if (result.empty()) bad_input("archive '" + label + "' holds no *.pgsql file");
    return result;
}

}  // namespace pixrep::common
