// Whole replications into a real PostgreSQL 15, target role not a superuser: the original's
// integration tests, a Pix-shaped database, and bad inputs that must leave the target intact.
#include "replication_fixture.hpp"


// ---- The original's integration tests ----------------------------------------------------

TEST_F(Replication, OriginalDefaultRestoresTheTableAndItsCommentWithoutBigTablesOrForeignKeys) {
    auto r = replicate(sources().orig_tar);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_description WHERE objoid = 'test_table'::regclass AND description = 'table de test'"), 1);
    EXPECT_FALSE(has_table("answers"));
    EXPECT_FALSE(has_table("knowledge-elements"));
    EXPECT_FALSE(has_table("keep_me")) << "objects not in the backup are dropped";
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"), 0);
    // post-sql: the original's enrichment.
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_indexes WHERE indexname = 'users_createdAt_idx'"), 1);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM students"), 1);
    EXPECT_NE(r.out.find("\"msg\":\"run report\""), std::string::npos);
}

TEST_F(Replication, OriginalCommentsCanBeDroppedAsIn2020) {
    auto r = replicate(sources().orig_tar, {{"DROP_COMMENTS", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_description WHERE objoid = 'test_table'::regclass"), 0);
}

TEST_F(Replication, OriginalBigTablesWithTheFlag) {
    auto r = replicate(sources().orig_tar, {{"RESTORE_ANSWERS_AND_KES", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM answers"), 2);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"knowledge-elements\""), 1);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_indexes WHERE indexname IN ('answers_challengeId_idx', 'knowledge-elements_createdAt_idx')"), 2);
}

TEST_F(Replication, OriginalExactlyOneForeignKeyWithTheFlag) {
    auto r = replicate(sources().orig_tar, {{"RESTORE_FK_CONSTRAINTS", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"), 1);
}

// ---- A Pix-shaped database ---------------------------------------------------------------

TEST_F(Replication, PixShapedFullCopyIsIdenticalAndRepeatable) {
    auto& pg = TempPostgres::instance();
    // An extension with a comment, created by a superuser, that the target already has.
    pg.exec(db_, "CREATE EXTENSION pgcrypto; COMMENT ON EXTENSION pgcrypto IS 'owned by the superuser'");
    std::map<std::string, std::string> env{{"RESTORE_FK_CONSTRAINTS", "true"}, {"RESTORE_ANSWERS_AND_KES", "true"}};
    auto r = replicate(sources().pix_tar, env);
    ASSERT_EQ(r.code, 0) << r.out;
    auto source = contents(pg.url("pix_src"));
    auto first = contents(target_);
    first.erase("seq:dummy");
    EXPECT_EQ(source, first);
    EXPECT_FALSE(has_table("keep_me"));
    EXPECT_EQ(count(target_, "SELECT last_value FROM users_id_seq"), 341);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
              count(pg.url("pix_src"), "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"));
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"active-users\""), 300);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users u WHERE \"full-name\"(u) LIKE 'user%'"), 300);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_type WHERE typname = 'assessment-state'"), 1);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_description d JOIN pg_extension e ON e.oid = d.objoid "
                             "WHERE d.description = 'owned by the superuser'"), 1);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_description WHERE objoid = 'users'::regclass AND objsubid = 3 AND description = 'login e-mail'"), 1);

    // Keys built as unique indexes then attached; foreign keys added NOT VALID, after the data.
    const std::string keys = "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                             "WHERE n.nspname = 'public' AND contype IN ('p', 'u')";
    EXPECT_EQ(count(target_, keys), count(pg.url("pix_src"), keys));
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"),
              count(pg.url("pix_src"), "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"));
    EXPECT_NE(r.out.find("\"msg\":\"keys built as unique indexes\""), std::string::npos);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_indexes WHERE indexname IN ('answers_challengeId_idx', 'knowledge-elements_createdAt_idx')"), 2);

    auto again = replicate(sources().pix_tar, env);
    ASSERT_EQ(again.code, 0) << again.out;
    EXPECT_EQ(contents(target_), first);
}

TEST_F(Replication, ForeignKeysCanBeValidatedOrRestoredTheClassicWay) {
    const std::string fks = "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated";
    const long long expected = count(TempPostgres::instance().url("pix_src"), "SELECT count(*) FROM pg_constraint WHERE contype = 'f'");
    auto r = replicate(sources().pix_tar, {{"RESTORE_FK_CONSTRAINTS", "true"}, {"RESTORE_ANSWERS_AND_KES", "true"}, {"FK_VALIDATE", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, fks), expected);
    r = replicate(sources().pix_tar, {{"RESTORE_FK_CONSTRAINTS", "true"}, {"RESTORE_ANSWERS_AND_KES", "true"}, {"FK_NOT_VALID", "false"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, fks), expected);
}

TEST_F(Replication, PixShapedDefaultLeavesOutBigTablesByIdentityOnly) {
    auto r = replicate(sources().pix_tar, {{"RESTORE_FK_CONSTRAINTS", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_FALSE(has_table("answers"));
    EXPECT_FALSE(has_table("knowledge-elements"));
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_class WHERE relname LIKE 'answers%' OR relname LIKE 'knowledge-elements%'"), 0);
    ASSERT_TRUE(has_table("user-answers-stats")) << "a name containing 'answers' is not the answers table";
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"user-answers-stats\""), 300);
    // Foreign keys of the tables kept are there; those from or to the big tables went with them.
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_constraint WHERE conname = 'user-answers-stats_userId_fkey'"), 1);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_constraint WHERE conname = 'assessments_userId_fkey'"), 1);
    auto source = contents(TempPostgres::instance().url("pix_src"));
    auto target = contents(target_);
    for (const char* t : {"users", "assessments", "user-answers-stats", "campaign-participations", "schooling-registrations"})
        EXPECT_EQ(target[t], source[t]) << t;
}

TEST_F(Replication, BareCustomDumpAndDirectoryDumpAreAccepted) {
    auto r = replicate(sources().pix_dump);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users"), 300);
    TempDir d;
    auto dir = d / "dirdump";
    auto dr = pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-Fd", "-d", TempPostgres::instance().url("orig_src"), "-f", dir.string()});
    ASSERT_EQ(dr.code, 0) << dr.out;
    r = replicate(dir);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
}

TEST_F(Replication, PlanPreviewTouchesNothing) {
    auto r = replicate(sources().pix_tar, {}, {"plan"});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("excluded by answers-kes"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("TABLE DATA public.answers  (depends on excluded TABLE answers)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("excluded by fk-constraints"), std::string::npos);
    EXPECT_NE(r.out.find("COMMENT EXTENSION pgcrypto"), std::string::npos);
    EXPECT_NE(r.out.find("public.user-answers-stats"), std::string::npos);
    expect_untouched(r);
    EXPECT_EQ(replicate(sources().pix_tar, {}, {"run", "--dry-run"}).code, 0);
    EXPECT_TRUE(has_table("keep_me"));
}

// ---- Bad inputs: a clear message, exit code 2, the target untouched ------------------------

TEST_F(Replication, MissingFile) {
    expect_refused("/nonexistent/backup.tar.gz", "backup file '/nonexistent/backup.tar.gz' not found");
}

TEST_F(Replication, CorruptArchive) {
    TempDir d;
    auto bytes = pixtest::read_file(sources().pix_tar);
    pixtest::write_file(d / "cut.tar.gz", bytes.substr(0, bytes.size() / 2));
    expect_refused(d / "cut.tar.gz", "is corrupt or truncated");
    std::string garbage = bytes.substr(0, 20) + std::string(4000, 'x');
    pixtest::write_file(d / "garbage.tar.gz", garbage);
    expect_refused(d / "garbage.tar.gz", "garbage.tar.gz' is corrupt");
}

TEST_F(Replication, ArchiveWithoutOrWithTwoDumps) {
    TempDir d;
    pixtest::write_file(d / "readme.txt", "no dump here");
    ASSERT_EQ(pixtest::run_cmd({"tar", "czf", (d / "none.tar.gz").string(), "-C", d.path().string(), "readme.txt"}).code, 0);
    expect_refused(d / "none.tar.gz", "holds no *.pgsql file");

    fs::copy_file(sources().pix_dump, d / "a.pgsql");
    fs::copy_file(sources().pix_dump, d / "b.pgsql");
    ASSERT_EQ(pixtest::run_cmd({"tar", "czf", (d / "two.tar.gz").string(), "-C", d.path().string(), "a.pgsql", "b.pgsql"}).code, 0);
    expect_refused(d / "two.tar.gz", "holds more than one *.pgsql file ('a.pgsql' and 'b.pgsql')");
}

TEST_F(Replication, ArchiveEscapingItsFolderIsRefused) {
    TempDir d;
    fs::create_directories(d / "inner");
    fs::copy_file(sources().pix_dump, d / "evil.pgsql");
    ASSERT_EQ(pixtest::run_cmd({"tar", "-P", "-czf", (d / "evil.tar.gz").string(), "-C", (d / "inner").string(), "../evil.pgsql"}).code, 0);
    expect_refused(d / "evil.tar.gz", "has an entry leaving its folder ('../evil.pgsql'); refused");
}

TEST_F(Replication, TruncatedDump) {
    TempDir d;
    auto bytes = pixtest::read_file(sources().pix_dump);
    pixtest::write_file(d / "cut.pgsql", bytes.substr(0, bytes.size() - bytes.size() / 3));
    expect_refused(d / "cut.pgsql", "cut.pgsql' is truncated or corrupt");
    // The same dump, truncated inside a Scalingo-style archive.
    fs::create_directories(d / "pack");
    pixtest::write_file(d / "pack" / "x.pgsql", bytes.substr(0, bytes.size() - 100));
    ASSERT_EQ(pixtest::run_cmd({"tar", "czf", (d / "t.tar.gz").string(), "-C", (d / "pack").string(), "./x.pgsql"}).code, 0);
    expect_refused(d / "t.tar.gz", "is truncated or corrupt");
}

TEST_F(Replication, NotADump) {
    TempDir d;
    pixtest::write_file(d / "notes.pgsql", "SELECT 1;\n");
    expect_refused(d / "notes.pgsql", "notes.pgsql' is neither a Scalingo backup archive (.tar.gz) nor a pg_dump file");
}

TEST_F(Replication, DumpFromANewerPgDumpSaysSo) {
    TempDir d;
    auto bytes = pixtest::read_file(sources().pix_dump);
    bytes[6] = 16;  // archive format 1.16, written by pg_dump 17
    pixtest::write_file(d / "new.pgsql", bytes);
    auto r = expect_refused(d / "new.pgsql", "uses archive format 1.16, which pg_restore 15");
    EXPECT_NE(r.out.find("made by a newer pg_dump"), std::string::npos) << r.out;
}

TEST_F(Replication, UnreachableDatabase) {
    auto r = replicate(sources().orig_tar, {{"DATABASE_URL", "postgresql://replica:s3cr3t-pw@127.0.0.1:1/nowhere"}});
    expect_failed(r, 1, "cannot connect to the target database");
}

TEST_F(Replication, SuperuserTargetIsRefused) {
    expect_refused(sources().orig_tar, "DATABASE_URL connects as superuser 'postgres': refusing to DROP OWNED BY a superuser",
                   {{"DATABASE_URL", TempPostgres::instance().url(db_)}});
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pix_db_replication'"), 0)
        << "refused before the tool's schema or a run row is written";
}

TEST_F(Replication, RestoreErrorsFailTheRunShowingTheFirstOnes) {
    // Every CREATE VIEW fails during the restore (an event trigger owned by the superuser).
    auto& pg = TempPostgres::instance();
    pg.exec(db_, "CREATE FUNCTION no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'views are not allowed here'; END $$; "
                 "CREATE EVENT TRIGGER no_views ON ddl_command_start WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION no_views()");
    // Built beside: the error names the entry, and yesterday's copy is as it was.
    auto r = replicate(sources().pix_tar);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("building tonight's copy: VIEW public.active-users: ERROR:  views are not allowed here"), std::string::npos) << r.out;
    expect_untouched(r);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pix\\_db\\_replication\\_%'"), 0) << "the build is left";
    // In place: pg_restore's own errors.
    r = replicate(sources().pix_tar, {{"REFRESH", "in-place"}});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("pg_restore failed with"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("views are not allowed here"), std::string::npos) << r.out;
}

TEST_F(Replication, AnotherRolesObjectTheBackupBringsIsRefusedBeforeTheDrop) {
    // Once, this dropped the target, then failed on "relation users already exists", ten times.
    auto& pg = TempPostgres::instance();
    pg.exec(db_, "CREATE TABLE users (id integer); ALTER TABLE users OWNER TO postgres");
    auto r = replicate(sources().orig_tar, {{"MAX_RETRY_COUNT", "3"}});
    expect_failed(r, 2, "the target already holds 1 object(s) the backup brings, owned by another role, which " +
                            TempPostgres::instance().scalar(db_, "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'keep_me'") +
                            " cannot drop: TABLE public.users (owner postgres)");
    EXPECT_EQ(r.out.find("attempt 1 failed"), std::string::npos) << "not retried:\n" << r.out;
}
