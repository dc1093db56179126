#include "dump.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "process.hpp"

namespace pixrep::common {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad_input(const std::string& msg) { throw StepError(ErrorKind::input, msg); }

// Minimal reader of the custom-format header and TOC (pg_backup_archiver.c, ReadHead/ReadToc),
// only to find where the data blocks are and check the file really ends after the last one.
class CustomReader {
public:
    explicit CustomReader(const fs::path& p) : path_(p), f_(std::fopen(p.c_str(), "rb")) {
        if (!f_) bad_input("cannot open dump '" + p.string() + "'");
        size_ = static_cast<long long>(fs::file_size(p));
    }
    ~CustomReader() {
        if (f_) std::fclose(f_);
    }
    unsigned byte() {
        int c = std::fgetc(f_);
        if (c == EOF) truncated("header or table of contents");
        return static_cast<unsigned>(c);
    }
    long long integer() {
        unsigned sign = byte();
        unsigned long long v = 0;
        for (int i = 0; i < int_size_; ++i) v |= static_cast<unsigned long long>(byte()) << (8 * i);
        return sign ? -static_cast<long long>(v) : static_cast<long long>(v);
    }
    bool string(std::string* out = nullptr) {
        long long n = integer();
        if (n < 0) return false;
        if (n > size_) truncated("table of contents");
        std::string s(static_cast<std::size_t>(n), '\0');
        if (n && std::fread(s.data(), 1, static_cast<std::size_t>(n), f_) != static_cast<std::size_t>(n))
            truncated("table of contents");
        if (out) *out = std::move(s);
        return true;
    }
    [[noreturn]] void truncated(const char* where) {
        bad_input("dump '" + path_.string() + "' is truncated or corrupt (" + where + " cut short at byte " +
                  std::to_string(std::ftell(f_)) + " of " + std::to_string(size_) + ")");
    }

    void verify() {
        char magic[5];
        if (std::fread(magic, 1, 5, f_) != 5 || std::memcmp(magic, "PGDMP", 5) != 0)
            bad_input("'" + path_.string() + "' is not a pg_dump custom-format file");
        vmaj_ = static_cast<int>(byte());
        vmin_ = static_cast<int>(byte());
        byte();  // revision
        int_size_ = static_cast<int>(byte());
        off_size_ = static_cast<int>(byte());
        if (int_size_ < 1 || int_size_ > 8 || off_size_ < 1 || off_size_ > 8)
            bad_input("dump '" + path_.string() + "' has a corrupt header");
        const int ver = vmaj_ * 100 + vmin_;
        if (ver < 112 || ver > 114) return;  // pg_restore itself judges other versions
        byte();          // format
        integer();       // compression level (1.14 and older)
        for (int i = 0; i < 7; ++i) integer();  // creation time
        string(); string(); string();           // dbname, server version, pg_dump version
        long long count = integer();
        long long max_off = -1;
        bool any_unset = false;
        for (long long i = 0; i < count; ++i) {
            integer(); integer();                // dumpId, hadDumper
            string(); string();                  // tableoid, oid
            string(); string();                  // tag, desc
            integer();                           // section
            // defn, dropStmt, copyStmt, namespace, tablespace, [tableam since 1.14], owner
            for (int k = 0; k < (ver >= 114 ? 7 : 6); ++k) string();
            string();                            // withOids
            while (string()) {
            }                                    // dependencies, NULL-terminated
            unsigned flag = byte();
            long long off = 0;
            for (int k = 0; k < off_size_; ++k) off |= static_cast<long long>(byte()) << (8 * k);
            if (flag == 2) max_off = std::max(max_off, off);       // K_OFFSET_POS_SET
            else if (flag == 1) any_unset = true;                  // K_OFFSET_POS_NOT_SET
        }
        long long toc_end = std::ftell(f_);
        if (max_off >= size_) truncated("data");
        // With offsets (pg_dump wrote to a file), walk only the last block; otherwise all of them.
        long long start = (max_off >= 0 && !any_unset) ? max_off : toc_end;
        if (start >= size_) {
            if (max_off < 0 && !any_unset) return;  // schema-only dump: no data at all
            truncated("data");
        }
        std::fseek(f_, start, SEEK_SET);
        while (std::ftell(f_) < size_) walk_block();
        if (std::ftell(f_) != size_) truncated("data");
    }

private:
    void skip_chunks() {
        for (;;) {
            long long n = integer();
            if (n == 0) return;
            if (n < 0 || std::ftell(f_) + n > size_) truncated("data");
            std::fseek(f_, n, SEEK_CUR);
        }
    }
    void walk_block() {
        unsigned type = byte();
        integer();  // dumpId
        if (type == 1) skip_chunks();          // BLK_DATA
        else if (type == 3) {                  // BLK_BLOBS: (oid, chunks)* then oid 0
            while (integer() != 0) skip_chunks();
        } else truncated("data");
    }

    fs::path path_;
    std::FILE* f_;
    long long size_ = 0;
    int vmaj_ = 0, vmin_ = 0, int_size_ = 4, off_size_ = 8;
};

std::vector<std::string> first_errors(const std::string& err, std::size_t n) {
    std::vector<std::string> out;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line) && out.size() < n;)
        if (!line.empty()) out.push_back(line);
    return out;
}

// "TABLE DATA public answers postgres" -> desc, schema, tag, owner. Descriptions have spaces, so
// match the known multi-word ones first.
void parse_list_rest(const std::string& rest, TocEntry& e) {
    static const char* multi[] = {"MATERIALIZED VIEW DATA", "SEQUENCE OWNED BY", "DEFAULT ACL", "FK CONSTRAINT",
                                  "TABLE DATA", "SEQUENCE SET", "MATERIALIZED VIEW", "LARGE OBJECT", "TABLE ATTACH",
                                  "INDEX ATTACH", "CHECK CONSTRAINT", "EVENT TRIGGER", "FOREIGN TABLE",
                                  "FOREIGN DATA WRAPPER", "SERVER", "USER MAPPING", "TEXT SEARCH CONFIGURATION",
                                  "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER", "TEXT SEARCH TEMPLATE",
                                  "OPERATOR CLASS", "OPERATOR FAMILY", "PROCEDURAL LANGUAGE", "ACCESS METHOD",
                                  "STATISTICS DATA", "PUBLICATION TABLE", "PUBLICATION TABLES IN SCHEMA",
                                  "ROW SECURITY", "SHELL TYPE", "BLOB METADATA"};
    std::string remain = rest;
    e.desc.clear();
    for (const char* m : multi) {
        std::string mm = std::string(m) + " ";
        if (remain.rfind(mm, 0) == 0) {
            e.desc = m;
            remain = remain.substr(mm.size());
            break;
        }
    }
    if (e.desc.empty()) {
        auto sp = remain.find(' ');
        e.desc = remain.substr(0, sp);
        remain = sp == std::string::npos ? "" : remain.substr(sp + 1);
    }
    auto sp = remain.find(' ');
    e.schema = remain.substr(0, sp);
    remain = sp == std::string::npos ? "" : remain.substr(sp + 1);
    auto last = remain.rfind(' ');
    if (last == std::string::npos) {
        e.tag = remain;
    } else {
        e.tag = remain.substr(0, last);
        e.owner = remain.substr(last + 1);
    }
}

}  // namespace

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

void verify_custom_dump(const fs::path& dump) { CustomReader(dump).verify(); }

void verify_directory_dump(const fs::path& dir, const RestorePlan& plan) {
    for (const auto& e : plan.entries) {
        if (e.desc != "TABLE DATA" && e.desc != "BLOBS" && e.desc != "MATERIALIZED VIEW DATA") continue;
        auto base = dir / (std::to_string(e.id) + ".dat");
        std::error_code ec;
        if (!fs::exists(base, ec) && !fs::exists(base.string() + ".gz", ec) && !fs::exists(base.string() + ".lz4", ec) &&
            !fs::exists(base.string() + ".zst", ec) && e.desc != "BLOBS")
            bad_input("directory dump '" + dir.string() + "' is incomplete: no data file for " + e.desc + " " + e.tag +
                      " (" + base.filename().string() + ")");
    }
}

std::string pg_restore_version() {
    std::string out, err;
    if (capture_process({{"pg_restore", "--version"}, {}}, out, err) != 0) return "unknown";
    auto p = out.rfind(") ");
    std::string v = p == std::string::npos ? out : out.substr(p + 2);
    auto sp = v.find_first_of(" \n");
    return v.substr(0, sp);
}

RestorePlan read_toc(const fs::path& dump, Logger& log) {
    RestorePlan plan;
    std::string out, err;
    int rc = capture_process({{"pg_restore", "--list", dump.string()}, {}}, out, err);
    if (rc != 0) {
        auto errs = first_errors(err, 3);
        std::string first = errs.empty() ? "exit code " + std::to_string(rc) : errs.front();
        if (first.find("unsupported version") != std::string::npos) {
            auto b = first.find('('), e = first.find(')');
            std::string ver = (b != std::string::npos && e != std::string::npos) ? first.substr(b + 1, e - b - 1) : "?";
            bad_input("dump '" + dump.string() + "' uses archive format " + ver + ", which pg_restore " +
                      pg_restore_version() + " cannot read: it was made by a newer pg_dump; install the matching postgresql-client");
        }
        bad_input("'" + dump.string() + "' is not a readable pg_dump archive: " + first);
    }
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(";     Dump Version: ", 0) == 0) {
            plan.archive_version = line.substr(20);
            plan.archive_version = plan.archive_version.substr(0, plan.archive_version.find('-'));
        } else if (line.rfind(";     Dumped by pg_dump version: ", 0) == 0) {
            plan.dumped_by = line.substr(33);
        }
        if (line.empty() || line[0] == ';') continue;
        auto semi = line.find("; ");
        if (semi == std::string::npos) continue;
        TocEntry e;
        e.id = std::stoi(line.substr(0, semi));
        e.list_line = line;
        // "<id>; <tableoid> <oid> <rest>"
        std::string rest = line.substr(semi + 2);
        for (int skip = 0; skip < 2; ++skip) rest = rest.substr(rest.find(' ') + 1);
        parse_list_rest(rest, e);
        plan.entries.push_back(std::move(e));
    }
    if (plan.entries.empty()) bad_input("dump '" + dump.string() + "' holds no objects at all");

    // Dependencies and definitions: pg_restore prints them for schema entries in verbose
    // plain-text mode ("-- TOC entry N", "-- Dependencies: a b c").
    std::map<int, std::size_t> index;
    for (std::size_t i = 0; i < plan.entries.size(); ++i) index[plan.entries[i].id] = i;
    TocEntry* cur = nullptr;
    bool in_header = false;
    ProcessHooks hooks;
    hooks.on_stdout = [&](const std::string& line) {
        if (line.rfind("-- TOC entry ", 0) == 0) {
            int id = std::atoi(line.c_str() + 13);
            auto it = index.find(id);
            cur = it == index.end() ? nullptr : &plan.entries[it->second];
            in_header = true;
            return;
        }
        if (!cur) return;
        if (in_header) {
            if (line.rfind("-- Dependencies: ", 0) == 0) {
                std::istringstream ds(line.substr(17));
                for (int d; ds >> d;) cur->deps.push_back(d);
            } else if (line == "--") {
                in_header = false;
            }
            return;
        }
        if (line.rfind("--", 0) == 0 || line.rfind("SET ", 0) == 0 || line.rfind("\\", 0) == 0) return;
        if (!line.empty() || !cur->sql.empty()) cur->sql += line + "\n";
    };
    std::string verr;
    hooks.on_stderr = [&](const std::string& l) { verr += l + "\n"; };
    rc = run_process({{"pg_restore", "--schema-only", "--verbose", "--file=-", dump.string()}, {}}, hooks);
    if (rc != 0) bad_input("dump '" + dump.string() + "': pg_restore cannot read its definitions: " + first_errors(verr, 1).front());
    for (auto& e : plan.entries) {
        while (!e.sql.empty() && e.sql.back() == '\n') e.sql.pop_back();
        // "ALTER TABLE x OWNER TO y" lines follow many definitions; they are not part of it.
        if (auto p = e.sql.find("\n\n\nALTER "); p != std::string::npos && e.sql.find(" OWNER TO ", p) != std::string::npos)
            e.sql.erase(p);
    }

    // Data entries are not printed in schema-only mode: tie them to their object by identity.
    std::map<std::string, int> object_ids;
    for (const auto& e : plan.entries)
        if (e.desc == "TABLE" || e.desc == "SEQUENCE" || e.desc == "MATERIALIZED VIEW")
            object_ids[e.desc + "|" + e.schema + "|" + e.tag] = e.id;
    for (auto& e : plan.entries) {
        std::string key;
        if (e.desc == "TABLE DATA") key = "TABLE|" + e.schema + "|" + e.tag;
        else if (e.desc == "SEQUENCE SET") key = "SEQUENCE|" + e.schema + "|" + e.tag;
        else if (e.desc == "MATERIALIZED VIEW DATA") key = "MATERIALIZED VIEW|" + e.schema + "|" + e.tag;
        if (auto it = object_ids.find(key); !key.empty() && it != object_ids.end() && e.deps.empty()) e.deps.push_back(it->second);
    }
    // The table an entry belongs to: itself, or the first TABLE it depends on.
    for (auto& e : plan.entries) {
        if (e.desc == "TABLE") e.table = e.schema + "." + e.tag;
    }
    for (auto& e : plan.entries) {
        if (!e.table.empty()) continue;
        for (int d : e.deps) {
            auto it = index.find(d);
            if (it != index.end() && plan.entries[it->second].desc == "TABLE") {
                e.table = plan.entries[it->second].table;
                break;
            }
        }
    }
    log.debug("table of contents read", {{"entries", static_cast<std::int64_t>(plan.entries.size())},
                                         {"archive_version", plan.archive_version}});
    return plan;
}

fs::path extract_pgsql(struct archive* a, const fs::path& work_dir, const std::string& label) {
    fs::path result, partial;
    struct archive_entry* entry = nullptr;
    auto cleanup = [&] {
        std::error_code ec;
        if (!partial.empty()) fs::remove(partial, ec);
        if (!result.empty()) fs::remove(result, ec);
    };
    try {
        for (;;) {
            int r = archive_read_next_header(a, &entry);
            if (r == ARCHIVE_EOF) break;
            if (r < ARCHIVE_WARN)
                bad_input("archive '" + label + "' is corrupt: " + (archive_error_string(a) ? archive_error_string(a) : "unreadable"));
            std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
            if (!name.empty() && name[0] == '/') bad_input("archive '" + label + "' has an absolute path entry '" + name + "'; refused");
            for (const auto& c : fs::path(name))
                if (c == "..") bad_input("archive '" + label + "' has an entry leaving its folder ('" + name + "'); refused");
            if (archive_entry_filetype(entry) != AE_IFREG || fs::path(name).extension() != ".pgsql") {
                archive_read_data_skip(a);
                continue;
            }
            if (!result.empty())
                bad_input("archive '" + label + "' holds more than one *.pgsql file ('" + result.filename().string() + "' and '" +
                          fs::path(name).filename().string() + "'); which one to restore is ambiguous");
            result = work_dir / fs::path(name).filename();
            partial = result;
            partial += ".partial";
            std::FILE* out = std::fopen(partial.c_str(), "wb");
            if (!out) throw StepError(ErrorKind::fatal, "cannot write '" + partial.string() + "': " + std::strerror(errno));
            std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(out, &std::fclose);
            const void* buf;
            size_t size;
            la_int64_t offset;
            for (;;) {
                int rr = archive_read_data_block(a, &buf, &size, &offset);
                if (rr == ARCHIVE_EOF) break;
                if (rr < ARCHIVE_WARN)
                    bad_input("archive '" + label + "' is corrupt or truncated: " +
                              (archive_error_string(a) ? archive_error_string(a) : "read error"));
                if (std::fwrite(buf, 1, size, out) != size)
                    throw StepError(ErrorKind::fatal, "cannot write '" + partial.string() + "' (disk full?)");
            }
            guard.reset();
            fs::rename(partial, result);
            partial.clear();
        }
    } catch (...) {
        cleanup();
        throw;
    }
    if (result.empty()) bad_input("archive '" + label + "' holds no *.pgsql file");
    return result;
}

std::pair<std::string, std::string> split_password(const std::string& url) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return {url, ""};
    auto at = url.find('@', scheme + 3);
    auto slash = url.find('/', scheme + 3);
    if (at == std::string::npos || (slash != std::string::npos && at > slash)) return {url, ""};
    auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return {url, ""};
    std::string enc = url.substr(colon + 1, at - colon - 1), pw;
    for (std::size_t i = 0; i < enc.size(); ++i) {
        if (enc[i] == '%' && i + 2 < enc.size()) {
            pw += static_cast<char>(std::stoi(enc.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else pw += enc[i];
    }
    return {url.substr(0, colon) + url.substr(at), pw};
}

}  // namespace pixrep::common
