// Incremental tables (BACKUP_MODE): two backups of one source, day 1 and day 2; the big tables
// are kept on the target and only their new rows appended, and after both nights every table
// equals the day-2 source. Each reason to reload in full, a run that fails half-way, `none`
// beside `incremental`, and bad values refused by name.
#include <fstream>
#include <thread>

#include "dump.hpp"
#include "fake_scalingo.hpp"
#include "replication_fixture.hpp"

namespace {

const std::string kBoth = R"({"answers": "incremental", "knowledge-elements": "incremental"})";

// day 1, day 2, and day 2 with a column added to answers; dumped with pg_dump -Fc, and day 2
// also as a directory dump and compressed with lz4.
struct Days {
    TempDir dir;
    fs::path day1, day1_late, day2, day2_deleted, day2_column, day2_label, day2_renamed, day2_directory, day2_lz4;  // lz4: by pg_dump 17, which only pg_restore 17 reads
    std::string day2_db = "incr_day2";
    Days() {
        auto& pg = TempPostgres::instance();
        auto psql = [&](const std::string& db, const std::string& file, std::vector<std::string> vars = {}) {
            std::vector<std::string> argv{TempPostgres::bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.url(db)};
            argv.insert(argv.end(), vars.begin(), vars.end());
            argv.insert(argv.end(), {"-f", std::string(PIXREP_SOURCE_DIR) + "/tests/fixtures/" + file});
            auto r = pixtest::run_cmd(argv);
            if (r.code != 0) throw std::runtime_error(file + " failed: " + r.out);
        };
        for (const char* db : {"incr_day2_deleted", "incr_day2_label", "incr_day2_renamed", "incr_day2_column", "incr_day2", "incr_day1_late", "incr_day1"}) pg.exec("postgres", std::string("DROP DATABASE IF EXISTS ") + db);
        pg.exec("postgres", "CREATE DATABASE incr_day1");
        psql("incr_day1", "pix-shaped.sql", {"-v", "rows=3000"});
        psql("incr_day1", "incremental-day1.sql");
        // Day 1 dumped while an answer (and what points at it) was not committed yet: its key,
        // below day 1's largest, was taken before the dump and committed after it.
        pg.exec("postgres", "CREATE DATABASE incr_day1_late TEMPLATE incr_day1");
        pg.exec("incr_day1_late", "DELETE FROM \"answer-feedback\" WHERE \"answerId\" = 2990; "
                                  "DELETE FROM \"knowledge-elements\" WHERE \"answerId\" = 2990; DELETE FROM answers WHERE id = 2990");
        pg.exec("postgres", "CREATE DATABASE incr_day2 TEMPLATE incr_day1");
        psql("incr_day2", "incremental-day2.sql");
        pg.exec("postgres", "CREATE DATABASE incr_day2_column TEMPLATE incr_day2");
        pg.exec("incr_day2_column", "ALTER TABLE answers ADD COLUMN duration integer");
        // Production adds an enum label that tonight's new rows use; or renames one.
        pg.exec("postgres", "CREATE DATABASE incr_day2_label TEMPLATE incr_day2");
        pg.exec("incr_day2_label", "ALTER TYPE \"answer-status\" ADD VALUE 'paused' AFTER 'seen'");
        pg.exec("incr_day2_label", "UPDATE answers SET status = 'paused' WHERE id > 3000");
        pg.exec("postgres", "CREATE DATABASE incr_day2_renamed TEMPLATE incr_day2");
        pg.exec("incr_day2_renamed", "ALTER TYPE \"answer-status\" RENAME VALUE 'archived' TO 'stored'");
        // Production moves old rows to cold storage in batches (a whole range), and deletes a few here and there.
        pg.exec("postgres", "CREATE DATABASE incr_day2_deleted TEMPLATE incr_day2");
        for (const char* where : {"BETWEEN 100 AND 1400", "IN (1777, 2500, 2501)"})
            pg.exec("incr_day2_deleted", std::string("DELETE FROM \"answer-feedback\" WHERE \"answerId\" ") + where +
                                             "; DELETE FROM \"knowledge-elements\" WHERE \"answerId\" " + where + "; DELETE FROM answers WHERE id " + where);
        day1 = dump("incr_day1", "20261124010203_day1.pgsql");
        day2_deleted = dump("incr_day2_deleted", "20261125010203_day2_deleted.pgsql");
        day1_late = dump("incr_day1_late", "20261124010203_day1_late.pgsql");
        day2 = dump("incr_day2", "20261125010203_day2.pgsql");
        day2_column = dump("incr_day2_column", "20261125010203_day2_column.pgsql");
        day2_label = dump("incr_day2_label", "20261125010203_day2_label.pgsql");
        day2_renamed = dump("incr_day2_renamed", "20261125010203_day2_renamed.pgsql");
        day2_directory = dump("incr_day2", "20261125010203_day2_directory", {"-Fd"});
        day2_lz4 = dump("incr_day2", "20261125010203_day2_lz4.pgsql", {"-Fc", "--compress=lz4"}, 17);
    }
    fs::path dump(const std::string& db, const std::string& name, std::vector<std::string> format = {"-Fc"}, int major = 15) {
        auto out = dir / name;
        std::vector<std::string> argv{TempPostgres::bin("pg_dump", major), "-d", TempPostgres::instance().url(db), "-f", out.string()};
        argv.insert(argv.end(), format.begin(), format.end());
        auto r = pixtest::run_cmd(argv);
        if (r.code != 0) throw std::runtime_error("pg_dump failed: " + r.out);
        return out;
    }
};

Days& days() {
    static Days d;
    return d;
}

// Foreign keys, as "table.name validated".
std::vector<std::string> foreign_keys(const std::string& url) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    std::vector<std::string> out;
    for (const auto& r : tx.exec("SELECT conrelid::regclass::text || '.' || conname || ' ' || convalidated FROM pg_constraint "
                                 "WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY 1"))
        out.push_back(r[0].as<std::string>());
    return out;
}

// What hangs on the kept tables and the build takes off the live copy: foreign keys by name
// (a failed night makes them again NOT VALID), and triggers as defined.
std::vector<std::string> keys_and_triggers(const std::string& url) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    std::vector<std::string> out;
    for (const auto& r : tx.exec("SELECT conrelid::regclass::text || '.' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
                                 "WHERE contype = 'f' AND connamespace = 'public'::regnamespace UNION ALL SELECT pg_get_triggerdef(oid) || "
                                 "' ' || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"))
        out.push_back(r[0].as<std::string>());
    for (auto& k : out)
        if (auto at = k.find(" NOT VALID"); at != std::string::npos) k.erase(at);
    return out;
}

class Incremental : public Replication {
protected:
    void SetUp() override {
        Replication::SetUp();
        days();
    }
    Result night(const fs::path& backup, std::map<std::string, std::string> env = {}) {
        env.emplace("BACKUP_MODE", kBoth);
        env.emplace("RESTORE_FK_CONSTRAINTS", "true");
        env.emplace("FK_VALIDATE", "true");
        return replicate(backup, env);
    }
    // A backup older than the copy: the first attempt appends until the dump's keys show it,
    // the retry decides on them and reloads in full.
    Result older_night(const fs::path& backup) {
        auto r = night(backup, {{"MAX_RETRY_COUNT", "1"}, {"RETRY_MIN_DELAY", "100ms"}});
        EXPECT_NE(r.out.find("attempt 1 failed"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("ends below the key kept on the target"), std::string::npos) << r.out;
        return r;
    }
    std::string oid(const std::string& sql) { return TempPostgres::instance().scalar(db_, sql); }
    std::string answers_oid() { return oid("SELECT 'public.answers'::regclass::oid"); }
    // The target equals the source database `db`: every table (rows and checksum), sequences,
    // and foreign keys.
    void expect_equal_to(const std::string& db, const std::string& when) {
        auto source = TempPostgres::instance().url(db);
        EXPECT_EQ(contents(target_), contents(source)) << when;
        EXPECT_EQ(foreign_keys(target_), foreign_keys(source)) << when;
    }
    void expect_note(const Result& r, const std::string& note) { EXPECT_NE(r.out.find(note), std::string::npos) << "no '" << note << "' in:\n" << r.out; }
};

}  // namespace

TEST_F(Incremental, TheFirstNightLoadsInFullAndThePlanShowsWhatTheSecondKeeps) {
    auto r = night(days().day1);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: reloaded in full: missing on the target");
    expect_equal_to("incr_day1", "after day 1");
    auto plan = replicate(days().day2, {{"BACKUP_MODE", kBoth}, {"RESTORE_FK_CONSTRAINTS", "true"}}, {"plan"});
    ASSERT_EQ(plan.code, 0) << plan.out;
    EXPECT_NE(plan.out.find("kept on the target by answers-kes"), std::string::npos) << plan.out;
    EXPECT_NE(plan.out.find("kept on the target by drop-objects"), std::string::npos) << "indexes, keys, sequences, the enum:\n" << plan.out;
    EXPECT_NE(plan.out.find("TYPE public.answer-status"), std::string::npos) << plan.out;
    EXPECT_NE(plan.out.find("public.answers: rows whose id is above 3000"), std::string::npos) << plan.out;
    expect_equal_to("incr_day1", "a plan touches nothing");
}

TEST_F(Incremental, SecondNightAppendsOnlyTheNewRows) {
    ASSERT_EQ(night(days().day1).code, 0);
    const std::string table = answers_oid(), type = oid("SELECT 'public.\"answer-status\"'::regtype::oid"),
                      index = oid("SELECT 'public.\"answers_assessmentId_idx\"'::regclass::oid");
    auto r = night(days().day2);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: incremental, appending the rows whose id is greater than 3000");
    expect_note(r, "public.answers: 30 new row(s) appended (key id above 3000), 3030 scanned");
    expect_note(r, "public.knowledge-elements: 30 new row(s) appended (key id above 3000), 3030 scanned");
    EXPECT_NE(r.out.find("rows_appended"), std::string::npos) << "the report's figures:\n" << r.out;
    expect_equal_to("incr_day2", "after day 1 then day 2");
    EXPECT_EQ(answers_oid(), table) << "answers was kept, not dropped and restored";
    EXPECT_EQ(oid("SELECT 'public.\"answer-status\"'::regtype::oid"), type) << "the enum of a kept column was kept";
    EXPECT_EQ(oid("SELECT 'public.\"answers_assessmentId_idx\"'::regclass::oid"), index) << "its indexes too";
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"answers-ok\""), count(TempPostgres::instance().url("incr_day2"), "SELECT count(*) FROM \"answers-ok\""))
        << "the view over a kept table is restored around it";
    EXPECT_EQ(count(target_, "SELECT n FROM \"answer-counter\""), 30) << "the append fired no trigger; the day-2 value was restored";
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_trigger WHERE tgname = 'answers_counted'"), 1) << "the trigger is back";
    // The same backup again: nothing new, still incremental.
    r = night(days().day2);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: 0 new row(s) appended (key id above 3030)");
    expect_equal_to("incr_day2", "day 2 twice");
}

TEST_F(Incremental, RowsDeletedAtTheSourceLeaveTheCopyTheSameNightByKeyRange) {
    ASSERT_EQ(night(days().day1).code, 0);
    const std::string table = answers_oid();
    auto r = night(days().day2_deleted);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: 30 new row(s) appended");
    expect_note(r, "public.answers: 1304 row(s) deleted at the source removed (");
    EXPECT_EQ(answers_oid(), table) << "kept, not reloaded in full";
    EXPECT_EQ(r.out.find("reloaded in full"), std::string::npos) << r.out;
    expect_equal_to("incr_day2_deleted", "after rows deleted at the source");
}

TEST_F(Incremental, ANightCountsOnTheTargetOnlyWhatSomeoneElseWrote) {
    ASSERT_EQ(night(days().day1).code, 0);
    auto r = night(days().day2);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: counted in all 3001 of 3001 key ranges of 1 key(s): no counts kept from a last night on this table");
    // Deleted at the source: ranges 100..1400, and 1777, 2500, 2501. The target's statistics
    // show no write since the last night but the tool's: what it left is what the target holds,
    // and the whole backup is compared with it without reading the target.
    r = night(days().day2_deleted);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: not counted on the target, its statistics show no write since the last run but the tool's: the "
                   "backup's counts compared with those kept in all 3031 key ranges of 1 key(s)");
    expect_note(r, "public.answers: 1304 row(s) deleted at the source removed (");
    expect_equal_to("incr_day2_deleted", "after a night that did not count the target");
    EXPECT_NE(r.out.find("\"incremental.public.answers.key_ranges_counted\":0"), std::string::npos) << r.out;
    // Rows deleted and one changed by hand on the target (outside any slice the night would
    // count): its counters moved, so it is counted in full, and repaired.
    // (The statistics are flushed at once, as they are long before the next night.)
    TempPostgres::instance().exec(db_, "SET session_replication_role = replica; DELETE FROM answers WHERE id IN (40, 2900); "
                                       "SELECT pg_stat_force_next_flush()");
    r = night(days().day2_deleted);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: counted in all 3031 of 3031 key ranges of 1 key(s): its statistics show writes the tool did not make");
    expect_note(r, "public.answers: 2 row(s) below key 3030 committed after the last backup was taken, appended");
    expect_equal_to("incr_day2_deleted", "after rows deleted by hand on the target");
    // An update moves the counters too, even one that changes nothing.
    TempPostgres::instance().exec(db_, "UPDATE answers SET result = result WHERE id = 41; SELECT pg_stat_force_next_flush()");
    r = night(days().day2_deleted);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: counted in all 3031 of 3031 key ranges of 1 key(s): its statistics show writes the tool did not make");
    // Nothing changed since, and the tool's own repairs are in the counters it kept.
    r = night(days().day2_deleted);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: not counted on the target");
    // A table rewritten on the target (another file): last night's counts no longer describe it.
    TempPostgres::instance().exec(db_, "VACUUM FULL answers");
    r = night(days().day2_deleted);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: counted in all 3031 of 3031 key ranges");
}

TEST_F(Incremental, ForeignKeysToAKeptTableWaitForItsNewRowsWhenPgRestoreAddsThem) {
    ASSERT_EQ(night(days().day1, {{"FK_NOT_VALID", "false"}}).code, 0);
    auto r = night(days().day2, {{"FK_NOT_VALID", "false"}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: 30 new row(s) appended");
    expect_equal_to("incr_day2", "foreign keys added by pg_restore, validated");
}

TEST_F(Incremental, EachReasonToReloadInFullIsSaidAndTheResultIsRight) {
    ASSERT_EQ(night(days().day1).code, 0);
    // The backup's answers has a column the target's has not.
    auto r = night(days().day2_column);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: reloaded in full: its columns differ from the backup's definition: column 8 is '(none)' on the target, "
                   "'duration integer' in the backup");
    expect_note(r, "public.knowledge-elements: incremental");
    expect_equal_to("incr_day2_column", "after a new column");
    // An older backup: the target holds keys beyond the backup's largest (and answers' columns differ again).
    r = older_night(days().day1);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("appending the new rows of public.knowledge-elements: the dump's public.knowledge-elements ends below the key kept "
                         "on the target (id 3030 there, 3000 in the dump): an older backup, or a source that was reset; the next attempt "
                         "reloads it in full"), std::string::npos) << r.out;
    expect_note(r, "public.answers: reloaded in full: its columns differ from the backup's definition: column 8 is 'duration integer' on the "
                   "target, '(none)' in the backup");
    expect_note(r, "public.knowledge-elements: reloaded in full: the target holds keys beyond the backup's largest (id 3030 on the target, "
                   "3000 in the backup): an older backup, or a source that was reset");
    expect_equal_to("incr_day1", "after an older backup");
    // Emptied on the target.
    TempPostgres::instance().exec(db_, "TRUNCATE answers CASCADE");
    r = night(days().day2);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: reloaded in full: empty on the target");
    expect_equal_to("incr_day2", "after an emptied table");
    // A periodic full reload is due.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    r = night(days().day2, {{"INCREMENTAL_FULL_RELOAD_EVERY", "1s"}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: reloaded in full: a periodic full reload is due (last one ");
    expect_equal_to("incr_day2", "after a periodic full reload");
}

TEST_F(Incremental, ARunFailingHalfWayLeavesKeptTablesWholeAndTheNextCompletesThem) {
    ASSERT_EQ(night(days().day1).code, 0);
    auto& pg = TempPostgres::instance();
    const std::string day1_answers = contents(pg.url("incr_day1"))["answers"];
    // The append fails on its 11th new row, after the others went through COPY.
    pg.exec(db_, "ALTER TABLE answers ADD CONSTRAINT not_yet CHECK (id <= 3010) NOT VALID");
    auto r = night(days().day2);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("appending the new rows of public.answers"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("not_yet"), std::string::npos) << r.out;
    EXPECT_EQ(contents(target_)["answers"], day1_answers) << "none of the new rows stayed";
    const auto day1_keys = keys_and_triggers(pg.url("incr_day1"));
    EXPECT_EQ(keys_and_triggers(target_), day1_keys) << "the kept tables' foreign keys and trigger are back on yesterday's copy";
    EXPECT_NE(r.out.find("foreign keys and triggers were made again on yesterday's copy"), std::string::npos) << r.out;
    pg.exec(db_, "ALTER TABLE answers DROP CONSTRAINT not_yet");
    // A failure elsewhere, after the drop: the kept tables stay whole, with or without their new rows.
    pg.exec(db_, "CREATE FUNCTION no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no views today'; END $$; "
                 "CREATE EVENT TRIGGER no_views ON ddl_command_start WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION no_views()");
    r = night(days().day2);
    EXPECT_EQ(r.code, 1) << r.out;
    const std::string day2_answers = contents(pg.url("incr_day2"))["answers"], now = contents(target_)["answers"];
    EXPECT_TRUE(now == day1_answers || now == day2_answers) << now;
    EXPECT_EQ(keys_and_triggers(target_), day1_keys);
    pg.exec(db_, "DROP EVENT TRIGGER no_views; DROP FUNCTION no_views()");
    r = night(days().day2);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: incremental");
    expect_equal_to("incr_day2", "the run after the failures");
}

TEST_F(Incremental, NoneAndIncrementalOnTheSameRun) {
    const std::map<std::string, std::string> mode{{"BACKUP_MODE", R"({"answers": "incremental", "public.knowledge-elements": "none"})"}};
    ASSERT_EQ(night(days().day1, mode).code, 0);
    auto r = night(days().day2, mode);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.knowledge-elements: left out (BACKUP_MODE none)");
    expect_note(r, "public.answers: 30 new row(s) appended");
    EXPECT_FALSE(has_table("knowledge-elements"));
    auto target = contents(target_), source = contents(TempPostgres::instance().url("incr_day2"));
    source.erase("knowledge-elements");
    source.erase("seq:knowledge-elements_id_seq");
    EXPECT_EQ(target, source);
}

TEST_F(Incremental, BadBackupModeIsRefusedByNameBeforeAnything) {
    auto bad = [&](const std::string& value, const std::string& message) {
        auto r = replicate(days().day1, {{"BACKUP_MODE", value}});
        expect_failed(r, 2, message);
    };
    bad("answers:incremental", "BACKUP_MODE is not JSON");
    // (JSON logs escape the quotes around the modes.)
    bad(R"({"answers": "incremantal"})", "BACKUP_MODE gives table 'answers' the mode \\\"incremantal\\\"; allowed: \\\"incremental\\\", \\\"none\\\"");
    bad(R"({"answerz": "incremental"})", "BACKUP_MODE names table 'public.answerz', which the backup does not have");
    auto r = replicate(days().day1, {{"BACKUP_MODE", R"({"answers": "none"})"}, {"RESTORE_ANSWERS_AND_KES", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("RESTORE_ANSWERS_AND_KES is ignored: BACKUP_MODE decides"), std::string::npos) << r.out;
    EXPECT_FALSE(has_table("answers"));
    EXPECT_TRUE(has_table("knowledge-elements")) << "a table BACKUP_MODE does not name is restored in full";
}

TEST_F(Incremental, NewRowsAreReadFromEveryShapeOfDump) {
    ASSERT_EQ(night(days().day1).code, 0);
    // A directory dump: the table's gzip'd data file, read here.
    auto r = night(days().day2_directory);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: 30 new row(s) appended (key id above 3000), 3030 scanned");
    expect_equal_to("incr_day2", "from a directory dump");
    ASSERT_EQ(older_night(days().day1).code, 0);  // an older backup: reloaded in full
    // lz4, which only pg_restore decompresses: the rows come through it (17, which reads 1.16).
    auto listing = pixtest::run_cmd({TempPostgres::bin("pg_restore", 17), "-l", days().day2_lz4.string()});
    ASSERT_NE(listing.out.find("Compression: lz4"), std::string::npos) << listing.out.substr(0, 600);
    r = night(days().day2_lz4, {{"PG_RESTORE_BIN", TempPostgres::bin("pg_restore", 17)}});
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: 30 new row(s) appended (key id above 3000), 3030 scanned");
    expect_note(r, "public.knowledge-elements: 30 new row(s) appended");
    expect_equal_to("incr_day2", "from an lz4 dump through pg_restore 17");
}

TEST_F(Incremental, AKeyColumnThatCannotTellNewRowsIsRefusedBeforeTheDrop) {
    ASSERT_EQ(night(days().day1).code, 0);
    const auto before = count(target_, "SELECT count(*) FROM answers");
    auto refused = [&](const std::string& key, const std::string& message) {
        auto r = night(days().day2, {{"INCREMENTAL_KEY_COLUMNS", "answers:" + key}});
        EXPECT_EQ(r.code, 2) << r.out;
        EXPECT_NE(r.out.find(message), std::string::npos) << r.out;
        EXPECT_EQ(r.out.find("dropped every object"), std::string::npos) << r.out;
        EXPECT_EQ(count(target_, "SELECT count(*) FROM answers"), before) << key;
        EXPECT_TRUE(has_table("users")) << "the copy was dropped for " << key;
    };
    refused("createdAt", "option 'key_columns': answers:createdAt: the column is timestamp with time zone, not an integer");
    refused("assessmentId", "option 'key_columns': answers:assessmentId: no unique index or constraint on that column alone");
    refused("nope", "option 'key_columns': answers:nope: the target's public.answers has no column 'nope'");
    {
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        tx.exec("ALTER TABLE answers ADD COLUMN rank integer UNIQUE");
    }
    refused("rank", "option 'key_columns': answers:rank: the column may be NULL; the key must be NOT NULL");
}

TEST_F(Incremental, ARowCommittedAfterLastNightsDumpBelowItsLargestKeyArrivesTonight) {
    ASSERT_EQ(night(days().day1_late).code, 0);
    ASSERT_EQ(count(target_, "SELECT count(*) FROM answers WHERE id = 2990"), 0);
    auto r = night(days().day2);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: incremental");
    expect_note(r, "public.answers: 1 row(s) below key 3000 committed after the last backup was taken, appended");
    EXPECT_EQ(count(target_, "SELECT count(*) FROM answers WHERE id = 2990"), 1);
    expect_equal_to("incr_day2", "after a late-committed row");
}

TEST_F(Incremental, AKeptTablesTypesAreComparedWithTheBackupsNotByName) {
    // A label added in production, used by tonight's new rows: added in place, rows appended.
    ASSERT_EQ(night(days().day1).code, 0);
    const auto kept = answers_oid();
    auto r = night(days().day2_label);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: incremental");
    EXPECT_NE(r.out.find("ALTER TYPE \\\"public\\\".\\\"answer-status\\\" ADD VALUE IF NOT EXISTS 'paused' AFTER 'seen'"), std::string::npos) << r.out;
    EXPECT_EQ(answers_oid(), kept);
    expect_equal_to("incr_day2_label", "with a label added");
    // A label renamed: the table is reloaded in full, with the reason stated.
    ASSERT_EQ(older_night(days().day1).code, 0);
    r = night(days().day2_renamed);
    ASSERT_EQ(r.code, 0) << r.out;
    expect_note(r, "public.answers: reloaded in full: type \"public\".\"answer-status\" lost or reordered label 'archived' in the backup, "
                   "and the kept table uses it");
    expect_equal_to("incr_day2_renamed", "with a label renamed");
}

namespace {

// Day 2 as Scalingo serves it, slowly enough that the steps decide on the kept tables before
// their blocks arrive; `damage` flips a byte inside knowledge-elements' compressed rows.
json scalingo_day2(const fs::path& dir, bool damage) {
    auto dump = dir / (damage ? "20261125010203_damaged.pgsql" : "20261125010203_day2.pgsql");
    fs::copy_file(days().day2, dump, fs::copy_options::overwrite_existing);
    if (damage) {
        pixrep::common::DumpScanner scan(dump.string());
        pixrep::common::scan_file(scan, dump, [] { return false; });
        std::int64_t at = -1;
        for (const auto& e : scan.entries())
            if (e.desc == "TABLE DATA" && e.tag == "knowledge-elements") at = e.data_offset;
        if (at < 0) throw std::runtime_error("no knowledge-elements block in day 2");
        std::fstream f(dump, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(at + 200);
        char c = 0;
        f.get(c);
        f.seekp(at + 200);
        f.put(static_cast<char>(c ^ 0x5a));
    }
    auto tar = dir / (dump.stem().string() + ".tar.gz");
    auto r = pixtest::run_cmd({"tar", "czf", tar.string(), "-C", dir.string(), "./" + dump.filename().string()});
    if (r.code != 0) throw std::runtime_error("tar failed: " + r.out);
    std::time_t now = std::time(nullptr);
    return {{"api_token", kToken}, {"range", true}, {"redirect", true},
            {"throttle_bps", static_cast<long long>(fs::file_size(tar) / 3)},
            {"apps", {{"pix-api-production", {{{"id", "ad-pg-1"}, {"app_id", "app-1"}, {"resource_id", "pix_api_1234"}, {"status", "running"},
                                               {"plan", {{"id", "p2"}, {"name", "postgresql-business-1024"}}},
                                               {"addon_provider", {{"id", "postgresql"}, {"name", "PostgreSQL"}}}}}}}},
            {"backups", {{"ad-pg-1", {{{"id", "bk-2"}, {"name", "day2"}, {"status", "done"}, {"created_at", rfc3339(now - 600, 0)},
                                       {"started_at", nullptr}, {"size", static_cast<long long>(fs::file_size(tar))}, {"database_id", "db-1"},
                                       {"method", "periodic"}}}}}},
            {"archives", {{"bk-2", tar.string()}}},
            {"faults", json::object()}};
}

std::int64_t blocks_read_by_steps(const std::string& out) {
    auto at = out.find("\"blocks_read_by_steps\":");
    return at == std::string::npos ? -1 : std::stoll(out.substr(at + 23));
}

}  // namespace

TEST_F(Incremental, FromScalingoAKeptTablesBlockIsDecompressedOnceByItsAppendWhichChecksIt) {
    const std::string production = std::string(PIXREP_SOURCE_DIR) + "/config/production.toml";
    auto from_scalingo = [&](const FakeScalingo& fake) {
        auto env = fake.env();
        env["BACKUP_MODE"] = kBoth, env["RESTORE_FK_CONSTRAINTS"] = "true", env["FK_VALIDATE"] = "true";
        return replicate("", env, {"run"}, production);
    };
    TempDir dir;
    ASSERT_EQ(night(days().day1).code, 0);
    {
        FakeScalingo fake(scalingo_day2(dir.path(), true));
        auto r = from_scalingo(fake);
        EXPECT_NE(r.code, 0) << r.out;
        EXPECT_NE(r.out.find("reading the rows of public.knowledge-elements: dump '"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("is corrupt"), std::string::npos)
            << "the append found the damage the download only walked past:\n" << r.out;
        // Yesterday's copy, readable and whole; answers, appended before the damage was found,
        // with or without its new rows (as after any failure once the appends began).
        auto now = contents(target_), day1 = contents(TempPostgres::instance().url("incr_day1")),
             day2 = contents(TempPostgres::instance().url("incr_day2"));
        EXPECT_TRUE(now["answers"] == day1["answers"] || now["answers"] == day2["answers"]) << now["answers"];
        // The kept tables' sequences are set as the build goes (setval is not transactional).
        for (auto* m : {&now, &day1})
            for (const char* k : {"answers", "seq:answers_id_seq", "seq:knowledge-elements_id_seq"}) m->erase(k);
        EXPECT_EQ(now, day1) << "a damaged block of a kept table leaves yesterday's copy";
        EXPECT_EQ(keys_and_triggers(target_), keys_and_triggers(TempPostgres::instance().url("incr_day1"))) << "with its keys and triggers";
    }
    FakeScalingo fake(scalingo_day2(dir.path(), false));
    auto r = from_scalingo(fake);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_GE(blocks_read_by_steps(r.out), 1) << "knowledge-elements' block, at least, arrived after the steps kept it:\n" << r.out;
    expect_note(r, "public.knowledge-elements: 30 new row(s) appended (key id above 3000), 3030 scanned");
    expect_equal_to("incr_day2", "after day 1 then day 2 from Scalingo");
}
