// The dump scanner on archives written byte by byte here (pg_dump's custom format), whole, cut,
// damaged and fed in pieces; and the plan built from what it read.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>

#include "dump.hpp"
#include "inflater.hpp"
#include "table_columns.hpp"
#include "source.hpp"
#include "toc.hpp"

using namespace pixrep;
using namespace pixrep::common;

namespace {

// Writes a custom-format archive the way pg_dump does (pg_backup_archiver.c WriteHead/WriteToc,
// pg_backup_custom.c): int = sign byte + 4 bytes little-endian; strings = int length + bytes.
class ArchiveWriter {
public:
    ArchiveWriter(int vmin, int compression) : vmin_(vmin), compression_(compression) {}
    struct Entry {
        int id;
        std::string desc, schema, tag, defn, copy;
        std::vector<int> deps;
        std::string data;  // COPY rows; "" = no data block
    };
    void add(Entry e) { entries_.push_back(std::move(e)); }
    std::string bytes() const {
        std::string b = "PGDMP";
        b += char(1), b += char(vmin_), b += char(0), b += char(4), b += char(8), b += char(1);
        if (vmin_ >= 15) b += char(compression_);
        else integer(b, compression_ ? 6 : 0);
        for (int i = 0; i < 7; ++i) integer(b, 1);
        str(b, "pix"), str(b, "15.18"), str(b, vmin_ >= 16 ? "17.12" : "15.18");
        integer(b, static_cast<int>(entries_.size()));
        for (const auto& e : entries_) {
            integer(b, e.id), integer(b, e.data.empty() ? 0 : 1);
            str(b, "1259"), str(b, std::to_string(16000 + e.id)), str(b, e.tag), str(b, e.desc), integer(b, 1);
            str(b, e.defn), str(b, ""), str(b, e.copy), str(b, e.schema), str(b, ""), str(b, "heap");
            if (vmin_ >= 16) integer(b, 'r');
            str(b, "postgres"), str(b, "false");
            for (int d : e.deps) str(b, std::to_string(d));
            integer(b, -1);                          // end of dependencies (a null string)
            b += char(e.data.empty() ? 3 : 1);       // data offset flag: none / position not set
            b += std::string(8, '\0');
        }
        for (const auto& e : entries_) {
            if (e.data.empty()) continue;
            b += char(1);
            integer(b, e.id);
            std::string payload = compression_ ? deflate(e.data) : e.data;
            // In chunks, as pg_dump writes them.
            for (std::size_t off = 0; off < payload.size(); off += 7) {
                std::string chunk = payload.substr(off, 7);
                integer(b, static_cast<int>(chunk.size()));
                b += chunk;
            }
            integer(b, 0);
        }
        return b;
    }

private:
    static void integer(std::string& b, int v) {
        b += char(v < 0 ? 1 : 0);
        unsigned u = static_cast<unsigned>(v < 0 ? -v : v);
        for (int i = 0; i < 4; ++i) b += char((u >> (8 * i)) & 0xff);
    }
    static void str(std::string& b, const std::string& s) {
        integer(b, static_cast<int>(s.size()));
        b += s;
    }
    static std::string deflate(const std::string& s) {
        uLongf n = compressBound(s.size());
        std::string out(n, '\0');
        compress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(s.data()), s.size());
        out.resize(n);
        return out;
    }
    int vmin_, compression_;
    std::vector<Entry> entries_;
};

ArchiveWriter pix_archive(int vmin = 14, int compression = 1) {
    ArchiveWriter w(vmin, compression);
    w.add({1, "TABLE", "public", "users", "CREATE TABLE public.users (\n    id integer NOT NULL\n);", "", {}, ""});
    w.add({2, "TABLE", "public", "answers", "CREATE TABLE public.answers (id integer);", "", {}, ""});
    // As pg_dump writes COPY data: the rows, then an end marker.
    w.add({3, "TABLE DATA", "public", "users", "", "COPY public.users (id) FROM stdin;\n", {1}, "1\tx\n3\ty\\tz\n2\t\\N\n\\.\n\n\n"});
    w.add({4, "TABLE DATA", "public", "answers", "", "COPY public.answers (id) FROM stdin;\n", {2}, std::string(5000, 'x') + "\n7\n\\.\n\n\n"});
    w.add({5, "INDEX", "public", "answers_id_idx", "CREATE INDEX answers_id_idx ON public.answers (id);", "", {2}, ""});
    return w;
}

struct TempDirForHeader {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("pixrep-dump-test-" + std::to_string(::getpid()));
    TempDirForHeader() { std::filesystem::create_directories(path); }
    ~TempDirForHeader() { std::filesystem::remove_all(path); }
};

std::unique_ptr<DumpScanner> scan(const std::string& bytes, std::size_t piece = 1 << 20) {
    auto s = std::make_unique<DumpScanner>("test.pgsql");
    for (std::size_t off = 0; off < bytes.size(); off += piece) s->feed(bytes.data() + off, std::min(piece, bytes.size() - off));
    s->finish();
    return s;
}

std::string error_of(const std::string& bytes) {
    try {
        scan(bytes);
    } catch (const DumpError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(DumpScanner, ReadsHeaderTocAndCountsRows) {
    for (int compression : {0, 1})
        for (int vmin : {14, 15, 16}) {
            auto scanned = scan(pix_archive(vmin, compression).bytes());
            const auto& s = *scanned;
            EXPECT_EQ(s.header().version(), "1." + std::to_string(vmin));
            EXPECT_EQ(s.header().compression, compression);
            EXPECT_EQ(s.header().pg_dump_version, vmin >= 16 ? "17.12" : "15.18");
            ASSERT_EQ(s.entries().size(), 5u);
            EXPECT_EQ(s.entries()[0].defn, "CREATE TABLE public.users (\n    id integer NOT NULL\n);");
            EXPECT_EQ(s.entries()[2].rows, 3);
            EXPECT_EQ(s.entries()[2].first_key_max, 3);
            EXPECT_EQ(s.entries()[3].rows, 2);
            EXPECT_FALSE(s.entries()[3].first_key_max) << "a row that does not start with an integer";
            EXPECT_EQ(s.entries()[4].rows, -1);
            EXPECT_EQ(s.entries()[4].deps, std::vector<int>{2});
            EXPECT_TRUE(s.entries()[3].data_seen);
        }
}

TEST(DumpScanner, TheSameWhenFedOneByteAtATime) {
    auto bytes = pix_archive().bytes();
    auto whole = scan(bytes), bytewise = scan(bytes, 1);
    ASSERT_EQ(bytewise->entries().size(), whole->entries().size());
    for (std::size_t i = 0; i < whole->entries().size(); ++i) EXPECT_EQ(bytewise->entries()[i].rows, whole->entries()[i].rows);
}

TEST(DumpScanner, AnArchiveCutAnywhereIsRefused) {
    auto bytes = pix_archive().bytes();
    for (std::size_t cut : {std::size_t{3}, std::size_t{40}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 30, bytes.size() - 1}) {
        auto msg = error_of(bytes.substr(0, cut));
        EXPECT_NE(msg.find("test.pgsql' is truncated or corrupt"), std::string::npos) << cut << ": " << msg;
    }
    EXPECT_NE(error_of(bytes.substr(0, bytes.size() - 30)).find("the data of TABLE DATA public.answers"), std::string::npos)
        << error_of(bytes.substr(0, bytes.size() - 30));
}

TEST(DumpScanner, DamagedDataIsFoundByItsChecksum) {
    auto bytes = pix_archive().bytes();
    // A byte in the middle of answers' compressed data (the last data block), gzip and tar intact.
    bytes[bytes.size() - 25] ^= 0x5a;
    auto msg = error_of(bytes);
    EXPECT_NE(msg.find("test.pgsql' is corrupt: the data of TABLE DATA public.answers"), std::string::npos) << msg;
}

TEST(DumpScanner, WhatIsNotADumpOrTooNewSaysSo) {
    EXPECT_NE(error_of("SELECT 1;\n" + std::string(100, ' ')).find("it is not a pg_dump archive"), std::string::npos);
    auto bytes = pix_archive().bytes();
    bytes[6] = 17;
    EXPECT_NE(error_of(bytes).find("archive format 1.17, newer than this tool reads"), std::string::npos) << error_of(bytes);
}

TEST(DumpScanner, ASecondDataBlockOrAnUnknownEntryIsCorrupt) {
    auto w = pix_archive(14, 0);
    auto bytes = w.bytes();
    std::string extra;
    extra += char(1);
    extra += std::string("\0\x09\0\0\0", 5);  // entry 9: not in the table of contents
    extra += std::string("\0\0\0\0\0", 5);
    EXPECT_NE(error_of(bytes + extra).find("which the table of contents lacks"), std::string::npos) << error_of(bytes + extra);
}

TEST(DumpScanner, RefusesAtOnceAnArchiveThePgRestoreFoundCannotRead) {
    Tool pg15{"/usr/lib/postgresql/15/bin/pg_restore", "15.18", 15}, pg17{"/usr/lib/postgresql/17/bin/pg_restore", "17.6", 17};
    auto bytes = pix_archive(16).bytes();
    auto scanner = scanner_for("new.pgsql", pg15);
    try {
        scanner->feed(bytes.data(), 8);  // the first 8 bytes are enough
        scanner->finish();
        ADD_FAILURE() << "not refused";
    } catch (const DumpError& e) {
        EXPECT_NE(std::string(e.what()).find("uses archive format 1.16, which pg_restore 15.18 (/usr/lib/postgresql/15/bin/pg_restore) "
                                             "cannot read: it was made by a newer pg_dump (17 or later); install postgresql-client-17"),
                  std::string::npos)
            << e.what();
    }
    auto ok = scanner_for("new.pgsql", pg17);
    ok->feed(bytes.data(), bytes.size());
    ok->finish();
    EXPECT_EQ(pg_restore_major_for(1, 14), 12);
    EXPECT_EQ(pg_restore_major_for(1, 15), 16);
    EXPECT_EQ(pg_restore_major_for(1, 16), 17);
}

TEST(PlanFromScan, TiesEveryEntryToItsTable) {
    auto s = scan(pix_archive().bytes());
    auto plan = plan_from_scan(s->entries());
    ASSERT_EQ(plan.entries.size(), 5u);
    EXPECT_EQ(plan.find(DumpId{3})->table, "public.users");
    EXPECT_EQ(plan.find(DumpId{5})->table, "public.answers");
    EXPECT_EQ(plan.find(DumpId{4})->rows, 2);
    EXPECT_EQ(plan.find(DumpId{4})->copy, "COPY public.answers (id) FROM stdin;\n");
    EXPECT_EQ(pixrep::common::list_line(*plan.find(DumpId{1})), "1; 1259 16001 TABLE public users postgres");
    EXPECT_EQ(plan.table("public.answers")->id, DumpId{2});
    EXPECT_EQ(plan.restored_count(), 5u);
}

TEST(ListLine, ANameWithANewlineCannotBringBackAnotherEntry) {
    auto s = scan(pix_archive().bytes());
    auto plan = plan_from_scan(s->entries());
    auto e = *plan.find(DumpId{1});
    e.tag = "users\n4; 1259 16004 TABLE DATA public answers\r\t";
    const auto line = pixrep::common::list_line(e);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    EXPECT_EQ(line.rfind("1; ", 0), 0u);
}

TEST(PlanFromScan, AConstraintBelongsToTheTableItsTagNames) {
    // As pg_dump lists them: the referenced table before the constraint's own.
    std::vector<ScannedEntry> s(3);
    s[0].id = 216, s[0].desc = "TABLE", s[0].schema = "public", s[0].tag = "users";
    s[1].id = 218, s[1].desc = "TABLE", s[1].schema = "public", s[1].tag = "schooling-registrations";
    s[2].id = 3232, s[2].desc = "FK CONSTRAINT", s[2].schema = "public", s[2].tag = "schooling-registrations schooling-registrations_userId_fkey";
    s[2].deps = {216, 3225, 218};
    EXPECT_EQ(plan_from_scan(s).find(DumpId{3232})->table, "public.schooling-registrations");
}

TEST(ListedIds, ReadsPgRestoreListOutput) {
    EXPECT_EQ(listed_ids(";\n; Archive created at 2026-11-24\n;\n3456; 0 0 ENCODING - ENCODING \n215; 1259 16403 TABLE public users postgres\n"),
              (std::vector<int>{3456, 215}));
}

TEST(DumpScanner, ATapReadsOneEntrysDataAndDecompressesNoOther) {
    for (int compression : {0, 1}) {
        auto bytes = pix_archive(15, compression).bytes();
        for (std::size_t piece : {std::size_t(1) << 20, std::size_t(3)}) {
            DumpScanner s("test.pgsql");
            std::string got;
            s.tap(3, [&](const char* p, std::size_t n) { got.append(p, n); });
            for (std::size_t off = 0; off < bytes.size(); off += piece) s.feed(bytes.data() + off, std::min(piece, bytes.size() - off));
            s.finish();
            EXPECT_EQ(got, "1\tx\n3\ty\\tz\n2\t\\N\n\\.\n\n\n") << "compression " << compression << ", pieces of " << piece;
            EXPECT_EQ(s.entries()[3].rows, -1) << "the other entry was only walked";
            EXPECT_TRUE(s.entries()[3].data_seen);
        }
    }
}

TEST(DumpScanner, AnEntryLeftToAStepIsWalkedNotDecompressedAndTheOthersStillChecked) {
    for (int compression : {0, 1}) {
        auto bytes = pix_archive(15, compression).bytes();
        std::vector<int> asked;
        DumpScanner s("test.pgsql");
        s.leave([&](int id) {
            asked.push_back(id);
            return id == 4;  // answers' data, entries()[3]
        });
        std::vector<std::pair<int, std::int64_t>> blocks;
        s.on_block([&](const ScannedEntry& e) { blocks.emplace_back(e.id, e.data_offset); });
        for (std::size_t off = 0; off < bytes.size(); off += 5) s.feed(bytes.data() + off, std::min<std::size_t>(5, bytes.size() - off));
        s.finish();
        EXPECT_EQ(s.entries()[2].rows, 3) << "compression " << compression;
        EXPECT_EQ(s.entries()[2].data_sha256.size(), 64u);
        EXPECT_EQ(s.entries()[3].rows, -1) << "left to a step: its rows are its reader's to count";
        EXPECT_EQ(s.entries()[3].data_sha256, "");
        EXPECT_TRUE(s.entries()[3].data_seen);
        ASSERT_EQ(blocks.size(), 2u) << "its arrival is still said, with where its block starts";
        EXPECT_EQ(blocks[1].first, 4);
        EXPECT_GT(blocks[1].second, blocks[0].second);
        EXPECT_EQ(asked.size(), 2u) << "asked once per data block";
    }
    // Walking is not checking: a damaged block left to a step gets past the scan, and its reader
    // finds the damage (DamagedDataIsFoundByItsChecksum without leave).
    auto bytes = pix_archive(15, 1).bytes();
    bytes[bytes.size() - 25] ^= 0x5a;
    DumpScanner s("test.pgsql");
    s.leave([](int id) { return id == 4; });
    s.feed(bytes.data(), bytes.size());
    EXPECT_NO_THROW(s.finish());
}

TEST(DumpHeader, ReadFromTheFileAlone) {
    TempDirForHeader dir;
    auto path = dir.path / "d.pgsql";
    std::ofstream(path, std::ios::binary) << pix_archive(16, 1).bytes();
    auto h = read_dump_header(path);
    EXPECT_EQ(h.version(), "1.16");
    EXPECT_EQ(h.compression, 1);
    std::ofstream(path, std::ios::binary) << "PGDMP";
    EXPECT_THROW(read_dump_header(path), DumpError);
}

TEST(TableColumns, NamesQuotedAndNotTypesAndNotNullAsPgDumpWritesThem) {
    const auto c = pixrep::common::table_columns(
        "CREATE TABLE public.answers (\n    id bigint NOT NULL,\n    \"odd \"\"name\" integer[] COLLATE pg_catalog.\"C\",\n"
        "    \"createdAt\" timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,\n    CONSTRAINT positive CHECK ((id > 0))\n);");
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].name + "|" + c[0].quoted + "|" + c[0].type, "id|id|bigint");
    EXPECT_TRUE(c[0].not_null);
    EXPECT_EQ(c[1].name + "|" + c[1].quoted + "|" + c[1].type, "odd \"name|\"odd \"\"name\"|integer[]");
    EXPECT_FALSE(c[1].not_null);
    EXPECT_EQ(c[2].name + "|" + c[2].type, "createdAt|timestamp with time zone");
    EXPECT_TRUE(c[2].not_null);
    EXPECT_TRUE(pixrep::common::table_columns("CREATE VIEW public.v AS SELECT 1;").empty());
}

namespace {

std::string zlib_of(const std::string& s, int window_bits) {  // 15: zlib, 31: gzip
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, s.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
    zs.avail_in = static_cast<uInt>(s.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

std::string rows_text(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += std::to_string(i) + "\tsome text " + std::to_string(i * 7919 % 1000) + "\n";
    return s;
}

}  // namespace

TEST(Inflater, GivesBackZlibAndGzipStreamsFedInAnyPieces) {
    const std::string text = rows_text(200000);  // several MB: many 64 KiB pieces out
    for (int bits : {15, 31}) {
        const std::string z = zlib_of(text, bits);
        for (std::size_t piece : {std::size_t(1), std::size_t(4096), z.size()}) {
            if (piece == 1 && bits == 31) continue;  // one byte at a time: once is enough
            Inflater f(bits == 31);
            std::string got;
            for (std::size_t off = 0; off < z.size(); off += piece)
                f.feed(z.data() + off, std::min(piece, z.size() - off), [&](const char* p, std::size_t n) { got.append(p, n); });
            EXPECT_TRUE(f.ended()) << bits << ", pieces of " << piece;
            EXPECT_EQ(got.size(), text.size());
            EXPECT_TRUE(got == text) << bits << ", pieces of " << piece;
        }
    }
}

TEST(Inflater, RefusesADamagedStreamAByteAfterItsEndAndSaysWhenCutShort) {
    const std::string z = zlib_of(rows_text(1000), 15);
    auto sink = [](const char*, std::size_t) {};
    std::string damaged = z;
    damaged[damaged.size() - 2] ^= 0x55;  // in the adler32 trailer
    Inflater bad(false);
    try {
        bad.feed(damaged.data(), damaged.size(), sink);
        ADD_FAILURE() << "a wrong checksum went through";
    } catch (const Inflater::Error& e) {
        EXPECT_STREQ(e.what(), "does not decompress (an incorrect checksum)");
    }
    for (std::size_t extra : {1, 3, 16}) {
        std::string longer = z + std::string(extra, 'x');
        Inflater trailing(false);
        EXPECT_THROW(trailing.feed(longer.data(), longer.size(), sink), Inflater::Error) << extra << " byte(s) after the end";
    }
    Inflater cut(false);
    cut.feed(z.data(), z.size() / 2, sink);
    EXPECT_FALSE(cut.ended());
}
