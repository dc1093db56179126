#include "entry_stream.hpp"
#include "toc.hpp"

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

// Reads the rows in this process when the dump is one zlib (or nothing) compresses: the same
// bytes pg_restore would print, without a second process decompressing them into a pipe.
bool read_here(const Backup& backup, const TocEntry& entry, const std::function<void(std::string_view)>& on_row,
               const std::function<bool()>& stop) {
    const bool directory = backup.format == "directory";
    const DumpHeader header = read_dump_header(directory ? backup.dump / "toc.dat" : backup.dump);
    if (header.compression > 1) return false;
    Rows rows(on_row);
    auto feed = [&](const char* p, std::size_t n) { rows.feed(p, n); };
    if (!directory && entry.data_offset >= 0) {  // where the verification saw it: no walk through the file
        DumpScanner::read_block(backup.dump, header, raw(entry.id), entry.data_offset, feed, stop);
    } else if (directory) {
        auto file = data_file(backup.dump, std::to_string(raw(entry.id)) + ".dat");  // pg_dump names it after the entry
        if (!file || !read_data_file(*file, backup.dump.string(), feed, stop)) return false;
    } else {
        DumpScanner scanner(backup.dump.string());
        scanner.tap(raw(entry.id), feed);
        scan_file(scanner, backup.dump, stop);
    }
    if (stop && stop()) throw StepError(ErrorKind::fatal, "stopped while reading the rows of " + entry.qualified());
    if (!rows.done()) throw StepError(ErrorKind::input, "the rows of " + entry.qualified() + " end without pg_dump's end marker");
    return true;
}

}  // namespace

TocEntry arrived_entry(const RunContext& ctx, const TocEntry& entry) {
    TocEntry e = entry;
    e.take(ctx.arrived(entry.id));
    return e;
}

namespace {

void read_with_pg_restore(const RunEnv& env, const Backup& backup, const TocEntry& entry,
                          const std::function<void(std::string_view)>& on_row, const std::function<bool()>& stop) {
    const auto list = env.work_dir() / ("rows-" + std::to_string(raw(entry.id)) + ".list");
    write_file_checked(list, list_line(entry) + "\n");
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
    auto damaged = [&](const DumpError& e) {
        if (stop && stop()) return StepError(ErrorKind::fatal, "stopped while reading the rows of " + entry.qualified());
        return StepError(ErrorKind::input, std::string("reading the rows of ") + entry.qualified() + ": " + e.what());
    };
    try {
        if (read_here(backup, entry, on_row, stop)) return;
    } catch (const DumpError& e) {
        throw damaged(e);
    } catch (...) {
        // Rows that make no sense to the caller may come from a damaged block whose checksum, at
        // its end, was not reached yet (a block no check read before, see DumpScanner::leave()).
        if (stop && stop()) throw;
        try {
            read_here(backup, entry, [](std::string_view) {}, stop);
        } catch (const DumpError& e) {
            throw damaged(e);
        } catch (...) {
        }
        throw;
    }
    read_with_pg_restore(env, backup, entry, on_row, stop);  // lz4, zstd: pg_restore knows them
}

std::int64_t read_rows(const RunContext& ctx, const TocEntry& entry, const std::string& where,
                       const std::function<void(const std::vector<std::string>&)>& on_header,
                       const std::function<void(std::string_view)>& on_row, const std::function<bool()>& stop) {
    LiveSource* live = ctx.live();
    if (!live) {
        stream_rows(ctx.env(), *ctx.backup(), entry, on_header, on_row, stop);
        return -1;
    }
    auto columns = copy_columns(entry.copy);
    if (columns.empty()) throw StepError(ErrorKind::input, entry.qualified() + " has no COPY statement");
    on_header(columns);
    return live->copy(entry, where, on_row, stop);
}

}  // namespace pixrep::common
