#include "dump.hpp"

#include "digest.hpp"
#include "inflater.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <fstream>
#include <map>
#include <optional>

namespace pixrep::common {
namespace fs = std::filesystem;
namespace {

struct Incomplete {};      // the bytes so far end inside the header or table of contents
struct Corrupt {           // what is wrong, without the dump's name
    std::string what;
};

constexpr int version(int maj, int min) { return maj * 100 + min; }

// Reads the header and table of contents from a buffer that may not hold them whole yet.
class Cursor {
public:
    explicit Cursor(const std::string& b) : b_(b) {}
    unsigned byte() {
        if (pos_ >= b_.size()) throw Incomplete{};
        return static_cast<unsigned char>(b_[pos_++]);
    }
    long long integer() {
        unsigned sign = byte();
        unsigned long long v = 0;
        for (int i = 0; i < int_size; ++i) v |= static_cast<unsigned long long>(byte()) << (8 * i);
        return sign ? -static_cast<long long>(v) : static_cast<long long>(v);
    }
    std::optional<std::string> str() {
        long long n = integer();
        if (n < 0) return std::nullopt;
        if (n > (1LL << 30)) throw Corrupt{"a string of " + std::to_string(n) + " bytes in the table of contents"};
        if (pos_ + static_cast<std::size_t>(n) > b_.size()) throw Incomplete{};
        std::string s = b_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return s;
    }
    std::string text() { return str().value_or(""); }
    std::size_t pos() const { return pos_; }
    int int_size = 4;

private:
    const std::string& b_;
    std::size_t pos_ = 0;
};

void read_header(Cursor& c, DumpHeader& h, const std::function<void(const DumpHeader&)>& on_version) {
    char magic[5];
    for (char& m : magic) m = static_cast<char>(c.byte());
    if (std::memcmp(magic, "PGDMP", 5) != 0) throw Corrupt{"it is not a pg_dump archive (no PGDMP header)"};
    h.vmaj = static_cast<int>(c.byte());
    h.vmin = static_cast<int>(c.byte());
    h.vrev = static_cast<int>(c.byte());
    if (on_version) on_version(h);
    const int v = version(h.vmaj, h.vmin);
    if (v < version(1, 7))
        throw Corrupt{"it uses archive format " + h.version() + ", older than this tool reads (1.7, pg_dump 8.1)"};
    if (v > version(1, 16))
        throw Corrupt{"it uses archive format " + h.version() + ", newer than this tool reads (up to 1.16, pg_dump 17 and 18): "
                      "upgrade pix-db-replication"};
    h.int_size = static_cast<int>(c.byte());
    h.off_size = static_cast<int>(c.byte());
    if (h.int_size < 1 || h.int_size > 8 || h.off_size < 1 || h.off_size > 8) throw Corrupt{"its header is corrupt"};
    c.int_size = h.int_size;
    h.format = static_cast<int>(c.byte());
    if (h.format != 1 && h.format != 3) throw Corrupt{"its format (" + std::to_string(h.format) + ") is neither custom nor directory"};
    if (v >= version(1, 15)) h.compression = static_cast<int>(c.byte());
    else h.compression = c.integer() != 0 ? 1 : 0;
    if (h.compression > 3) throw Corrupt{"its header names an unknown compression (" + std::to_string(h.compression) + ")"};
    for (int i = 0; i < 7; ++i) c.integer();  // creation time
    h.dbname = c.text();
    if (v >= version(1, 10)) {
        h.server_version = c.text();
        h.pg_dump_version = c.text();
    }
}

ScannedEntry read_entry(Cursor& c, const DumpHeader& h) {
    const int v = version(h.vmaj, h.vmin);
    ScannedEntry e;
    e.id = static_cast<int>(c.integer());
    if (e.id <= 0) throw Corrupt{"its table of contents has an entry with id " + std::to_string(e.id)};
    e.had_dumper = c.integer() != 0;
    std::string tableoid = v >= version(1, 8) ? c.text() : "0";
    e.catalog_id = tableoid + " " + c.text();
    e.tag = c.text();
    e.desc = c.text();
    if (v >= version(1, 11)) e.section = static_cast<int>(c.integer());
    e.defn = c.text();
    c.text();  // drop statement
    if (v >= version(1, 3)) e.copy = c.text();
    if (v >= version(1, 6)) e.schema = c.text();
    if (v >= version(1, 10)) c.text();  // tablespace
    if (v >= version(1, 14)) c.text();  // table access method
    if (v >= version(1, 16)) c.integer();  // relkind
    e.owner = c.text();
    if (v >= version(1, 9)) c.text();  // "false": WITH OIDS
    for (auto d = c.str(); d; d = c.str()) e.deps.push_back(std::atoi(d->c_str()));
    if (h.format == 1) {  // custom: data offset flag and offset
        e.data_state = static_cast<int>(c.byte());
        if (e.data_state < 1 || e.data_state > 3) throw Corrupt{"its table of contents has a bad data flag"};
        for (int i = 0; i < h.off_size; ++i) c.byte();
    } else {  // directory: the entry's data file
        e.filename = c.text();
        e.data_state = e.filename.empty() ? 3 : 1;
    }
    return e;
}

// Rows of COPY data: one per line (newlines inside values are escaped as \n), less the end
// marker pg_dump writes after them ("\\.\n\n\n"); and the largest integer starting a row,
// while every row starts with one. Only each line's first field is read byte by byte. And the
// SHA-256 of the whole text, by which a later run knows the rows unchanged.
class RowCounter {
public:
    void feed(const char* p, std::size_t n) {
        digest_.update(p, n);
        const char* end = p + n;
        while (p < end) {
            if (in_rest_) {
                const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
                if (!nl) return;
                p = nl + 1;
                new_line();
                continue;
            }
            char c = *p++;
            if (c == '\t' || c == '\n') {
                end_field();
                if (c == '\n') new_line();
                else in_rest_ = true;
            } else if (len_ < 24) {
                field_[len_++] = c;
            } else {
                integers_ = false;
            }
        }
    }
    std::int64_t rows() const { return lines_ - markers_; }
    std::string sha256() { return digest_.hex(); }
    std::optional<std::int64_t> first_max() const {
        if (!integers_ || !any_) return std::nullopt;
        return max_;
    }

private:
    void new_line() {
        ++lines_;
        in_rest_ = false;
        len_ = 0;
    }
    void end_field() {
        std::string_view f(field_, len_);
        if (f == "\\." || (f.empty() && after_marker_)) {  // the end marker and the blank lines after it
            ++markers_;
            after_marker_ = true;
            return;
        }
        std::int64_t v = 0;
        auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
        if (ec != std::errc() || ptr != f.data() + f.size() || f.empty()) {
            integers_ = false;
            return;
        }
        max_ = any_ ? std::max(max_, v) : v;
        any_ = true;
    }
    std::int64_t lines_ = 0, markers_ = 0, max_ = 0;
    char field_[24];
    std::size_t len_ = 0;
    bool in_rest_ = false, integers_ = true, any_ = false, after_marker_ = false;
    common::Sha256 digest_;
};

// A data stream (custom format: zlib; directory format: gzip), inflated to check its checksum;
// the inflater's complaint, as what is wrong with the entry being read.
void inflate(Inflater& f, const char* p, std::size_t n, const std::function<void(const char*, std::size_t)>& sink) {
    try {
        f.feed(p, n, sink);
    } catch (const Inflater::Error& e) {
        throw Corrupt{e.what()};
    }
}

}  // namespace

// State of the data part of a custom-format archive: blocks of chunks, read as they come.
struct DumpScanner::Data {
    enum class State { block_type, block_id, blob_oid, chunk_len, chunk } state = State::block_type;
    std::string pending;        // bytes of the integer being read
    unsigned block_type = 0;
    std::size_t entry = 0;      // index in entries_ of the block's entry
    long long left = 0;         // bytes left in the current chunk
    std::unique_ptr<Inflater> inflater;
    bool skip = false;          // walked without decompressing: another entry's than the tapped one, or one left
    RowCounter rows;
    std::map<int, std::size_t> index;
    std::int64_t block_start = 0;  // offset of the block being read
};

DumpScanner::DumpScanner(std::string label) : label_(std::move(label)) {}
DumpScanner::~DumpScanner() = default;

void DumpScanner::truncated(const std::string& where) const {
    throw DumpError("dump '" + label_ + "' is truncated or corrupt: it ends inside " + where + " (after " + std::to_string(offset_) + " bytes)");
}

void DumpScanner::corrupt(const std::string& what) const {
    throw DumpError("dump '" + label_ + "' is corrupt: " + what + " (at byte " + std::to_string(offset_) + ")");
}

std::string DumpScanner::current_entry() const {
    if (!data_ || data_->state == Data::State::block_type) return "a data block";
    const auto& e = entries_[data_->entry];
    return "the data of " + e.desc + " " + (e.schema.empty() ? "" : e.schema + ".") + e.tag;
}

void DumpScanner::feed(const char* p, std::size_t n) {
    if (in_data_) return feed_data(p, n), void();
    head_.append(p, n);
    offset_ += static_cast<std::int64_t>(n);
    // Parsing restarts from the top each time; trying only once the buffer doubled keeps it linear.
    if (head_.size() < next_try_) return;
    next_try_ = head_.size() * 2;
    parse_head();
}

void DumpScanner::parse_head() {
    Cursor c(head_);
    std::vector<ScannedEntry> entries;
    try {
        read_header(c, header_, on_version_);
        long long count = c.integer();
        if (count < 0 || count > 10'000'000) throw Corrupt{"its table of contents claims " + std::to_string(count) + " entries"};
        for (long long i = 0; i < count; ++i) entries.push_back(read_entry(c, header_));
    } catch (const Incomplete&) {
        return;
    } catch (const Corrupt& e) {
        throw DumpError("'" + label_ + "' cannot be used: " + e.what);
    }
    entries_ = std::move(entries);
    in_data_ = true;
    data_ = std::make_unique<Data>();
    for (std::size_t i = 0; i < entries_.size(); ++i) data_->index[entries_[i].id] = i;
    std::string rest = head_.substr(c.pos());
    offset_ = static_cast<std::int64_t>(c.pos());
    head_.clear();
    head_.shrink_to_fit();
    if (on_toc_) on_toc_();
    feed_data(rest.data(), rest.size());
}

void DumpScanner::feed_data(const char* p, std::size_t n) {
    if (header_.format != 1 && n > 0) corrupt("a directory dump's toc.dat holds data after its table of contents");
    auto& d = *data_;
    const std::size_t int_bytes = 1 + static_cast<std::size_t>(header_.int_size);
    try {
        while (n > 0) {
            if (single_block_ && entries_[0].data_seen) return;
            if (d.state == Data::State::block_type && d.pending.empty()) d.block_start = offset_;
            if (d.state == Data::State::chunk) {
                std::size_t take = static_cast<std::size_t>(std::min<long long>(d.left, static_cast<long long>(n)));
                auto use = [&](const char* q, std::size_t m) { tap_ ? tap_(q, m) : d.rows.feed(q, m); };
                if (d.skip) {
                } else if (d.inflater) {
                    inflate(*d.inflater, p, take, use);
                } else if (header_.compression == 0) {
                    use(p, take);
                }
                p += take, n -= take, d.left -= static_cast<long long>(take), offset_ += static_cast<std::int64_t>(take);
                if (d.left == 0) d.state = Data::State::chunk_len;
                continue;
            }
            std::size_t need = d.state == Data::State::block_type ? 1 : int_bytes;
            std::size_t take = std::min(need - d.pending.size(), n);
            d.pending.append(p, take);
            p += take, n -= take, offset_ += static_cast<std::int64_t>(take);
            if (d.pending.size() < need) break;
            Cursor c(d.pending);
            c.int_size = header_.int_size;
            long long value = d.state == Data::State::block_type ? c.byte() : c.integer();
            d.pending.clear();
            switch (d.state) {
            case Data::State::block_type:
                if (value != 1 && value != 3) throw Corrupt{"an unknown block type (" + std::to_string(value) + ")"};
                d.block_type = static_cast<unsigned>(value);
                d.state = Data::State::block_id;
                break;
            case Data::State::block_id: {
                auto it = d.index.find(static_cast<int>(value));
                if (it == d.index.end()) throw Corrupt{"a data block for entry " + std::to_string(value) + ", which the table of contents lacks"};
                if (entries_[it->second].data_seen) throw Corrupt{"a second data block for entry " + std::to_string(value)};
                d.entry = it->second;
                entries_[d.entry].data_offset = d.block_start;
                d.rows = RowCounter();
                d.skip = tap_ ? d.block_type != 1 || static_cast<int>(value) != tap_id_
                              : d.block_type == 1 && leave_ && leave_(static_cast<int>(value));
                if (d.block_type == 1 && header_.compression == 1 && !d.skip) d.inflater = std::make_unique<Inflater>(false);
                d.state = d.block_type == 1 ? Data::State::chunk_len : Data::State::blob_oid;
                break;
            }
            case Data::State::blob_oid:
                if (value == 0) {
                    entries_[d.entry].data_seen = true;
                    d.state = Data::State::block_type;
                    if (on_block_ && !tap_) on_block_(entries_[d.entry]);
                } else {
                    if (header_.compression == 1 && !d.skip) d.inflater = std::make_unique<Inflater>(false);
                    d.state = Data::State::chunk_len;
                }
                break;
            case Data::State::chunk_len:
                if (value < 0 || value > (1LL << 31)) throw Corrupt{"a data chunk of " + std::to_string(value) + " bytes"};
                if (value > 0) {
                    d.left = value;
                    d.state = Data::State::chunk;
                    break;
                }
                if (d.inflater && !d.inflater->ended()) throw Corrupt{"its compressed stream is cut short"};
                d.inflater.reset();
                if (d.block_type == 1) {
                    auto& e = entries_[d.entry];
                    e.data_seen = true;
                    if (!e.copy.empty() && header_.compression <= 1 && !tap_ && !d.skip) {
                        e.rows = d.rows.rows();
                        e.first_key_max = d.rows.first_max();
                        e.data_sha256 = d.rows.sha256();
                    }
                    d.state = Data::State::block_type;
                    if (on_block_ && !tap_) on_block_(e);
                } else {
                    d.state = Data::State::blob_oid;
                }
                break;
            case Data::State::chunk: break;
            }
        }
    } catch (const Corrupt& e) {
        corrupt(current_entry() + ": " + e.what);
    }
}

void DumpScanner::finish() {
    if (!in_data_) parse_head();  // the last bytes may not have been tried yet
    if (!in_data_) {
        if (head_.size() >= 5 && head_.compare(0, 5, "PGDMP") != 0) throw DumpError("'" + label_ + "' is not a pg_dump archive");
        try {
            Cursor c(head_);
            read_header(c, header_, on_version_);
        } catch (const Incomplete&) {
            truncated("its header");
        } catch (const Corrupt& e) {
            throw DumpError("'" + label_ + "' cannot be used: " + e.what);
        }
        truncated("its table of contents");
    }
    if (header_.format != 1) return;
    if (data_->state != Data::State::block_type || !data_->pending.empty()) truncated(current_entry());
    for (const auto& e : entries_)
        if ((e.data_state == 1 || e.data_state == 2) && !e.data_seen)
            truncated("the data blocks: the data of " + e.desc + " " + (e.schema.empty() ? "" : e.schema + ".") + e.tag + " is missing");
}

void DumpScanner::read_block(const fs::path& file, const DumpHeader& header, int id, std::int64_t offset,
                             const std::function<void(const char*, std::size_t)>& sink, const std::function<bool()>& stopping) {
    DumpScanner s(file.string());
    s.header_ = header;
    ScannedEntry e;
    e.id = id;
    e.data_state = 2;
    s.entries_.push_back(e);
    s.in_data_ = true;
    s.single_block_ = true;
    s.data_ = std::make_unique<Data>();
    s.data_->index[id] = 0;
    s.tap(id, sink);
    s.offset_ = offset;
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DumpError("cannot open dump '" + file.string() + "'");
    in.seekg(offset);
    std::vector<char> buf(1 << 18);
    while (in && !s.entries_[0].data_seen) {
        if (stopping && stopping()) throw DumpError("stopped while reading '" + file.string() + "'");
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) s.feed_data(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (!s.entries_[0].data_seen) s.truncated("the data block of entry " + std::to_string(id));
}

void scan_file(DumpScanner& scanner, const fs::path& file, const std::function<bool()>& stopping) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DumpError("cannot open dump '" + file.string() + "'");
    std::vector<char> buf(1 << 20);
    while (in) {
        if (stopping && stopping()) throw DumpError("stopped while verifying '" + file.string() + "'");
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) scanner.feed(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw DumpError("cannot read dump '" + file.string() + "'");
    scanner.finish();
}

std::optional<fs::path> data_file(const fs::path& dir, const std::string& name) {
    for (const char* suffix : {"", ".gz", ".lz4", ".zst"}) {
        std::error_code ec;
        fs::path p = dir / (name + suffix);
        if (fs::exists(p, ec)) return p;
    }
    return std::nullopt;
}

bool read_data_file(const fs::path& file, const std::string& label, const std::function<void(const char*, std::size_t)>& sink,
                    const std::function<bool()>& stopping) {
    const bool gz = file.extension() == ".gz";
    if (!gz && file.extension() != ".dat") return false;  // lz4, zstd: present, not decompressed here
    std::ifstream in(file, std::ios::binary);
    std::vector<char> buf(1 << 20);
    std::unique_ptr<Inflater> inflater;
    if (gz) inflater = std::make_unique<Inflater>(true);
    try {
        while (in) {
            if (stopping && stopping()) throw DumpError("stopped while verifying '" + label + "'");
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            auto n = static_cast<std::size_t>(in.gcount());
            if (inflater) inflate(*inflater, buf.data(), n, sink);
            else sink(buf.data(), n);
        }
        if (inflater && !inflater->ended()) throw Corrupt{"its compressed stream is cut short"};
    } catch (const Corrupt& c) {
        throw DumpError("directory dump '" + label + "' is corrupt: " + file.filename().string() + " " + c.what);
    }
    return true;
}

namespace {

void scan_data_file(ScannedEntry& e, const fs::path& file, const std::string& label, const std::function<bool()>& stopping) {
    RowCounter rows;
    if (!read_data_file(file, label, [&](const char* q, std::size_t m) { rows.feed(q, m); }, stopping)) return;
    e.data_seen = true;
    if (!e.copy.empty()) {
        e.rows = rows.rows();
        e.first_key_max = rows.first_max();
        e.data_sha256 = rows.sha256();
    }
}

}  // namespace

void scan_directory(DumpScanner& scanner, const fs::path& dir, const std::function<bool()>& stopping) {
    scan_file(scanner, dir / "toc.dat", stopping);
    for (auto& e : scanner.entries()) {
        if (e.filename.empty()) continue;
        auto file = data_file(dir, e.filename);
        if (!file)
            throw DumpError("directory dump '" + dir.string() + "' is incomplete: no data file for " + e.desc + " " + e.tag + " (" +
                            e.filename + ")");
        if (e.desc == "TABLE DATA") scan_data_file(e, *file, dir.string(), stopping);
    }
}

DumpHeader read_dump_header(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string head(4096, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    DumpHeader h;
    try {
        Cursor c(head);
        read_header(c, h, {});
    } catch (const Incomplete&) {
        throw DumpError("'" + file.string() + "' is cut short in its header");
    } catch (const Corrupt& e) {
        throw DumpError("'" + file.string() + "' cannot be used: " + e.what);
    }
    return h;
}

FileKind detect_kind(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return FileKind::missing;
    if (fs::is_directory(p, ec)) return fs::exists(p / "toc.dat", ec) ? FileKind::directory_dump : FileKind::unknown;
    std::ifstream in(p, std::ios::binary);
    char head[512] = {0};
    in.read(head, sizeof head);
    auto n = in.gcount();
    if (n >= 5 && std::memcmp(head, "PGDMP", 5) == 0) return FileKind::custom_dump;
    if (n >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b)
        return FileKind::gzip_archive;
    if (n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0) return FileKind::tar_archive;
    return FileKind::unknown;
}

}  // namespace pixrep::common
