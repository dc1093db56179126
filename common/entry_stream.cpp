#include "entry_stream.hpp"

#include <fstream>
#include <optional>

#include <zlib.h>

#include "copy_text.hpp"
#include "dump.hpp"
#include "files.hpp"
#include "process.hpp"

namespace pixrep::common {
namespace fs = std::filesystem;
namespace {

// Bytes of COPY data, in pieces, into rows up to pg_dump's end marker.
class Rows {
public:
    explicit Rows(const std::function<void(std::string_view)>& on_row) : on_row_(on_row) {}
    void feed(const char* p, std::size_t n) {
        buf_.append(p, n);
        std::size_t start = 0;
        for (std::size_t nl; !done_ && (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
            std::string_view line(buf_.data() + start, nl - start);
            if (line == "\\.") done_ = true;
            else on_row_(line);
        }
        buf_.erase(0, start);
    }
    bool done() const { return done_; }

private:
    const std::function<void(std::string_view)>& on_row_;
    std::string buf_;
    bool done_ = false;
};

// A directory dump's data file of `entry` (pg_dump names it after the entry's id).
std::optional<fs::path> data_file_of(const fs::path& dir, const TocEntry& entry) {
    for (const char* suffix : {".dat", ".dat.gz"}) {
        auto p = dir / (std::to_string(raw(entry.id)) + suffix);
        std::error_code ec;
        if (fs::exists(p, ec)) return p;
    }
    return std::nullopt;
}

void inflate_file(const fs::path& file, Rows& rows, const std::function<bool()>& stop) {
    const bool gz = file.extension() == ".gz";
    z_stream zs{};
    if (gz && inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw DumpError("zlib cannot start");
    struct End {
        z_stream* zs;
        bool on;
        ~End() { if (on) inflateEnd(zs); }
    } end{&zs, gz};
    std::ifstream in(file, std::ios::binary);
    std::vector<char> buf(1 << 20), out(1 << 18);
    while (in && !rows.done()) {
        if (stop && stop()) return;
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto n = static_cast<std::size_t>(in.gcount());
        if (!gz) {
            rows.feed(buf.data(), n);
            continue;
        }
        zs.next_in = reinterpret_cast<Bytef*>(buf.data());
        zs.avail_in = static_cast<uInt>(n);
        while (zs.avail_in > 0) {
            zs.next_out = reinterpret_cast<Bytef*>(out.data());
            zs.avail_out = static_cast<uInt>(out.size());
            int r = inflate(&zs, Z_NO_FLUSH);
            if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) throw DumpError(file.string() + " does not decompress");
            rows.feed(out.data(), out.size() - zs.avail_out);
            if (r != Z_OK) break;
        }
    }
}

// Reads the rows in this process when the dump is one zlib (or nothing) compresses: the same
// bytes pg_restore would print, without a second process decompressing them into a pipe.
bool read_here(const Backup& backup, const TocEntry& entry, const std::function<void(std::string_view)>& on_row,
               const std::function<bool()>& stop) {
    const bool directory = backup.format == "directory";
    if (read_dump_header(directory ? backup.dump / "toc.dat" : backup.dump).compression > 1) return false;
    Rows rows(on_row);
    if (directory) {
        auto file = data_file_of(backup.dump, entry);
        if (!file) return false;
        inflate_file(*file, rows, stop);
    } else {
        DumpScanner scanner(backup.dump.string());
        scanner.tap(raw(entry.id), [&](const char* p, std::size_t n) { rows.feed(p, n); });
        scan_file(scanner, backup.dump, stop);
    }
    if (stop && stop()) throw StepError(ErrorKind::fatal, "stopped while reading the rows of " + entry.qualified());
    if (!rows.done()) throw StepError(ErrorKind::input, "the rows of " + entry.qualified() + " end without pg_dump's end marker");
    return true;
}

void read_with_pg_restore(const RunEnv& env, const Backup& backup, const TocEntry& entry,
                          const std::function<void(std::string_view)>& on_row, const std::function<bool()>& stop) {
    const auto list = env.work_dir() / ("rows-" + std::to_string(raw(entry.id)) + ".list");
    write_file_checked(list, entry.list_line() + "\n");
    enum { header, rows, done } state = header;
    std::string err;
    ProcessHooks hooks;
    hooks.on_stdout = [&](const std::string& line) {
        if (state == rows) {
            if (line == "\\.") state = done;
            else on_row(line);
        } else if (state == header && line.rfind("COPY ", 0) == 0) {
            state = rows;
        }
    };
    hooks.on_stderr = [&](const std::string& line) {
        if (err.size() < 500) err += line + " ";
    };
    hooks.stop = stop;
    int rc = run_process({{env.pg_restore().path.string(), "--data-only", "--use-list=" + list.string(), "--file=-",
                           backup.dump.string()}, {}}, hooks);
    std::error_code ec;
    fs::remove(list, ec);
    if (stop && stop()) throw StepError(ErrorKind::fatal, "stopped while reading the rows of " + entry.qualified());
    if (rc != 0 || state != done)
        throw StepError(ErrorKind::input, "pg_restore could not read the rows of " + entry.qualified() + " from the dump: " +
                                              (err.empty() ? "exit code " + std::to_string(rc) : err));
}

}  // namespace

void stream_rows(const RunEnv& env, const Backup& backup, const TocEntry& entry,
                 const std::function<void(const std::vector<std::string>&)>& on_header,
                 const std::function<void(std::string_view)>& on_row, const std::function<bool()>& stop) {
    auto columns = copy_columns(entry.copy);
    if (columns.empty()) throw StepError(ErrorKind::input, entry.qualified() + " has no COPY statement in the dump");
    on_header(columns);
    try {
        if (read_here(backup, entry, on_row, stop)) return;
    } catch (const DumpError& e) {
        if (stop && stop()) throw StepError(ErrorKind::fatal, "stopped while reading the rows of " + entry.qualified());
        throw StepError(ErrorKind::input, std::string("reading the rows of ") + entry.qualified() + ": " + e.what());
    }
    read_with_pg_restore(env, backup, entry, on_row, stop);  // lz4, zstd: pg_restore knows them
}

}  // namespace pixrep::common
