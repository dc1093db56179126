#pragma once
// Reading pg_dump archives ourselves: the header, the table of contents, and every data block,
// decompressed and checked (zlib's checksum) as the bytes arrive, so that a download or an
// extraction verifies the dump on the way, with no second pass. Follows pg_dump's
// pg_backup_archiver.c (ReadHead, ReadToc) and pg_backup_custom.c for archive formats 1.7-1.16.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pixrep::common {

/// A dump that cannot be used: truncated, corrupt, or not a pg_dump archive.
class DumpError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The archive header.
struct DumpHeader {
    int vmaj = 0, vmin = 0, vrev = 0;  ///< Archive format version.
    int int_size = 4, off_size = 8;    ///< Sizes of integers and offsets in the file.
    int format = 0;                    ///< 1 custom, 3 directory (as pg_dump writes the byte).
    int compression = 0;               ///< 0 none, 1 gzip, 2 lz4, 3 zstd.
    std::string dbname, server_version, pg_dump_version;
    /// "1.16".
    std::string version() const { return std::to_string(vmaj) + "." + std::to_string(vmin); }
};

/// One table-of-contents entry as the archive holds it, and what the scan saw of its data.
struct ScannedEntry {
    int id = 0;
    bool had_dumper = false;
    std::string catalog_id, tag, desc, defn, copy, schema, owner, filename;
    int section = 0;
    std::vector<int> deps;
    int data_state = 3;        ///< pg_dump's offset flag: 1 or 2 = has data, 3 = none.
    bool data_seen = false;    ///< Its data block (or file) was read whole.
    std::int64_t rows = -1;    ///< Lines of COPY data, when it has some and they were decompressed.
    std::optional<std::int64_t> first_key_max;  ///< Largest integer starting a row, when every row starts with one.
    std::int64_t data_offset = -1;  ///< Where its data block starts in the file (custom format), once scanned.
    std::string data_sha256;        ///< SHA-256 of its COPY data, decompressed, in hex, when rows were counted.
};

/// A push parser of a custom-format archive (or a directory dump's toc.dat): feed it the bytes
/// in order, then call finish(). Throws DumpError naming `label` at the first problem.
class DumpScanner {
public:
    explicit DumpScanner(std::string label);
    ~DumpScanner();
    DumpScanner(const DumpScanner&) = delete;
    DumpScanner& operator=(const DumpScanner&) = delete;

    /// Calls `check` as soon as the archive's format version is read (only vmaj, vmin and vrev
    /// are set then), so that an archive no installed pg_restore can read is refused at once.
    void on_version(std::function<void(const DumpHeader&)> check) { on_version_ = std::move(check); }
    /// Reads entry `id`'s data for a caller instead of checking every entry: its decompressed
    /// bytes go to `sink` in order, and no other entry's data is decompressed. Call before feeding.
    void tap(int id, std::function<void(const char*, std::size_t)> sink) { tap_id_ = id, tap_ = std::move(sink); }
    /// Walks without decompressing the data blocks of the entries for which `f`, asked as each
    /// block begins, says true: a step reads and checks their rows itself. Their rows, largest key
    /// and checksum stay unknown. Call before feeding.
    void leave(std::function<bool(int)> f) { leave_ = std::move(f); }
    /// Calls `f` once the table of contents has been read whole, before any data block.
    void on_toc(std::function<void()> f) { on_toc_ = std::move(f); }
    /// Calls `f` with each entry whose data block has been read whole and checked (not when tapping).
    void on_block(std::function<void(const ScannedEntry&)> f) { on_block_ = std::move(f); }
    /// The next `n` bytes of the archive.
    void feed(const char* data, std::size_t n);
    /// The archive ended: checks that it ended where it should, with every data block read.
    void finish();

    const DumpHeader& header() const { return header_; }
    const std::vector<ScannedEntry>& entries() const { return entries_; }
    std::vector<ScannedEntry>& entries() { return entries_; }
    /// False when data blocks were walked but not decompressed (lz4 or zstd compression).
    bool data_checked() const { return header_.compression <= 1; }

    /// Reads only the data block of entry `id`, which a scan found at `offset` of the custom-format
    /// dump `file` (of header `header`): its bytes, decompressed (zlib or none), go to `sink`.
    /// Throws DumpError when the block is not there whole, or `stopping` says so.
    static void read_block(const std::filesystem::path& file, const DumpHeader& header, int id, std::int64_t offset,
                           const std::function<void(const char*, std::size_t)>& sink, const std::function<bool()>& stopping);

private:
    struct Data;
    void parse_head();
    void feed_data(const char* p, std::size_t n);
    [[noreturn]] void truncated(const std::string& where) const;
    [[noreturn]] void corrupt(const std::string& what) const;
    std::string current_entry() const;

    std::string label_;
    DumpHeader header_;
    std::vector<ScannedEntry> entries_;
    std::string head_;            // header and TOC bytes, until they parse
    std::size_t next_try_ = 64;   // head_ size at which to try parsing again
    std::function<void(const DumpHeader&)> on_version_;
    std::function<void()> on_toc_;
    std::function<void(const ScannedEntry&)> on_block_;
    int tap_id_ = 0;
    std::function<void(const char*, std::size_t)> tap_;
    std::function<bool(int)> leave_;
    bool in_data_ = false;
    bool single_block_ = false;   // read_block: the bytes after the block are not this scan's
    std::unique_ptr<Data> data_;
    std::int64_t offset_ = 0;     // bytes fed so far
};

/// Scans a custom-format dump file whole. `stopping` is checked between chunks.
void scan_file(DumpScanner& scanner, const std::filesystem::path& file, const std::function<bool()>& stopping);

/// Scans a directory-format dump: its toc.dat into `scanner`, then every data file it names
/// (gzip-compressed ones decompressed and checked).
void scan_directory(DumpScanner& scanner, const std::filesystem::path& dir, const std::function<bool()>& stopping);

/// A directory dump's data file `name` (as "3403.dat"), with whatever compression suffix it has.
std::optional<std::filesystem::path> data_file(const std::filesystem::path& dir, const std::string& name);

/// Reads a directory dump's data file into `sink`, decompressed: false for lz4 and zstd, which
/// are not read here. Throws DumpError naming `label` when it is corrupt or `stopping` says so.
bool read_data_file(const std::filesystem::path& file, const std::string& label,
                    const std::function<void(const char*, std::size_t)>& sink, const std::function<bool()>& stopping);

/// The header of a custom-format dump file or a directory dump's toc.dat. Throws DumpError.
DumpHeader read_dump_header(const std::filesystem::path& file);

/// What a path holds, judged by its first bytes (or toc.dat for a directory dump).
enum class FileKind { custom_dump, directory_dump, tar_archive, gzip_archive, missing, unknown };
FileKind detect_kind(const std::filesystem::path& p);

}  // namespace pixrep::common
