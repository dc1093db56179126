// Where its users run: PostgreSQL 15 (Debian 12) and 17 (Debian 13, new Scalingo addons), as
// backup and as target, each way, and 18 (forky) as a target; the pg_restore the tool picks; and a backup no installed
// pg_restore can read, refused before anything is touched.
#include <cstdlib>

#include "replication_fixture.hpp"

namespace {

// pix-shaped, on the PostgreSQL `major` server, dumped by its own pg_dump (archive format 1.16).
struct NewerSource {
    TempDir dir;
    fs::path dump;
    explicit NewerSource(int major) {
        const std::string m = std::to_string(major);
        auto& pg = TempPostgres::instance(major);
        pg.exec("postgres", "DROP DATABASE IF EXISTS pix_src");
        pg.exec("postgres", "CREATE DATABASE pix_src");
        auto r = pixtest::run_cmd({TempPostgres::bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "rows=3000", "-d", pg.url("pix_src"),
                                   "-f", std::string(PIXREP_SOURCE_DIR) + "/tests/fixtures/pix-shaped.sql"});
        if (r.code != 0) throw std::runtime_error("fixture load on PostgreSQL " + m + " failed: " + r.out);
        dump = dir / ("20261124010203_pix" + m + ".pgsql");
        r = pixtest::run_cmd({TempPostgres::bin("pg_dump", major), "-Fc", "-d", pg.url("pix_src"), "-f", dump.string()});
        if (r.code != 0) throw std::runtime_error("pg_dump " + m + " failed: " + r.out);
    }
};

NewerSource& sources17() {
    static NewerSource s(17);
    return s;
}

NewerSource& sources18() {
    static NewerSource s(18);
    return s;
}

// Comments on the tables and columns of public.
// The source's comments (post-sql's mark on the index it adds is the tool's).
long long comments(const std::string& url) {
    return count(url, "SELECT count(*) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE d.classoid = 'pg_class'::regclass AND n.nspname = 'public' AND d.description NOT LIKE 'made by pix-db-replication step %'");
}

class Versions : public ::testing::Test {
protected:
    // A fresh non-superuser target on the server of version `major`, holding the last good copy.
    std::string target(int major) {
        static int n = 0;
        auto url = TempPostgres::instance(major).create_target("v" + std::to_string(major) + "_" + std::to_string(++n),
                                                               "vr" + std::to_string(major) + "_" + std::to_string(n), "s3cr3t-pw");
        pqxx::connection c(url);
        pqxx::nontransaction tx(c);
        tx.exec("CREATE TABLE keep_me (x integer); INSERT INTO keep_me VALUES (42)");
        return url;
    }
    // Runs with PostgreSQL 17's tools on PATH beside Debian 12's: the tool must pick the newest.
    Result replicate(const fs::path& dump, const std::string& url, std::map<std::string, std::string> env = {},
                     std::vector<std::string> args = {"run"}) {
        env["DATABASE_URL"] = url;
        env["BACKUP_FILE"] = dump.string();
        env["REPLICATION_WORK_DIR"] = work_.path().string();
        env["RESTORE_FK_CONSTRAINTS"] = "true";
        env["RESTORE_ANSWERS_AND_KES"] = "true";
        env.emplace("PATH", TempPostgres::bin_dir(17) + ":" + std::getenv("PATH"));
        std::vector<std::string> full{"--config", kLocal};
        full.insert(full.end(), args.begin(), args.end());
        auto r = pixtest::run_tool(full, env);
        EXPECT_EQ(r.out.find("s3cr3t-pw"), std::string::npos) << r.out;
        return r;
    }
    // Table by table (rows and checksums), sequences, comments.
    void expect_same(const std::string& source, const std::string& copy) {
        auto want = contents(source), got = contents(copy);
        for (const auto& [name, value] : want) EXPECT_EQ(got[name], value) << name;
        EXPECT_EQ(got.size(), want.size());
        EXPECT_EQ(comments(copy), comments(source));
        EXPECT_EQ(count(copy, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"), count(source, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"));
    }
    TempDir work_;
};

}  // namespace

TEST_F(Versions, Dump15IntoTarget17) {
    auto url = target(17);
    auto r = replicate(sources().pix_dump, url);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(TempPostgres::instance(15).url("pix_src"), url);
    EXPECT_NE(r.out.find("\"pg_restore\":\"17."), std::string::npos) << "the newest pg_restore found:\n" << r.out;
}

TEST_F(Versions, Dump17IntoTarget15) {
    auto url = target(15);
    auto r = replicate(sources17().dump, url);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(TempPostgres::instance(17).url("pix_src"), url);
    EXPECT_NE(r.out.find("\"archive_version\":\"1.16\""), std::string::npos);
    // In place, pg_restore 17 sends SET transaction_timeout, which PostgreSQL 15 does not know: not a failure.
    r = replicate(sources17().dump, url, {{"REFRESH", "in-place"}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(TempPostgres::instance(17).url("pix_src"), url);
    EXPECT_NE(r.out.find("does not know session settings pg_restore 17"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("transaction_timeout"), std::string::npos);
    EXPECT_NE(r.out.find("\"archive_version\":\"1.16\""), std::string::npos);
}

TEST_F(Versions, Dump17IntoTarget17) {
    auto url = target(17);
    auto r = replicate(sources17().dump, url);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(TempPostgres::instance(17).url("pix_src"), url);
    EXPECT_EQ(r.out.find("does not know session settings"), std::string::npos) << r.out;
}

TEST_F(Versions, Dump18AndDump15IntoTarget18) {
    // PostgreSQL 18 (forky) as a target, with its pg_restore first on PATH: its own dump, then
    // Debian 12's, each built beside and swapped in.
    const std::string path = TempPostgres::bin_dir(18) + ":" + std::getenv("PATH");
    auto url = target(18);
    auto r = replicate(sources18().dump, url, {{"PATH", path}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(TempPostgres::instance(18).url("pix_src"), url);
    EXPECT_NE(r.out.find("\"pg_restore\":\"18."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tonight's copy swapped in"), std::string::npos) << r.out;
    r = replicate(sources().pix_dump, url, {{"PATH", path}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(TempPostgres::instance(15).url("pix_src"), url);
}

TEST_F(Versions, ARealErrorIntoAnOlderServerIsStillAFailure) {
    auto url = target(15);
    TempPostgres::instance(15).exec(url.substr(url.rfind('/') + 1),
                                    "CREATE FUNCTION no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no views'; END $$; "
                                    "CREATE EVENT TRIGGER no_views ON ddl_command_start WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION no_views()");
    auto r = replicate(sources17().dump, url);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("building tonight's copy: VIEW"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("no views"), std::string::npos);
}

TEST_F(Versions, ABackupOnlyANewerPgRestoreReadsIsRefusedBeforeAnything) {
    auto url = target(15);
    auto r = replicate(sources17().dump, url, {{"PG_RESTORE_BIN", "/usr/lib/postgresql/15/bin/pg_restore"}});
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("uses archive format 1.16, which pg_restore 15."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("install postgresql-client-17"), std::string::npos);
    EXPECT_EQ(r.out.find("dropped every object"), std::string::npos);
    EXPECT_EQ(count(url, "SELECT x FROM keep_me"), 42);
    // The same with only Debian 12's tools installed: PATH without PostgreSQL 17.
    r = replicate(sources17().dump, url, {{"PATH", "/usr/bin:/bin"}});
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("which pg_restore 15."), std::string::npos) << r.out;
    EXPECT_EQ(count(url, "SELECT x FROM keep_me"), 42);
}

TEST_F(Versions, CheckAndPlanSayWhichPgRestoreARunUses) {
    auto url = target(15);
    auto check = replicate(sources17().dump, url, {}, {"check"});
    ASSERT_EQ(check.code, 0) << check.out;
    EXPECT_NE(check.out.find("pg_restore: " + TempPostgres::bin_dir(17) + "/pg_restore (17."), std::string::npos) << check.out;
    auto plan = replicate(sources17().dump, url, {}, {"plan"});
    ASSERT_EQ(plan.code, 0) << plan.out;
    EXPECT_NE(plan.out.find("made by pg_dump 17."), std::string::npos) << plan.out;
    EXPECT_NE(plan.out.find("restored with pg_restore 17."), std::string::npos) << plan.out;
}
