#pragma once
// Shared by the replication tests: source databases and their backups (built once per test
// program), content checksums, and a fixture giving each test a fresh non-superuser target
// holding a marker table (the "last good copy" that bad input must not destroy).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "harness.hpp"

namespace fs = std::filesystem;
using pixtest::Result;
using pixtest::TempDir;
using pixtest::TempPostgres;

namespace pixtest_fixture {

inline const std::string kLocal = std::string(PIXREP_SOURCE_DIR) + "/config/local.toml";

// Source databases and their backups, built once per test program.
struct Sources {
    TempDir dir;
    fs::path pix_tar, pix_dump, orig_tar;
    Sources() {
        auto& pg = TempPostgres::instance();
        pg.exec("postgres", "DROP DATABASE IF EXISTS pix_src");
        pg.exec("postgres", "CREATE DATABASE pix_src");
        auto r = pixtest::run_cmd({TempPostgres::bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "rows=3000", "-d",
                                   pg.url("pix_src"), "-f", std::string(PIXREP_SOURCE_DIR) + "/tests/fixtures/pix-shaped.sql"});
        if (r.code != 0) throw std::runtime_error("fixture load failed: " + r.out);
        pg.exec("postgres", "DROP DATABASE IF EXISTS orig_src");
        pg.exec("postgres", "CREATE DATABASE orig_src");
        pg.exec("orig_src", R"SQL(
            CREATE TABLE test_table (id integer PRIMARY KEY);
            INSERT INTO test_table SELECT generate_series(1, 100000);
            COMMENT ON TABLE test_table IS 'table de test';
            CREATE TABLE users (id serial PRIMARY KEY, "createdAt" timestamptz NOT NULL DEFAULT now());
            CREATE TABLE "schooling-registrations" (id serial PRIMARY KEY, "userId" integer REFERENCES users(id));
            CREATE TABLE answers (id serial PRIMARY KEY, "challengeId" text);
            CREATE TABLE "knowledge-elements" (id serial PRIMARY KEY, "createdAt" timestamptz NOT NULL DEFAULT now());
            INSERT INTO users DEFAULT VALUES; INSERT INTO "schooling-registrations" ("userId") VALUES (1);
            INSERT INTO answers ("challengeId") VALUES ('rec1'), ('rec2');
            INSERT INTO "knowledge-elements" DEFAULT VALUES;)SQL");
        pix_dump = dump("pix_src", "20261124010203_pix.pgsql");
        pix_tar = pack(pix_dump, "pix.tar.gz");
        orig_tar = pack(dump("orig_src", "20261124010203_orig.pgsql"), "orig.tar.gz");
    }
    fs::path dump(const std::string& db, const std::string& name) {
        auto out = dir / name;
        auto r = pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-Fc", "-d", TempPostgres::instance().url(db), "-f", out.string()});
        if (r.code != 0) throw std::runtime_error("pg_dump failed: " + r.out);
        return out;
    }
    // As Scalingo packs its backups: a gzip'd tar whose entry is "./<name>.pgsql".
    fs::path pack(const fs::path& dump, const std::string& name) {
        auto out = dir / name;
        auto r = pixtest::run_cmd({"tar", "czf", out.string(), "-C", dump.parent_path().string(), "./" + dump.filename().string()});
        if (r.code != 0) throw std::runtime_error("tar failed: " + r.out);
        return out;
    }
};

inline Sources& sources() {
    static Sources s;
    return s;
}

inline std::map<std::string, std::string> contents(const std::string& url) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    std::map<std::string, std::string> out;
    for (const auto& row : tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")) {
        auto t = c.quote_name(row[0].as<std::string>());
        auto r = tx.exec("SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM " + t + " x");
        out[row[0].as<std::string>()] = r[0][0].as<std::string>();
    }
    for (const auto& row : tx.exec("SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'"))
        out["seq:" + row[0].as<std::string>()] = row[1].as<std::string>();
    return out;
}

inline long long count(const std::string& url, const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    return tx.exec(sql)[0][0].as<long long>();
}

class Replication : public ::testing::Test {
protected:
    void SetUp() override {
        sources();
        static int n = 0;
        db_ = "target_" + std::to_string(++n);
        target_ = TempPostgres::instance().create_target(db_, "replica_" + std::to_string(n), "s3cr3t-pw");
        // The last good copy, which bad input must never destroy.
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        tx.exec("CREATE TABLE keep_me (x integer); INSERT INTO keep_me VALUES (42)");
    }
    Result replicate(const fs::path& backup, std::map<std::string, std::string> env = {}, std::vector<std::string> args = {"run"},
                     const std::string& config = kLocal) {
        env["DATABASE_URL"] = env.count("DATABASE_URL") ? env["DATABASE_URL"] : target_;
        env["BACKUP_FILE"] = backup.string();
        env.emplace("REPLICATION_WORK_DIR", work_.path().string());
        std::vector<std::string> full{"--config", config};
        full.insert(full.end(), args.begin(), args.end());
        auto r = pixtest::run_tool(full, env);
        EXPECT_EQ(r.out.find("s3cr3t-pw"), std::string::npos) << "password leaked:\n" << r.out;
        return r;
    }
    bool has_table(const std::string& t) { return count(target_, "SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tablename='" + t + "'") == 1; }
    // A run that failed: its exit code, a message naming the culprit, and the last good copy intact.
    void expect_failed(const Result& r, int code, const std::string& message) {
        EXPECT_EQ(r.code, code) << r.out;
        EXPECT_NE(r.out.find(message), std::string::npos) << r.out;
        expect_untouched(r);
    }
    // Bad input (exit code 2) from a local backup.
    Result expect_refused(const fs::path& backup, const std::string& message, std::map<std::string, std::string> env = {}) {
        auto r = replicate(backup, std::move(env));
        expect_failed(r, 2, message);
        return r;
    }
    void expect_untouched(const Result& r) {
        EXPECT_TRUE(has_table("keep_me")) << r.out;
        if (has_table("keep_me")) EXPECT_EQ(count(target_, "SELECT x FROM keep_me"), 42);
        EXPECT_EQ(r.out.find("dropped every object"), std::string::npos) << r.out;
        // The dump is written under its own name from its first byte: none may outlive the run.
        EXPECT_TRUE(!fs::exists(work_.path()) ||
                    std::none_of(fs::recursive_directory_iterator(work_.path()), fs::recursive_directory_iterator(),
                                 [](const auto& e) { return e.path().extension() == ".pgsql"; }))
            << "a dump was left in the work directory";
    }
    // The real binary in the background, with the fixture's target, work directory and backup.
    std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) {
        extra.emplace("DATABASE_URL", target_);
        extra.emplace("BACKUP_FILE", sources().orig_tar.string());
        extra.emplace("REPLICATION_WORK_DIR", work_.path().string());
        extra.emplace("REPLICATION_CONFIG", kLocal);
        return pixtest::tool_env(extra);
    }
    std::unique_ptr<pixtest::Background> start(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {}) {
        std::vector<std::string> argv{PIXREP_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        return std::make_unique<pixtest::Background>(argv, env(std::move(extra)));
    }
    // `serve` on a free port: the process, and the port it said it listens on (0 when it did not).
    std::pair<std::unique_ptr<pixtest::Background>, int> serve(std::map<std::string, std::string> extra = {}) {
        extra.emplace("PORT", "0");
        extra.emplace("STATUS_TOKEN", kStatusToken);
        auto web = start({"serve"}, std::move(extra));
        auto line = web->wait_for("\"msg\":\"web endpoint listening\"", 10);
        const int port = line.empty() ? 0 : nlohmann::json::parse(line)["port"].get<int>();
        return {std::move(web), port};
    }
    // GET `path` of `serve` with STATUS_TOKEN: what an operator sees, not the public facts.
    static std::string read_as_operator(int port, const std::string& path) {
        return pixtest::http_request(port, "GET", path, {"Authorization: Bearer " + std::string(kStatusToken)}, "");
    }
    static constexpr const char* kStatusToken = "status-token-of-the-tests-0815";
    // Makes every CREATE TABLE of the restore take `seconds` (an event trigger owned by the superuser).
    void slow_restore(int seconds) {
        TempPostgres::instance().exec(db_, "CREATE FUNCTION public.slow() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER "
                                           "SET search_path = public AS $$ BEGIN PERFORM pg_sleep(" + std::to_string(seconds) + "); END $$; "
                                           "CREATE EVENT TRIGGER slow ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.slow()");
    }
    long long advisory_locks() {
        return count(TempPostgres::instance().url("postgres"), "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'");
    }
    std::string db_, target_;
    TempDir work_;
};

// True while a pg_restore reading from `work_dir` runs.
inline bool pg_restore_running_for(const fs::path& work_dir) {
    for (const auto& e : fs::directory_iterator("/proc")) {
        auto cmdline = pixtest::read_file(e.path() / "cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find("pg_restore") != std::string::npos && cmdline.find(work_dir.string()) != std::string::npos) return true;
    }
    return false;
}

}  // namespace pixtest_fixture
using namespace pixtest_fixture;
