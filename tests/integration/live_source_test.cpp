// A live source (postgres-source, config/live.toml): the production database itself, read by a
// role that may only read, from one snapshot, into a non-superuser target built beside
// yesterday's copy. Sources and targets on PostgreSQL 15, 17 and 18.
#include <atomic>
#include <cstdlib>
#include <thread>

#include "replication_fixture.hpp"

namespace {

const std::string kLive = std::string(PIXREP_SOURCE_DIR) + "/config/live.toml";
const std::string kSourcePassword = "src-pw-9b1";

// A pix-shaped database on the server of version `major`, with a role that may only read it.
struct LiveDb {
    int major;
    std::string db, role;
    LiveDb(int major_, const std::string& name, int rows = 3000) : major(major_), db(name), role("reader_" + name) {
        auto& pg = TempPostgres::instance(major);
        pg.exec("postgres", "DROP DATABASE IF EXISTS " + db);
        pg.exec("postgres", "CREATE DATABASE " + db);
        auto r = pixtest::run_cmd({TempPostgres::bin("psql", major), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "rows=" + std::to_string(rows),
                                   "-d", pg.url(db), "-f", std::string(PIXREP_SOURCE_DIR) + "/tests/fixtures/pix-shaped.sql"});
        if (r.code != 0) throw std::runtime_error("fixture load failed: " + r.out);
        pg.exec("postgres", "DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN PASSWORD '" + kSourcePassword + "'");
        // As Scalingo makes a read-only user: it reads, and owns nothing.
        pg.exec(db, "GRANT USAGE ON SCHEMA public TO " + role + "; GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role +
                        "; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO " + role);
    }
    std::string url() const { return TempPostgres::instance(major).url(db, role, kSourcePassword); }
    std::string admin() const { return TempPostgres::instance(major).url(db); }
    void exec(const std::string& sql) const { TempPostgres::instance(major).exec(db, sql); }
};

class LiveSource : public Replication {
protected:
    Result live(const LiveDb& src, std::map<std::string, std::string> env = {}, std::vector<std::string> args = {"run"}) {
        env.emplace("SOURCE_DATABASE_URL", src.url());
        env.emplace("RESTORE_FK_CONSTRAINTS", "true");
        env.emplace("RESTORE_ANSWERS_AND_KES", "true");
        env.emplace("MAX_RETRY_COUNT", "0");
        auto r = replicate("", std::move(env), std::move(args), kLive);
        EXPECT_EQ(r.out.find(kSourcePassword), std::string::npos) << "the source's password leaked:\n" << r.out;
        return r;
    }
    void expect_note(const Result& r, const std::string& note) { EXPECT_NE(r.out.find(note), std::string::npos) << "no '" << note << "' in:\n" << r.out; }
    void expect_same(const LiveDb& src, const std::string& target) {
        auto want = contents(src.admin()), got = contents(target);
        for (const auto& [name, value] : want) EXPECT_EQ(got[name], value) << name;
        EXPECT_EQ(got.size(), want.size());
        EXPECT_EQ(count(target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
                  count(src.admin(), "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"));
    }
};

}  // namespace

TEST_F(LiveSource, CopiesTheSourceFromOneSnapshotOnBoundedConnectionsWithNoDump) {
    LiveDb src(15, "live_a");
    // Two tables a writer fills in one transaction each, all through the run: read at two
    // instants, they would differ.
    src.exec("CREATE TABLE pair_a (id bigint PRIMARY KEY); CREATE TABLE pair_b (id bigint PRIMARY KEY); "
             "GRANT SELECT ON pair_a, pair_b TO " + src.role);
    std::atomic<bool> done{false};
    std::atomic<int> most_connections{0};
    std::thread writer([&] {
        pqxx::connection c(src.admin());
        for (long i = 1; !done; ++i) {
            pqxx::work tx(c);
            tx.exec("INSERT INTO pair_a VALUES (" + std::to_string(i) + "); INSERT INTO pair_b VALUES (" + std::to_string(i) + ")");
            tx.commit();
            if (i % 20 == 0) {
                pqxx::nontransaction q(c);
                int n = q.exec("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pix-db-replication source%'")[0][0].as<int>();
                most_connections = std::max(most_connections.load(), n);
            }
        }
    });
    auto r = live(src, {{"SOURCE_JOBS", "3"}, {"SOURCE_SPLIT_TABLES_LARGER_THAN", "1"}, {"PG_RESTORE_JOBS", "2"}});
    done = true;
    writer.join();
    ASSERT_EQ(r.code, 0) << r.out;
    // pair_* moved on after the run: compare the rest with the source, and the pair with itself.
    const long long a = count(target_, "SELECT count(*) FROM pair_a"), b = count(target_, "SELECT count(*) FROM pair_b");
    EXPECT_EQ(a, b) << "two tables read at two instants";
    EXPECT_GT(a, 0);
    src.exec("DROP TABLE pair_a, pair_b");
    {
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        tx.exec("DROP TABLE pair_a, pair_b");
    }
    expect_same(src, target_);
    EXPECT_FALSE(has_table("keep_me")) << "tonight's copy replaced yesterday's";
    EXPECT_NE(r.out.find("\"msg\":\"source snapshot taken\""), std::string::npos) << r.out;
    // Every table is over 1 byte: each one with an integer key is cut, by as many loads as run at once.
    EXPECT_NE(r.out.find("read in key ranges: public.answers ("), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.user-answers-stats (2 parts by userId)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"msg\":\"source snapshot let go\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("source_bytes"), std::string::npos) << r.out;
    EXPECT_GE(most_connections.load(), 1);
    EXPECT_LE(most_connections.load(), 3) << "SOURCE_JOBS bounds the connections to the source";
    EXPECT_EQ(r.out.find("TABLE DATA public.answers"), std::string::npos);
    // No dump of the rows: only pg_dump's schema went through the work directory.
    EXPECT_EQ(r.out.find(".pgsql\",\"format\":\"directory\""), std::string::npos);
    // The history says which connections were encrypted, and never names the source.
    EXPECT_NE(r.out.find("over a connection NOT encrypted"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("target connection not encrypted"), std::string::npos) << r.out;
    auto [web, port] = serve({{"SOURCE_DATABASE_URL", src.url()}});
    ASSERT_NE(port, 0) << web->output();
    for (const char* path : {"/", "/status"})
        for (const auto& answer : {read_as_operator(port, path), pixtest::http_get(port, path)}) {
            EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
            EXPECT_EQ(answer.find(src.role), std::string::npos) << path << " names the source's user";
            EXPECT_EQ(answer.find(src.db + "/"), std::string::npos) << path << " names the source's database";
            EXPECT_EQ(answer.find(kSourcePassword), std::string::npos) << path;
        }
}

TEST_F(LiveSource, TheSecondNightReadsOnlyTheRowsTheTargetLacks) {
    LiveDb src(15, "live_b");
    // Key 17, taken before the first night, is committed after it.
    src.exec("DELETE FROM \"knowledge-elements\" WHERE \"answerId\" = 17; DELETE FROM answers WHERE id = 17");
    const std::map<std::string, std::string> env{{"BACKUP_MODE", R"({"answers": "incremental"})"}};
    auto r = live(src, env);
    ASSERT_EQ(r.code, 0) << r.out;
    const long long total = count(src.admin(), "SELECT count(*) FROM answers");
    src.exec("INSERT INTO answers (id, \"challengeId\", \"assessmentId\", result, \"createdAt\") SELECT id + 100000, \"challengeId\", "
             "\"assessmentId\", result, \"createdAt\" FROM answers WHERE id <= 25");
    src.exec("INSERT INTO answers (id, \"challengeId\", \"assessmentId\", result, \"createdAt\") SELECT 17, \"challengeId\", "
             "\"assessmentId\", result, \"createdAt\" FROM answers WHERE id = 18");
    // Old rows moved to cold storage at the source (a whole range), and one here and there.
    src.exec("DELETE FROM \"knowledge-elements\" WHERE \"answerId\" BETWEEN 200 AND 260 OR \"answerId\" = 999; "
             "DELETE FROM answers WHERE id BETWEEN 200 AND 260 OR id = 999");
    r = live(src, env);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    EXPECT_NE(r.out.find("public.answers: 62 row(s) deleted at the source removed"), std::string::npos) << r.out;
    // 24 new rows above the largest key and the late one: read with a WHERE, never the whole table.
    EXPECT_NE(r.out.find("\"incremental.public.answers.rows_scanned\":25"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"incremental.public.answers.rows_committed_late\":1"), std::string::npos) << r.out;
    EXPECT_GT(total, 1000);
    EXPECT_NE(r.out.find("public.answers: counted in all 3001 of 3001 key ranges of 1 key(s)"), std::string::npos) << r.out;
    // The third night counts the source only in tonight's slice and the highest ranges, where a
    // row deleted among the recent ones is found; production is not read elsewhere, and the
    // target not at all: its statistics show only the tool's writes. Keys up to 100025 widen the
    // ranges to 8 keys: 12504 ranges, a slice of 1787 and the top 1% (126).
    src.exec("INSERT INTO answers (id, \"challengeId\", \"assessmentId\", result, \"createdAt\") SELECT id + 100025, \"challengeId\", "
             "\"assessmentId\", result, \"createdAt\" FROM answers WHERE id <= 5");
    src.exec("DELETE FROM \"knowledge-elements\" WHERE \"answerId\" = 100003; DELETE FROM answers WHERE id = 100003");
    r = live(src, env);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    expect_note(r, "public.answers: counted in 1913 of 12504 key ranges of 8 key(s) at the source: tonight's slice (2/7) and those where "
                   "rows committed late land; not on the target, its statistics show no write since the last run but the tool's");
    EXPECT_NE(r.out.find("\"incremental.public.answers.key_ranges_counted\":0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.answers: 1 row(s) deleted at the source removed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"incremental.public.answers.rows_scanned\":5"), std::string::npos) << r.out;
    // A row deleted by hand on the target, far from tonight's slice: the target is counted in
    // full, and the source only where the target changed besides (range 5, key 40).
    TempPostgres::instance().exec(db_, "SET session_replication_role = replica; DELETE FROM answers WHERE id = 40; "
                                       "SELECT pg_stat_force_next_flush()");
    r = live(src, env);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    expect_note(r, "public.answers: counted in all 12504 key ranges of 8 key(s) on the target, its statistics show writes the tool did not "
                   "make, and in 1914 at the source: tonight's slice (3/7), those where rows committed late land and those where the target changed");
    EXPECT_NE(r.out.find("\"incremental.public.answers.rows_committed_late\":1"), std::string::npos) << r.out;
}

// With no checksum of a table at the source, a table is proved unchanged in the snapshot: the
// source's statistics counted no write since, no visible row is newer than the last snapshot's
// xmin, and as many rows are visible. Statistics that lag (reset here) are only a shortcut.
TEST_F(LiveSource, ATableNoOneWroteKeepsYesterdaysCopyAndAWrittenOneIsRebuilt) {
    LiveDb src(15, "live_r");
    pqxx::connection admin(src.admin());
    auto stats_of = [&](const std::string& table) {
        pqxx::connection c(src.admin());
        pqxx::nontransaction q(c);
        return q.exec("SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relid = '" + table + "'::regclass")[0][0].as<long long>();
    };
    // Written, its statistics flushed, then wiped: only the count in the snapshot can tell.
    auto write_unseen = [&](const std::string& table, const std::string& sql) {
        pqxx::nontransaction q(admin);
        if (!sql.empty()) q.exec(sql);
        q.exec("SELECT pg_stat_force_next_flush()");
        q.exec("SELECT pg_stat_reset_single_table_counters('" + table + "'::regclass)");
        for (int i = 0; i < 100 && stats_of(table) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ASSERT_EQ(stats_of(table), 0) << table;
    };
    write_unseen("\"user-answers-stats\"", "");
    write_unseen("\"schooling-registrations\"", "");
    // Changed tables rebuilt, as when their changes are never applied in place (the next test).
    auto live = [&](const LiveDb& db) { return this->live(db, {{"REUSE_CHANGES_SHARE", "0"}}); };
    auto r = live(src);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"tables_reused\":0"), std::string::npos) << r.out;
    expect_same(src, target_);
    src.exec("UPDATE \"campaign-participations\" SET details = '{\"changed\": true}' WHERE id = 1");
    write_unseen("\"user-answers-stats\"", "DELETE FROM \"user-answers-stats\" WHERE \"userId\" = 3");
    const long long registrations = count(src.admin(), "SELECT count(*) FROM \"schooling-registrations\"");
    r = live(src);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    EXPECT_NE(r.out.find("public.schooling-registrations: reused, definition as at the last restore, and no row written at the source "
                         "since (" + std::to_string(registrations) + " rows)"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\"tables_reused\":1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.campaign-participations: rebuilt: written at the source since the last restore (its statistics count 1 row(s))"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("public.user-answers-stats: rebuilt: its rows changed: 299 row(s) at the source, 300 at the last restore"),
              std::string::npos)
        << r.out;
    // Tables the run always rebuilds: a function takes users' rows; answers-kes indexes the big ones.
    EXPECT_NE(r.out.find("public.users: rebuilt every night: it has a FUNCTION"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.answers: rebuilt: has indexes the backup does not make"), std::string::npos) << r.out;
    // A row added behind the statistics' back is found by the count; what did not change is reused.
    write_unseen("\"schooling-registrations\"", "INSERT INTO \"schooling-registrations\" (\"userId\", \"firstName\") VALUES (1, 'new')");
    r = live(src);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    EXPECT_NE(r.out.find("public.schooling-registrations: rebuilt: its rows changed: 1 row(s) written at the source since the last restore"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("public.campaign-participations: reused"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.user-answers-stats: reused"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"tables_reused\":2"), std::string::npos) << r.out;
}

TEST_F(LiveSource, ATableThatChangedALittleKeepsYesterdaysCopyAndTakesOnlyItsChanges) {
    LiveDb src(15, "live_c");
    ASSERT_EQ(live(src).code, 0);
    auto node = [&](const std::string& table) { return count(target_, "SELECT pg_relation_filenode('" + table + "')"); };
    const long long participations = node("\"campaign-participations\""), registrations = node("\"schooling-registrations\""),
                    stats = node("\"user-answers-stats\"");
    // An update and a delete; an insert; every row written (more than a rebuild costs).
    src.exec("UPDATE \"campaign-participations\" SET details = '{\"changed\": true}' WHERE id = 7; "
             "DELETE FROM \"campaign-participations\" WHERE id = 8");
    src.exec("INSERT INTO \"schooling-registrations\" (\"userId\", \"firstName\") VALUES (1, 'new')");
    src.exec("UPDATE \"user-answers-stats\" SET \"answersCount\" = \"answersCount\" + 1");
    auto r = live(src);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    expect_note(r, "public.campaign-participations: updated in place, 1 row(s) written at the source since the last restore and 1 deleted, "
                   "applied to yesterday's copy just before the swap (299 rows)");
    expect_note(r, "public.schooling-registrations: updated in place, 1 row(s) written at the source since the last restore and 0 deleted");
    EXPECT_NE(r.out.find("public.user-answers-stats: rebuilt: 300 of its 300 rows written at the source since the last restore: more than "
                         "a rebuild costs"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\"tables_updated\":2"), std::string::npos) << r.out;
    EXPECT_EQ(node("\"campaign-participations\""), participations) << "yesterday's table, its indexes and statistics";
    EXPECT_EQ(node("\"schooling-registrations\""), registrations);
    EXPECT_NE(node("\"user-answers-stats\""), stats);
    // The next night starts from tonight's snapshot: nothing written since, nothing applied again.
    r = live(src);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    EXPECT_NE(r.out.find("public.campaign-participations: reused"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.schooling-registrations: reused"), std::string::npos) << r.out;
    // A night that fails before its changes are applied leaves yesterday's rows; the next applies them.
    src.exec("UPDATE \"campaign-participations\" SET details = '{\"changed\": 2}' WHERE id = 9");
    TempPostgres::instance().exec(db_, "CREATE FUNCTION no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no views today'; END $$; "
                   "CREATE EVENT TRIGGER no_views ON ddl_command_start WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION no_views()");
    r = live(src);
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"campaign-participations\" WHERE details = '{\"changed\": 2}'"), 0);
    TempPostgres::instance().exec(db_, "DROP EVENT TRIGGER no_views; DROP FUNCTION no_views()");
    r = live(src);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    expect_note(r, "public.campaign-participations: updated in place, 1 row(s) written");
}

TEST_F(LiveSource, AnIndexPostSqlMadeStaysWithItsKeptTableUntilItsStatementChanges) {
    LiveDb src(15, "live_i");
    pixtest::TempDir dir;
    // config/live.toml, with post-sql's one statement an index on a table the fixture lets reuse keep.
    std::string config = pixtest::read_file(kLive);
    config = config.substr(0, config.find("statements = [")) + "statements = [\"@INDEX@\"]\n";
    auto run = [&](std::string index) {
        for (std::size_t at = 0; (at = index.find('"', at)) != std::string::npos; at += 2) index.insert(at, "\\");
        std::string text = config;
        text.replace(text.find("@INDEX@"), 7, index);
        pixtest::write_file(dir / "live.toml", text);
        const std::map<std::string, std::string> env{{"SOURCE_DATABASE_URL", src.url()}, {"RESTORE_FK_CONSTRAINTS", "true"},
                                                          {"RESTORE_ANSWERS_AND_KES", "true"}, {"MAX_RETRY_COUNT", "0"}};
        return replicate("", env, {"run"}, (dir / "live.toml").string());
    };
    auto index = [&] {
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        auto r = tx.exec("SELECT pg_get_indexdef(c.oid) || ' / ' || coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c "
                         "WHERE c.relname = 'registrations_first_idx'");
        return r.empty() ? std::string("none") : r[0][0].as<std::string>();
    };
    auto node = [&] { return count(target_, "SELECT pg_relation_filenode('\"schooling-registrations\"')"); };
    const std::string by_name = R"(CREATE INDEX registrations_first_idx ON "schooling-registrations" ("firstName"))";
    auto r = run(by_name);
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string first = index();
    EXPECT_NE(first.find("(\"firstName\") / made by pix-db-replication step post-sql, statement "), std::string::npos) << first;
    const long long table = node();
    src.exec("INSERT INTO \"schooling-registrations\" (\"userId\", \"firstName\") VALUES (1, 'new')");
    r = run(by_name);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    expect_note(r, "public.schooling-registrations: updated in place");
    expect_note(r, "public.schooling-registrations: index registrations_first_idx kept with its table (same statement)");
    EXPECT_EQ(node(), table);
    EXPECT_EQ(index(), first);
    {
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        tx.exec("SET enable_seqscan = off");
        EXPECT_EQ(tx.exec("SELECT count(*) FROM \"schooling-registrations\" WHERE \"firstName\" = 'new'")[0][0].as<int>(), 1)
            << "the row applied in place is in the kept index";
    }
    // The operator changes the statement: the index is made again on the kept table.
    r = run(R"(CREATE INDEX registrations_first_idx ON "schooling-registrations" ("firstName", "userId"))");
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.schooling-registrations: reused");
    EXPECT_EQ(node(), table);
    EXPECT_NE(index().find("(\"firstName\", \"userId\") / made by pix-db-replication step post-sql"), std::string::npos) << index();
    EXPECT_NE(index(), first);
}

TEST_F(LiveSource, ReadsWhatPgDumpWouldEveryRowAndPopulatedViews) {
    LiveDb src(15, "live_rls", 200);
    // A policy that shows the reading role half the rows; and a materialized view.
    src.exec("CREATE TABLE notes (id integer PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 100) g; "
             "ALTER TABLE notes ENABLE ROW LEVEL SECURITY; CREATE POLICY half ON notes USING (id % 2 = 0); "
             "CREATE MATERIALIZED VIEW note_count AS SELECT count(*) AS n FROM notes; GRANT SELECT ON notes, note_count TO " + src.role);
    auto r = live(src);
    expect_failed(r, 2, "notes");
    EXPECT_NE(r.out.find("BYPASSRLS"), std::string::npos) << r.out;
    TempPostgres::instance().exec("postgres", "ALTER ROLE " + src.role + " BYPASSRLS");
    r = live(src);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM notes"), 100) << "every row, as pg_dump reads them";
    EXPECT_EQ(count(target_, "SELECT n FROM note_count"), 100) << "the materialized view is populated";
    expect_same(src, target_);
}

TEST_F(LiveSource, ATruncateAtTheSourceWaitsForTheCopyAsWithPgDump) {
    LiveDb src(15, "live_lock", 200);
    slow_restore(1);  // every CREATE TABLE of the build takes a second: the snapshot is held meanwhile
    auto p = start({"--config", kLive, "run"}, {{"SOURCE_DATABASE_URL", src.url()}, {"RESTORE_FK_CONSTRAINTS", "true"},
                                               {"RESTORE_ANSWERS_AND_KES", "true"}, {"MAX_RETRY_COUNT", "0"}});
    ASSERT_NE(p->wait_for("\"msg\":\"source snapshot taken\"", 60), "") << p->output();
    std::string refused;
    try {
        pqxx::connection c(src.admin());
        pqxx::nontransaction tx(c);
        tx.exec("SET lock_timeout = '1s'; TRUNCATE answers CASCADE");
    } catch (const std::exception& e) {
        refused = e.what();
    }
    EXPECT_NE(refused.find("lock timeout"), std::string::npos) << "the source's tables are locked ACCESS SHARE in the snapshot: " << refused;
    EXPECT_EQ(p->wait_exit(180), 0) << p->output();
    EXPECT_EQ(count(target_, "SELECT count(*) FROM answers"), count(src.admin(), "SELECT count(*) FROM answers"));
    EXPECT_GT(count(target_, "SELECT count(*) FROM answers"), 0);
}

TEST_F(LiveSource, BadSourcesAreRefusedByNameWithoutThePasswordAndYesterdayStays) {
    LiveDb src(15, "live_c", 100);
    auto url = src.url();
    auto bad = url;
    bad.replace(bad.find(kSourcePassword), kSourcePassword.size(), "wrong-pw-77");
    auto r = live(src, {{"SOURCE_DATABASE_URL", bad}});
    expect_failed(r, 2, "SOURCE_DATABASE_URL");
    EXPECT_NE(r.out.find("password authentication failed"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("wrong-pw-77"), std::string::npos) << r.out;

    r = live(src, {{"SOURCE_DATABASE_URL", "postgres://a:" + kSourcePassword + "@127.0.0.1:5432/x?nosuchoption=1"}});
    expect_failed(r, 2, "SOURCE_DATABASE_URL is not a PostgreSQL URL");

    r = live(src, {{"SOURCE_DATABASE_URL", target_}});
    expect_failed(r, 2, "SOURCE_DATABASE_URL and DATABASE_URL name the same database");

    src.exec("CREATE TABLE secret_notes (x integer); CREATE TABLE \"Other Secret\" (x integer)");
    r = live(src);
    expect_failed(r, 2, "may not read 2 table(s) of the source: public.\"Other Secret\", public.secret_notes");

    src.exec("DROP TABLE secret_notes, \"Other Secret\"");
    r = live(src, {{"REFRESH", "in-place"}});
    expect_failed(r, 2, "with REFRESH=in-place, set SOURCE_MODE=dump");
    // Each was refused before anything was written: no tool's schema, no run row.
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pix_db_replication'"), 0);
}

TEST_F(LiveSource, ASourceRestartedMidCopyIsRetriedFromAFreshSnapshot) {
    LiveDb src(17, "live_d");
    src.exec("CREATE TABLE big_rows AS SELECT g AS id, md5(g::text) AS t FROM generate_series(1, 1500000) g; "
             "ALTER TABLE big_rows ADD PRIMARY KEY (id); GRANT SELECT ON big_rows TO " + src.role);
    const std::string path = TempPostgres::bin_dir(17) + ":" + std::getenv("PATH");
    // Retries for as long as a restart may take on a busy machine (about 30 s), not for a fixed
    // few hundred milliseconds: the test waits for the server, whatever its speed.
    auto p = start({"--config", kLive, "run"}, {{"SOURCE_DATABASE_URL", src.url()}, {"MAX_RETRY_COUNT", "20"}, {"RETRY_MIN_DELAY", "100ms"},
                                               {"RETRY_MAX_DELAY", "2s"}, {"PATH", path}, {"SOURCE_JOBS", "2"},
                                               {"RESTORE_FK_CONSTRAINTS", "true"}, {"RESTORE_ANSWERS_AND_KES", "true"}});
    ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 60), "") << p->output();
    auto& pg = TempPostgres::instance(17);
    auto rc = pixtest::run_cmd({"runuser", "-u", "postgres", "--", TempPostgres::bin("pg_ctl", 17), "-D", (pg.dir() / "data").string(), "-m",
                                "fast", "-w", "-t", "60", "restart", "-l", (pg.dir() / "server.log").string()});
    ASSERT_EQ(rc.code, 0) << rc.out;
    ASSERT_EQ(p->wait_exit(180), 0) << p->output();
    const std::string out = p->output();
    EXPECT_NE(out.find("attempt 1 failed"), std::string::npos) << out;
    std::size_t snapshots = 0;
    for (std::size_t at = 0; (at = out.find("\"msg\":\"source snapshot taken\"", at)) != std::string::npos; ++at) ++snapshots;
    EXPECT_GE(snapshots, 2u) << "the retry took a snapshot of its own";
    expect_same(src, target_);
}

TEST_F(LiveSource, SourcesAndTargetsOfAnyVersionPair) {
    // pg_dump of the source's version, wherever it is: 18's first on PATH, then 17's.
    const std::string path = TempPostgres::bin_dir(18) + ":" + TempPostgres::bin_dir(17) + ":" + std::getenv("PATH");
    for (auto [from, to] : std::vector<std::pair<int, int>>{{17, 15}, {18, 17}, {15, 18}}) {
        LiveDb src(from, "live_v" + std::to_string(from), 500);
        static int n = 0;
        auto url = TempPostgres::instance(to).create_target("lv" + std::to_string(++n), "lvr" + std::to_string(n), "s3cr3t-pw");
        auto r = live(src, {{"DATABASE_URL", url}, {"PATH", path}});
        ASSERT_EQ(r.code, 0) << from << " -> " << to << "\n" << r.out;
        expect_same(src, url);
        std::printf("VERSIONS live source %d -> target %d: identical\n", from, to);
    }
}

TEST_F(LiveSource, DumpModeWritesAVerifiedDirectoryDumpAndRestoresItInPlaceToo) {
    LiveDb src(15, "live_e", 500);
    auto r = live(src, {{"SOURCE_MODE", "dump"}, {"SOURCE_JOBS", "2"}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
    EXPECT_NE(r.out.find("\"format\":\"directory\""), std::string::npos) << r.out;
    src.exec("INSERT INTO users (id, \"firstName\", email) VALUES (900001, 'Late', 'late@example.net')");
    r = live(src, {{"SOURCE_MODE", "dump"}, {"REFRESH", "in-place"}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same(src, target_);
}

TEST_F(LiveSource, MasksAsABackupDoes) {
    LiveDb src(15, "live_m");
    // Every table of the source kept, but users' e-mail and id; the same rules for both nights.
    std::string rules = "[tables.\"public.users\"]\nid = \"hash\"\nfirstName = \"keep\"\nemail = \"email\"\ncreatedAt = \"keep\"\n";
    {
        pqxx::connection c(src.admin());
        pqxx::nontransaction tx(c);
        for (const auto& r : tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'users'"))
            rules += "[tables.\"public." + r[0].as<std::string>() + "\"]\n\"*\" = \"keep\"\n";
    }
    pixtest::TempDir dir;
    const auto file = dir / "rules.toml";
    pixtest::write_file(file, rules);
    const std::map<std::string, std::string> masking{{"MASKING_RULES", file.string()}, {"MASKING_KEY", "the same key for both nights, 32+ chars"}};
    // The same rows from a backup of the same fixture, then from the live source.
    auto emails = [&] { return count(target_, "SELECT count(*) FROM users WHERE email NOT LIKE '%@masked.invalid'"); };
    auto digest = [&] {
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        return tx.exec("SELECT md5(string_agg(id || ' ' || email, ',' ORDER BY id)) FROM users")[0][0].as<std::string>();
    };
    auto r = replicate(sources().pix_dump, masking);
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string from_backup = digest();
    r = live(src, masking);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(emails(), 0);
    EXPECT_EQ(digest(), from_backup) << "the live source masks to the same values as a backup of the same rows";
    EXPECT_NE(r.out.find("masked.public.users.email"), std::string::npos) << r.out;
    const std::string join = "SELECT count(*) FROM users u JOIN assessments a ON a.\"userId\" = u.id";
    EXPECT_EQ(count(target_, join), count(src.admin(), join)) << "the keys referencing users.id are masked alike";
    // Rows written since, applied in place, are masked as the rebuild masked the others.
    src.exec("INSERT INTO \"schooling-registrations\" (\"userId\", \"firstName\") VALUES (3, 'new'); "
             "UPDATE \"schooling-registrations\" SET \"userId\" = 6 WHERE id = (SELECT min(id) FROM \"schooling-registrations\")");
    r = live(src, masking);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.schooling-registrations: updated in place, 2 row(s) written"), std::string::npos) << r.out;
    const std::string pupils = "SELECT count(*) FROM \"schooling-registrations\" s JOIN users u ON u.id = s.\"userId\" WHERE u.\"firstName\" IS NOT NULL";
    EXPECT_EQ(count(target_, pupils), count(src.admin(), pupils)) << "the new and updated rows' userId masked as users.id is";
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"schooling-registrations\""), count(src.admin(), "SELECT count(*) FROM \"schooling-registrations\""));
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"schooling-registrations\" WHERE \"userId\" IN (3, 6)"), 0) << "no unmasked key";
}
