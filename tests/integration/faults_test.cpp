// Faults injected into real runs on a real PostgreSQL, as a demanding operator would try them:
// full disks, a damaged dump, kill -9, readers holding locks, a database or an API that never
// answers, stalls, ps read during a restore. Each asserts the outcome (exit code, message,
// target intact or complete, no process left, time to stop) and prints it on a FAULT line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <thread>

#include "fake_scalingo.hpp"
#include "replication_fixture.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Faults = Replication;
const std::string kProduction = std::string(PIXREP_SOURCE_DIR) + "/config/production.toml";

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// SIGTERM to a running tool: its exit code (143 expected) and the seconds it took to exit.
std::pair<int, double> sigterm(pixtest::Background& p) {
    auto t0 = Clock::now();
    p.signal(SIGTERM);
    int code = p.wait_exit(15);
    return {code, since(t0)};
}

void report(const std::string& fault, int code, double seconds, const std::string& target) {
    std::printf("FAULT %s: exit %d, %.1fs, target %s\n", fault.c_str(), code, seconds, target.c_str());
}

// A small disk: a tmpfs of `bytes` (the tests run as root), unmounted by the destructor.
class SmallDisk {
public:
    explicit SmallDisk(std::size_t bytes) {
        if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, ("size=" + std::to_string(bytes)).c_str()) != 0)
            throw std::runtime_error(std::string("cannot mount a tmpfs (the fault tests run as root): ") + std::strerror(errno));
    }
    ~SmallDisk() { ::umount2(dir_.path().c_str(), MNT_DETACH); }
    const fs::path& path() const { return dir_.path(); }

private:
    TempDir dir_;
};

std::size_t pages(std::size_t bytes) { return (bytes + 4095) / 4096 * 4096; }

// A server that accepts connections and never says a word.
class SilentServer {
public:
    SilentServer()
        : proc_({"python3", "-c",
                 "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(64)\nprint(s.getsockname()[1],flush=True)\n"
                 "held=[]\nwhile True:\n    c,_=s.accept()\n    held.append(c)\n"}) {
        port_ = std::stoi(proc_.wait_for("", 10));
    }
    int port() const { return port_; }

private:
    pixtest::Background proc_;
    int port_ = 0;
};

bool any_cmdline_holds(const std::string& secret) {
    for (const auto& e : fs::directory_iterator("/proc")) {
        auto cmdline = pixtest::read_file(e.path() / "cmdline");
        if (cmdline.find(secret) != std::string::npos) return true;
    }
    return false;
}

long long backends(const std::string& application) {
    return count(TempPostgres::instance().url("postgres"),
                 "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application + "'");
}

}  // namespace

TEST_F(Faults, WorkDirectoryFullRightAfterTheDump) {
    // Room for the dump, none for pg_restore's list: once, an empty list was written unseen, the
    // target dropped, and the run reported success with 0 tables.
    SmallDisk disk(pages(fs::file_size(sources().pix_dump)));
    auto t0 = Clock::now();
    auto r = replicate(sources().pix_tar, {{"REPLICATION_WORK_DIR", disk.path().string()}});
    expect_failed(r, 1, "is full (No space left on device)");
    EXPECT_NE(r.out.find("restore.list"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("replication succeeded"), std::string::npos);
    report("work directory full after the dump", r.code, since(t0), "intact");
}

TEST_F(Faults, DiskFullOnTheDumpsLastBytes) {
    SmallDisk disk(pages(fs::file_size(sources().pix_dump)) - 4096);
    auto t0 = Clock::now();
    auto r = replicate(sources().pix_tar, {{"REPLICATION_WORK_DIR", disk.path().string()}});
    expect_failed(r, 1, "is full (No space left on device) after writing");
    EXPECT_EQ(r.out.find("truncated or corrupt"), std::string::npos) << "the backup was fine, the disk was full:\n" << r.out;
    for (const auto& e : fs::recursive_directory_iterator(disk.path()))
        EXPECT_NE(e.path().extension(), ".pgsql") << "the cut dump is left: " << e.path();
    report("disk full on the dump's last bytes", r.code, since(t0), "intact");
}

TEST_F(Faults, DumpDamagedInTheMiddleOfTableData) {
    // The damage is inside one table's compressed data; the gzip and tar around it are whole.
    auto bytes = pixtest::read_file(sources().pix_dump);
    auto zlib = bytes.find("\x78\x9c", bytes.size() / 2);
    ASSERT_NE(zlib, std::string::npos);
    bytes[zlib + 60] ^= 0x55;
    TempDir d;
    pixtest::write_file(d / "20261124010203_pix.pgsql", bytes);
    ASSERT_EQ(pixtest::run_cmd({"tar", "czf", (d / "damaged.tar.gz").string(), "-C", d.path().string(), "./20261124010203_pix.pgsql"}).code, 0);
    auto t0 = Clock::now();
    auto r = expect_refused(d / "damaged.tar.gz", "is corrupt: the data of TABLE DATA public.");
    EXPECT_EQ(r.out.find("backup verified"), std::string::npos) << r.out;
    report("dump damaged in the middle of table data", r.code, since(t0), "intact");
}

TEST_F(Faults, KilledDuringTheRestore) {
    slow_restore(30);
    auto p = start({"run"}, {{"REFRESH", "in-place"}});  // pg_restore as a child (beside: BesideFaults)
    ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_TRUE(pg_restore_running_for(work_.path()));
    auto t0 = Clock::now();
    p->signal(SIGKILL);  // as an OOM kill or a container kill does
    p->wait_exit(5);
    while ((pg_restore_running_for(work_.path()) || backends("pg_restore") > 0) && since(t0) < 15)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    double gone = since(t0);
    EXPECT_FALSE(pg_restore_running_for(work_.path())) << "pg_restore outlived the tool";
    EXPECT_EQ(backends("pg_restore"), 0) << "pg_restore's sessions go on writing";
    EXPECT_LT(gone, 10.0);
    // The run was recorded as running from its start; nobody holds its lock: interrupted, not a stale success.
    EXPECT_EQ(TempPostgres::instance().scalar(db_, "SELECT status FROM pix_db_replication.runs ORDER BY id DESC LIMIT 1"), "running");
    EXPECT_EQ(advisory_locks(), 0);
    auto [web, port] = serve();
    ASSERT_NE(port, 0) << web->output();
    auto status = pixtest::http_get(port, "/status");
    EXPECT_EQ(nlohmann::json::parse(status.substr(status.find("\r\n\r\n") + 4))["last_run"]["status"], "interrupted") << status;
    // ... and so it reads in the table itself, for readers who query it (the README's own query).
    EXPECT_EQ(TempPostgres::instance().scalar(db_, "SELECT status FROM pix_db_replication.runs ORDER BY id DESC LIMIT 1"), "interrupted");
    report("kill -9 during the restore", 137, gone, "half restored, run recorded 'interrupted'");
}

TEST_F(Faults, AReaderHoldsALockThenSigtermArrives) {
    // A reader's open transaction on a replica table: the drop waits for it, readers queue
    // behind the drop only a few seconds at a time, and a stop rolls the drop back at once.
    pqxx::connection reader(TempPostgres::instance().url(db_));
    pqxx::work tx(reader);
    tx.exec("SELECT * FROM keep_me");
    auto p = start({"run"}, {{"REFRESH", "in-place"}});  // the drop (beside: the swap, BesideFaults)
    auto t_wait = Clock::now();
    while (count(TempPostgres::instance().url("postgres"),
                 "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pix-db-replication drop-objects' AND wait_event_type = 'Lock'") == 0 &&
           since(t_wait) < 30)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_LT(since(t_wait), 30) << p->output();
    auto [code, took] = sigterm(*p);
    EXPECT_EQ(code, 143) << p->output();
    EXPECT_LT(took, 5.0);
    tx.abort();
    expect_untouched({code, p->output()});
    report("reader holds a lock, SIGTERM during the drop", code, took, "intact");

    // Without a stop, the swap (built beside) gives up after DROP_LOCK_TIMEOUT, naming who holds
    // the locks; yesterday's copy is as it was.
    pqxx::work tx2(reader);
    tx2.exec("SELECT * FROM keep_me");
    auto t1 = Clock::now();
    auto r = pixtest::run_cmd({PIXREP_BINARY, "run"}, env({{"DROP_LOCK_TIMEOUT", "3s"}}));
    expect_failed(r, 1, "the swap waited 3s for locks on the replica's tables held by pid ");
    EXPECT_NE(r.out.find("(user postgres"), std::string::npos) << r.out;
    report("reader holds a lock past DROP_LOCK_TIMEOUT", r.code, since(t1), "intact");
}

TEST_F(Faults, ADatabaseThatNeverAnswers) {
    SilentServer silent;
    const std::string url = "postgresql://replica:s3cr3t-pw@127.0.0.1:" + std::to_string(silent.port()) + "/db";
    auto p = start({"run"}, {{"DATABASE_URL", url}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto [code, took] = sigterm(*p);
    EXPECT_EQ(code, 143) << p->output();
    EXPECT_LT(took, 3.0);
    report("database accepts and never answers, SIGTERM", code, took, "untouched");
    // Left alone, the run gives up on its own instead of hanging.
    auto t1 = Clock::now();
    auto r = pixtest::run_cmd({PIXREP_BINARY, "run"}, env({{"DATABASE_URL", url}}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("no answer within 10s"), std::string::npos) << r.out;
    report("database accepts and never answers", r.code, since(t1), "untouched");

    // serve answers /health whatever one client or the database does.
    auto [web, port] = serve({{"DATABASE_URL", url}});
    ASSERT_NE(port, 0) << web->output();
    int idle = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    ASSERT_EQ(connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);  // connected, says nothing
    auto t2 = Clock::now();
    EXPECT_NE(pixtest::http_get(port, "/health").find("HTTP/1.1 200"), std::string::npos);
    EXPECT_LT(since(t2), 1.0);
    auto t3 = Clock::now();
    EXPECT_NE(pixtest::http_get(port, "/status").find("HTTP/1.1 200"), std::string::npos);
    EXPECT_LT(since(t3), 6.0);
    close(idle);
    web->signal(SIGTERM);
    EXPECT_EQ(web->wait_exit(5), 143);
}

TEST_F(Faults, ScalingoOrItsDownloadStalls) {
    for (const char* endpoint : {"backups", "download"}) {
        auto s = nlohmann::json::parse(R"({"apps": {"pix-api-production": [{"id": "ad-pg-1", "addon_provider": {"id": "postgresql"}}]},
                                           "range": true, "faults": {}})");
        s["api_token"] = kToken;
        s["backups"]["ad-pg-1"] = {{{"id", "bk-b"}, {"name", "b"}, {"status", "done"}, {"created_at", rfc3339(std::time(nullptr) - 60, 0)},
                                    {"size", static_cast<long long>(fs::file_size(sources().pix_tar))}}};
        s["archives"]["bk-b"] = sources().pix_tar.string();
        s["faults"][endpoint] = {"stall"};
        FakeScalingo fake(s);
        auto e = fake.env();
        e["REPLICATION_CONFIG"] = kProduction;
        e["SCALINGO_REGION"] = "osc-fr1";
        auto p = start({"run"}, e);
        const bool download = std::string(endpoint) == "download";
        ASSERT_NE(p->wait_for(download ? "\"msg\":\"download progress\"" : "\"msg\":\"replication started\"", 20), "") << p->output();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        auto [code, took] = sigterm(*p);
        EXPECT_EQ(code, 143) << p->output();
        EXPECT_LT(took, 3.0) << endpoint;
        expect_untouched({code, p->output()});
        for (const auto& f : fs::recursive_directory_iterator(work_.path())) EXPECT_NE(f.path().extension(), ".pgsql") << f.path();
        report(std::string("Scalingo ") + endpoint + " stalls, SIGTERM", code, took, "intact");
    }
}

TEST_F(Faults, ALocalExtractionStopsAtOnceAndLeavesNothing) {
    // A large dump (1 GB of rows), packed without compression, read from the local disk.
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP DATABASE IF EXISTS big_src");
    pg.exec("postgres", "CREATE DATABASE big_src");
    pg.exec("big_src", "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 32) AS t FROM generate_series(1, 1000000) g");
    TempDir d;
    auto r = pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-Fc", "-Z0", "-d", pg.url("big_src"), "-f", (d / "20261124_big.pgsql").string()});
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_EQ(pixtest::run_cmd({"tar", "cf", (d / "big.tar").string(), "-C", d.path().string(), "./20261124_big.pgsql"}).code, 0);
    fs::remove(d / "20261124_big.pgsql");
    auto p = start({"run"}, {{"BACKUP_FILE", (d / "big.tar").string()}});
    ASSERT_NE(p->wait_for("\"msg\":\"extracting backup archive\"", 20), "") << p->output();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto [code, took] = sigterm(*p);
    EXPECT_EQ(code, 143) << p->output();
    EXPECT_LT(took, 2.0);
    EXPECT_NE(p->output().find("stopped while extracting"), std::string::npos) << p->output();
    std::uintmax_t left = 0;
    for (const auto& f : fs::recursive_directory_iterator(work_.path()))
        if (f.is_regular_file() && f.path().filename() != "last-run.json") left += f.file_size();
    EXPECT_EQ(left, 0u) << "the run left files behind";
    expect_untouched({code, p->output()});
    pg.exec("postgres", "DROP DATABASE big_src");
    report("SIGTERM during a local extraction", code, took, "intact, nothing left in the work directory");
}

TEST_F(Faults, NoPasswordOnAnyCommandLine) {
    slow_restore(1);
    const std::string port = std::to_string(TempPostgres::instance().port()), role = TempPostgres::instance().scalar(
        db_, "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'keep_me'");
    for (const std::string url : {"postgresql://" + role + ":s3cr3t-pw@127.0.0.1:" + port + "/" + db_,
                                  "postgresql://" + role + "@127.0.0.1:" + port + "/" + db_ + "?password=s3cr3t-pw",
                                  "host=127.0.0.1 port=" + port + " user=" + role + " password=s3cr3t-pw dbname=" + db_}) {
        auto p = start({"run"}, {{"DATABASE_URL", url}, {"REFRESH", "in-place"}});  // pg_restore as a child
        ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
        bool seen = false, leaked = false;
        for (int i = 0; i < 20 && !leaked; ++i) {
            seen = seen || pg_restore_running_for(work_.path());
            leaked = any_cmdline_holds("s3cr3t-pw");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        EXPECT_TRUE(seen) << "pg_restore was never seen running";
        EXPECT_FALSE(leaked) << "the password is on a command line, with DATABASE_URL " << url.substr(0, 14);
        EXPECT_EQ(p->wait_exit(120), 0) << p->output();
        EXPECT_EQ(p->output().find("s3cr3t-pw"), std::string::npos);
    }
    report("ps read during restores (3 forms of DATABASE_URL)", 0, 0, "restored; no password seen");
}

TEST_F(Faults, WhatCannotHealIsNotRetried) {
    auto t0 = Clock::now();
    const std::string role = TempPostgres::instance().scalar(db_, "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'keep_me'");
    auto bad_password = replicate(sources().orig_tar, {{"DATABASE_URL", TempPostgres::instance().url(db_, role, "wrong")},
                                                       {"MAX_RETRY_COUNT", "5"}});
    expect_failed(bad_password, 2, "password authentication failed");
    EXPECT_EQ(bad_password.out.find("attempt 1 failed"), std::string::npos) << bad_password.out;
    EXPECT_LT(since(t0), 5.0);
    report("wrong password", bad_password.code, since(t0), "untouched");
    auto malformed = pixtest::run_cmd({PIXREP_BINARY, "check"}, env({{"DATABASE_URL", "postgresql://u:pw@host:port/db"}}));
    EXPECT_EQ(malformed.code, 2) << malformed.out;
    EXPECT_NE(malformed.out.find("DATABASE_URL is not a valid PostgreSQL connection URL or string"), std::string::npos) << malformed.out;
    EXPECT_EQ(malformed.out.find(":pw@"), std::string::npos) << malformed.out;
    auto schedule = pixtest::run_cmd({PIXREP_BINARY, "check"}, env({{"SCHEDULE", "61 * * * *"}}));
    EXPECT_EQ(schedule.code, 2) << schedule.out;
    EXPECT_NE(schedule.out.find("SCHEDULE: cron expression '61 * * * *'"), std::string::npos) << schedule.out;
    report("malformed DATABASE_URL / SCHEDULE at check", malformed.code, 0, "untouched");
}

TEST_F(Faults, TheLockSessionLostDuringTheRestoreStopsTheRun) {
    // Scalingo's proxy closes a connection silent for 30 minutes; if the lock's session goes
    // anyway, the run stops instead of going on unguarded.
    slow_restore(30);
    auto p = start({"run"}, {{"LOCK_KEEPALIVE", "1s"}});
    ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
    auto t0 = Clock::now();
    TempPostgres::instance().exec("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                              "WHERE application_name = 'pix-db-replication lock'");
    int code = p->wait_exit(20);
    double took = since(t0);
    EXPECT_EQ(code, 1) << p->output();
    EXPECT_NE(p->output().find("replication failed: lost the session holding the run's lock on the target"), std::string::npos)
        << p->output();
    EXPECT_LT(took, 10.0);
    EXPECT_FALSE(pg_restore_running_for(work_.path()));
    report("lock session terminated during the restore", code, took, "half restored, run failed");
}

TEST_F(Faults, AHundredSlowClientsDoNotKeepHealthFromAnsweringAndAreCut) {
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    auto [web, port] = serve();
    ASSERT_NE(port, 0) << web->output();
    auto open_client = [&] {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        return connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? s : (close(s), -1);
    };
    // Fifty send a header line now and then and never finish; fifty connect and say nothing.
    std::vector<int> slow, idle;
    for (int i = 0; i < 50; ++i) {
        slow.push_back(open_client());
        idle.push_back(open_client());
        ASSERT_GE(slow.back(), 0);
        ASSERT_GE(idle.back(), 0);
        const std::string start = "GET /status HTTP/1.1\r\nHost: x\r\n";
        ASSERT_GT(write(slow.back(), start.data(), start.size()), 0);
    }
    std::atomic<bool> done{false};
    std::thread dribble([&] {
        while (!done) {
            for (int s : slow) (void)!send(s, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    });
    for (int i = 0; i < 5; ++i) {
        auto t = Clock::now();
        EXPECT_NE(pixtest::http_get(port, "/health").find("HTTP/1.1 200"), std::string::npos);
        EXPECT_LT(since(t), 1.0) << "round " << i;
        auto t2 = Clock::now();
        EXPECT_NE(read_as_operator(port, "/status").find("\"runs\""), std::string::npos);
        EXPECT_LT(since(t2), 5.0) << "round " << i;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    // The whole request has a deadline (10 s), however often a line comes: every one is cut.
    auto closed = [](int s) {
        char c;
        const auto n = recv(s, &c, 1, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno == ECONNRESET);
    };
    const auto t0 = Clock::now();
    std::size_t cut = 0;
    while (since(t0) < 15 && cut < slow.size() + idle.size()) {
        cut = 0;
        for (int s : slow) cut += closed(s) ? 1 : 0;
        for (int s : idle) cut += closed(s) ? 1 : 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    done = true;
    dribble.join();
    EXPECT_EQ(cut, slow.size() + idle.size()) << "slow and idle clients are closed by the server";
    for (int s : slow) close(s);
    for (int s : idle) close(s);
    web->signal(SIGTERM);
    EXPECT_EQ(web->wait_exit(5), 143) << web->output();
}
