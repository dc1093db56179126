// What a close read and a user's week found, each as a real run on a real PostgreSQL: access
// as the DBA left it (a revoke after a failed run, column grants, other grantors, PUBLIC), an
// operator's backup inside the work directory, the page without a database, errors that cannot
// heal, children's environment, a frozen server.
#include <csignal>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "replication_fixture.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Week = Replication;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool can_read(const std::string& url, const std::string& sql) {
    try {
        pqxx::connection c(url);
        pqxx::nontransaction tx(c);
        tx.exec(sql);
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

// Until the drop waits for a reader's lock (30 s at most).
void wait_for_the_drop_to_wait() {
    for (auto t = Clock::now(); since(t) < 30; std::this_thread::sleep_for(std::chrono::milliseconds(100)))
        if (count(TempPostgres::instance().url("postgres"), "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                                            "'pix-db-replication drop-objects' AND wait_event_type = 'Lock'") > 0)
            return;
}

// SIGSTOP to every backend serving the tool, as a frozen server: the kernel still answers TCP.
std::vector<int> freeze_the_tools_backends() {
    std::vector<int> frozen;
    pqxx::connection admin(TempPostgres::instance().url("postgres"));
    pqxx::nontransaction tx(admin);
    for (const auto& row : tx.exec("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'pix-db-replication%'"))
        frozen.push_back(row[0].as<int>());
    for (int b : frozen) ::kill(b, SIGSTOP);
    return frozen;
}

void as_owner(const std::string& target, const std::string& sql) {
    pqxx::connection c(target);
    pqxx::nontransaction tx(c);
    tx.exec(sql);
}

}  // namespace

TEST_F(Week, ARevokeAfterARunThatFailedBeforeItsDropStaysRevoked) {
    auto& pg = TempPostgres::instance();
    const std::string analyst = "analyst_w1_" + db_;
    pg.exec("postgres", "DROP ROLE IF EXISTS " + analyst + "; CREATE ROLE " + analyst + " LOGIN PASSWORD 'ro'");
    const std::string url = pg.url(db_, analyst, "ro");
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    as_owner(target_, "GRANT USAGE ON SCHEMA public TO " + analyst + "; GRANT SELECT ON test_table, users TO " + analyst);
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    ASSERT_TRUE(can_read(url, "SELECT * FROM users"));
    {
        // A reader's lock past DROP_LOCK_TIMEOUT: the run fails before its drop. On users,
        // rebuilt (as a table that changed would be) rather than reused.
        pqxx::connection reader(pg.url(db_));
        pqxx::work tx(reader);
        tx.exec("SELECT * FROM users LIMIT 1");
        auto r = replicate(sources().orig_tar, {{"DROP_LOCK_TIMEOUT", "2s"}, {"REUSE_UNCHANGED_TABLES", "false"}});
        ASSERT_EQ(r.code, 1) << r.out;
    }
    as_owner(target_, "REVOKE SELECT ON users FROM " + analyst);  // the DBA's decision
    auto r = replicate(sources().orig_tar, {{"REUSE_UNCHANGED_TABLES", "false"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_FALSE(can_read(url, "SELECT * FROM users")) << "the revoked grant came back";
    EXPECT_TRUE(can_read(url, "SELECT * FROM test_table"));
}

TEST_F(Week, ColumnGrantsGrantsByOthersAndNeverPublic) {
    auto& pg = TempPostgres::instance();
    const std::string analyst = "analyst_w2_" + db_, dba = "dba_w2_" + db_, viewer = "viewer_w2_" + db_;
    for (const auto& role : {analyst, dba, viewer})
        pg.exec("postgres", "DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN PASSWORD 'ro'");
    const std::map<std::string, std::string> big{{"RESTORE_ANSWERS_AND_KES", "true"}};
    ASSERT_EQ(replicate(sources().pix_tar, big).code, 0);
    // Personal data hidden by column grants; a DBA granting with the grant option; PUBLIC.
    as_owner(target_, "GRANT USAGE ON SCHEMA public TO PUBLIC; GRANT SELECT (id, \"createdAt\") ON users TO " + analyst +
                          "; GRANT SELECT ON assessments TO " + dba + " WITH GRANT OPTION; GRANT SELECT ON answers TO PUBLIC");
    {
        pqxx::connection c(pg.url(db_, dba, "ro"));
        pqxx::nontransaction tx(c);
        tx.exec("GRANT SELECT ON assessments TO " + viewer);
    }
    auto r = replicate(sources().pix_tar, big);
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string a = pg.url(db_, analyst, "ro");
    EXPECT_TRUE(can_read(a, "SELECT id, \"createdAt\" FROM users")) << "the column grant was lost";
    EXPECT_FALSE(can_read(a, "SELECT email FROM users")) << "the column grant widened";
    EXPECT_TRUE(can_read(pg.url(db_, viewer, "ro"), "SELECT count(*) FROM assessments")) << "the other grantor's grant was lost";
    EXPECT_EQ(count(pg.url(db_), "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' "
                                 "AND table_schema = 'public'"), 0)
        << "something was granted to PUBLIC";
}

TEST_F(Week, ABackupKeptInTheWorkDirectoryIsNeverSwept) {
    auto kept = work_ / "20261124010203_pix.pgsql";
    fs::copy_file(sources().pix_dump, kept);
    auto r = replicate(kept);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(fs::exists(kept)) << "the operator's backup was deleted";
    EXPECT_TRUE(has_table("users"));
}

TEST_F(Week, ThePageAnswersWhateverTheDatabaseAndTheFilesSay) {
    // The database does not answer; the last run's file lacks its start.
    pixtest::write_file(work_ / "last-run.json", R"({"status":"failure","steps":{"local-file":1.5},"error":"boom"})");
    auto [web, port] = serve({{"DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/db?connect_timeout=1"}});
    ASSERT_NE(port, 0) << web->output();
    auto page = read_as_operator(port, "/");
    EXPECT_NE(page.find("HTTP/1.1 200"), std::string::npos) << page;
    EXPECT_NE(page.find("boom"), std::string::npos) << page;
    EXPECT_EQ(pixtest::http_get(port, "/").find("boom"), std::string::npos) << "errors are for those with a token";
    EXPECT_NE(pixtest::http_get(port, "/health").find("HTTP/1.1 200"), std::string::npos) << web->output();
    web->signal(SIGTERM);
    EXPECT_EQ(web->wait_exit(5), 143) << web->output();
}

TEST_F(Week, SqlErrorsOfTheRestoreAndOfPostSqlAreNotRetried) {
    // An SQL error fails the same way at every attempt: one attempt, exit 1, and the history
    // and the page show the statement and message, not the rows it quotes.
    TempPostgres::instance().exec(db_, "CREATE FUNCTION no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
                                       "RAISE EXCEPTION 'no views today' USING DETAIL = 'Failing row contains (jane@example.org)'; END $$; "
                                       "CREATE EVENT TRIGGER no_views ON ddl_command_start WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION no_views()");
    auto t0 = Clock::now();
    auto r = replicate(sources().orig_tar, {{"MAX_RETRY_COUNT", "3"}, {"RETRY_MIN_DELAY", "5s"}});
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("no views today"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("attempt 1 failed"), std::string::npos) << "retried:\n" << r.out;
    EXPECT_LT(since(t0), 5.0);
    auto error = TempPostgres::instance().scalar(db_, "SELECT error FROM pix_db_replication.runs ORDER BY id DESC LIMIT 1");
    EXPECT_NE(error.find("no views today"), std::string::npos) << error;
    EXPECT_EQ(error.find("jane@example.org"), std::string::npos) << error;
}

TEST_F(Week, ChildrenGetNoSecretOfTheTool) {
    // A pg_restore that writes down its environment, then does its work.
    TempDir dir;
    const auto seen = dir / "env.txt", wrapper = dir / "pg_restore";
    pixtest::write_file(wrapper, "#!/bin/sh\nenv >> " + seen.string() + "\nexec " + TempPostgres::bin("pg_restore") + " \"$@\"\n");
    fs::permissions(wrapper, fs::perms::owner_all);
    auto r = replicate(sources().orig_tar, {{"PG_RESTORE_BIN", wrapper.string()}, {"SCALINGO_API_TOKEN", "tk-us-never-in-a-child"}});
    ASSERT_EQ(r.code, 0) << r.out;
    auto env = pixtest::read_file(seen);
    EXPECT_NE(env.find("PATH="), std::string::npos) << env;
    for (const char* secret : {"tk-us-never-in-a-child", "DATABASE_URL=", "SCALINGO_API_TOKEN=", "BACKUP_FILE="})
        EXPECT_EQ(env.find(secret), std::string::npos) << secret << " reached a child:\n" << env;
}

TEST_F(Week, AFrozenServerLosesTheLockAndAStopAlwaysEnds) {
    // The backend of the lock's session stops answering (stuck I/O, a frozen VM: the kernel
    // still answers TCP): its keepalive has a deadline, the run stops, pg_restore with it.
    slow_restore(30);
    auto p = start({"run"}, {{"LOCK_KEEPALIVE", "1s"}});
    ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
    auto pid = TempPostgres::instance().scalar("postgres", "SELECT pid FROM pg_stat_activity WHERE application_name = 'pix-db-replication lock'");
    ASSERT_FALSE(pid.empty());
    ::kill(std::stoi(pid), SIGSTOP);
    auto t0 = Clock::now();
    int code = p->wait_exit(30);
    double took = since(t0);
    ::kill(std::stoi(pid), SIGCONT);
    EXPECT_EQ(code, 1) << p->output();
    EXPECT_NE(p->output().find("lost the session holding the run's lock"), std::string::npos) << p->output();
    EXPECT_LT(took, 20.0);
    std::printf("FAULT lock session's server frozen: exit %d, %.1fs\n", code, took);

    for (auto t = Clock::now(); advisory_locks() > 0 && since(t) < 10;) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Every backend of the target frozen during the drop, then SIGTERM: the process ends
    // within STOP_GRACE whatever call it is blocked in.
    as_owner(target_, "CREATE TABLE hold_me (x integer)");
    pqxx::connection reader(TempPostgres::instance().url(db_));
    pqxx::work tx(reader);
    tx.exec("SELECT * FROM hold_me");
    auto q = start({"run"}, {{"STOP_GRACE", "3"}});
    wait_for_the_drop_to_wait();
    auto frozen = freeze_the_tools_backends();
    auto t1 = Clock::now();
    q->signal(SIGTERM);
    int qcode = q->wait_exit(15);
    double qtook = since(t1);
    for (int b : frozen) ::kill(b, SIGCONT);
    tx.abort();
    EXPECT_EQ(qcode, 143) << q->output();
    EXPECT_LT(qtook, 8.0) << q->output();
    EXPECT_TRUE(has_table("hold_me")) << "the drop committed";
    std::printf("FAULT target frozen during the drop, SIGTERM: exit %d, %.1fs\n", qcode, qtook);
}

TEST_F(Week, AnAnalystsViewsOverTheReplicaAreNamedAndMadeAgain) {
    auto& pg = TempPostgres::instance();
    const std::string analyst = "analyst_w3_" + db_, other = "other_w3_" + db_;
    const std::string role = pg.scalar(db_, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()");
    for (const auto& r : {analyst, other}) pg.exec("postgres", "DROP ROLE IF EXISTS " + r + "; CREATE ROLE " + r + " LOGIN PASSWORD 'ro'");
    pg.exec("postgres", "GRANT " + analyst + " TO " + role);  // the target role may act as the analyst, not as the other
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    as_owner(target_, "GRANT USAGE ON SCHEMA public TO " + analyst + ", " + other + "; GRANT SELECT ON test_table, users TO " + analyst +
                          ", " + other);
    pg.exec(db_, "CREATE SCHEMA lab AUTHORIZATION " + analyst + "; CREATE SCHEMA lab2 AUTHORIZATION " + other);
    {
        pqxx::connection c(pg.url(db_, analyst, "ro"));
        pqxx::nontransaction tx(c);
        tx.exec("CREATE VIEW lab.big AS SELECT id FROM public.test_table WHERE id > 99990; CREATE VIEW lab.bigger AS SELECT * FROM lab.big");
    }
    {
        pqxx::connection c(pg.url(db_, other, "ro"));
        pqxx::nontransaction tx(c);
        tx.exec("CREATE VIEW lab2.everyone AS SELECT count(*) FROM public.users");
    }
    auto r = replicate(sources().orig_tar);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("3 view(s) of other roles over the replica go with the drop: lab.big (owner " + analyst), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("views of other roles made again after the restore: lab.big, lab.bigger"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("views of other roles lost with the drop (their owner must make them again): lab2.everyone"), std::string::npos)
        << r.out;
    EXPECT_EQ(count(pg.url(db_, analyst, "ro"), "SELECT count(*) FROM lab.bigger"), 10);
    EXPECT_EQ(pg.scalar(db_, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'lab.bigger'::regclass"), analyst);
}

TEST_F(Week, AFrozenServerDuringTheDropEndsTheRunWithoutASignal) {
    // Every backend of the tool frozen while the drop waits for a reader's lock: the lock's
    // keepalive gets no answer, the lock counts as lost, and since the drop's statement cannot
    // be interrupted the process ends STOP_GRACE later, exit 1, the last copy intact.
    as_owner(target_, "CREATE TABLE hold_me (x integer)");
    pqxx::connection reader(TempPostgres::instance().url(db_));
    pqxx::work tx(reader);
    tx.exec("SELECT * FROM hold_me");
    auto p = start({"run"}, {{"STOP_GRACE", "3"}, {"LOCK_KEEPALIVE", "1s"}});
    wait_for_the_drop_to_wait();
    auto frozen = freeze_the_tools_backends();
    ASSERT_GE(frozen.size(), 2u);
    auto t0 = Clock::now();
    int code = p->wait_exit(30);
    double took = since(t0);
    for (int b : frozen) ::kill(b, SIGCONT);
    tx.abort();
    EXPECT_EQ(code, 1) << p->output();
    EXPECT_NE(p->output().find("lost the session holding the run's lock"), std::string::npos) << p->output();
    EXPECT_LT(took, 15.0) << p->output();
    EXPECT_TRUE(has_table("hold_me")) << "the drop committed";
    std::printf("FAULT target frozen during the drop, no signal: exit %d, %.1fs\n", code, took);
}

TEST_F(Week, AFailureWhoseMessageIsLongAndNotAsciiIsRecordedAsOne) {
    // 700 × "é" from the SQL after the restore: the history keeps the error cut between
    // characters, and the run is a failure in the table, never left "running".
    TempDir dir;
    const auto config = dir / "accents.toml";
    std::ofstream(config) << pixtest::read_file(kLocal)
                          << "\n[[steps]]\nplugin = \"post-sql\"\nstatements = [\"DO 'BEGIN RAISE EXCEPTION ''%'', repeat(''é'', 700); END'\"]\n";
    auto r = replicate(sources().orig_tar, {}, {"run"}, config.string());
    EXPECT_EQ(r.code, 1) << r.out;
    auto& pg = TempPostgres::instance();
    EXPECT_EQ(pg.scalar(db_, "SELECT status FROM pix_db_replication.runs ORDER BY id DESC LIMIT 1"), "failure") << r.out;
    const auto error = pg.scalar(db_, "SELECT error FROM pix_db_replication.runs ORDER BY id DESC LIMIT 1");
    EXPECT_NE(error.find("éé"), std::string::npos) << error;
    EXPECT_LE(error.size(), 600u);
}
