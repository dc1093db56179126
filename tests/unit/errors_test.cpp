// What an error means for the run (retry or not), what of it the history and the page show, and
// what a child process inherits. Pure functions; no database.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "pg_errors.hpp"
#include "process.hpp"
#include "threads.hpp"
#include "status_page.hpp"

using pixrep::ErrorKind;
using namespace pixrep::common;

TEST(SqlErrorKind, OnlyWhatCanHealIsTransient) {
    for (const char* state : {"08006", "08001", "57P01", "57P02", "57P03", "53300", "55P03", "57014", "40P01", "40001"})
        EXPECT_EQ(sql_error_kind(state, ""), ErrorKind::transient) << state;
    for (const char* state : {"42601", "22P02", "42P01", "23505", "42501", "53100", "XX000"})
        EXPECT_EQ(sql_error_kind(state, ""), ErrorKind::fatal) << state;
    EXPECT_EQ(message_error_kind("error: could not execute query: server closed the connection unexpectedly"), ErrorKind::transient);
    EXPECT_EQ(message_error_kind("FATAL:  terminating connection due to administrator command"), ErrorKind::transient);
    EXPECT_EQ(message_error_kind("the target database x gave no answer within 30 s to: SELECT 1"), ErrorKind::transient);
    // pg_restore's SQL errors, a post-SQL typo, a bad value in a row: the same again next time.
    EXPECT_EQ(message_error_kind("error: could not execute query: ERROR:  syntax error at or near \"SELEC\""), ErrorKind::fatal);
    EXPECT_EQ(message_error_kind("COPY into the target failed: ERROR:  invalid input value for enum status: \"paused\""), ErrorKind::fatal);
    EXPECT_EQ(message_error_kind("the restore is incomplete: 2 object(s) the plan restores are missing"), ErrorKind::fatal);
}

TEST(ErrorSummary, KeepsTheStatementAndMessageNotTheRowsItQuotes) {
    EXPECT_EQ(error_summary("pg_restore failed with 1 error(s): error: COPY failed for table \"users\": ERROR:  duplicate key value "
                            "violates unique constraint \"users_pkey\" DETAIL:  Key (email)=(jane@example.org) already exists. "
                            "CONTEXT:  COPY users, line 2"),
              "pg_restore failed with 1 error(s): error: COPY failed for table \"users\": ERROR:  duplicate key value violates "
              "unique constraint \"users_pkey\"");
    EXPECT_EQ(error_summary("ERROR:  new row violates check constraint \"c\"\nDETAIL:  Failing row contains (1, secret@x.org).\n"),
              "ERROR:  new row violates check constraint \"c\"");
    EXPECT_EQ(error_summary("COPY into the target failed: ERROR:  invalid input syntax for type integer: \"0612345678\""),
              "COPY into the target failed: ERROR:  invalid input syntax for type integer: \"...\"");
    EXPECT_EQ(error_summary(std::string(1000, 'x'), 50).size(), 50u);
}

TEST(ChildEnvironment, ChildrenGetOnlyWhatAClientNeeds) {
    std::string vars[] = {"PATH=/usr/bin", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC", "PGSSLMODE=require", "LD_LIBRARY_PATH=/app/.apt/lib",
                          "DATABASE_URL=postgres://u:pw@h/db", "SCALINGO_API_TOKEN=tk-us-secret", "PGPASSWORD=old",
                          "SOURCE_DATABASE_URL=postgres://r:pw@s/db", "TRIGGER_TOKEN=t", "NOTIFICATIONS=[]"};
    std::vector<char*> env;
    for (auto& v : vars) env.push_back(v.data());
    env.push_back(nullptr);
    ProcessSpec spec;
    spec.env = {{"PGPASSWORD", "new"}};
    auto out = child_env(spec, env.data());
    EXPECT_EQ(out, (std::vector<std::string>{"PATH=/usr/bin", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC", "PGSSLMODE=require",
                                             "LD_LIBRARY_PATH=/app/.apt/lib", "PGPASSWORD=new"}));
}

TEST(StatusPage, RunsWithoutTimesStillRender) {
    // A last-run.json written by a run that failed before it knew its start: the page renders.
    auto runs = nlohmann::json::array({{{"status", "failure"}, {"steps", {{"local-file", 1.5}}}, {"error", "boom"}},
                                       {{"id", 3}, {"status", "success"}, {"started_at", "2026"}, {"steps", {{"pg-restore", 2.0}}}}});
    std::string html;
    ASSERT_NO_THROW(html = pixrep::render_status_page(runs, 1800000000));
    EXPECT_NE(html.find("boom"), std::string::npos);
    EXPECT_NE(html.find("<svg id=\"chart\""), std::string::npos);
}

TEST(Threads, NothingAThreadThrowsAbortsTheProcess) {
    // What the download's writer thread does with a filesystem_error or a bad_alloc: returned.
    auto e = capture_error([] { throw std::filesystem::filesystem_error("cannot write", std::error_code(28, std::generic_category())); },
                           ErrorKind::fatal, "download of backup x failed");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::fatal);
    EXPECT_NE(std::string(e->what()).find("download of backup x failed: filesystem error: cannot write"), std::string::npos) << e->what();
    EXPECT_EQ(capture_error([] { throw pixrep::StepError(ErrorKind::transient, "cut"); }, ErrorKind::fatal, "x")->kind(), ErrorKind::transient);
    EXPECT_FALSE(capture_error([] {}, ErrorKind::fatal, "x"));
    // The reading side throws while the thread still runs: it is joined, not destroyed joinable.
    std::atomic<bool> done{false};
    EXPECT_THROW(
        {
            JoinedThread t([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                done = true;
            });
            throw std::runtime_error("extraction failed");
        },
        std::runtime_error);
    EXPECT_TRUE(done);
}

TEST(CutUtf8, NeverCutsInsideACharacterAndMendsBrokenBytes) {
    std::string e700;
    for (int i = 0; i < 700; ++i) e700 += "\xc3\xa9";  // é
    const auto cut = cut_utf8(e700, 600);
    EXPECT_EQ(cut.size(), 597u + 3u - 1u);  // 298 whole é (596 bytes), then "..."
    EXPECT_EQ(cut.substr(cut.size() - 3), "...");
    EXPECT_EQ(cut.substr(0, 2), "\xc3\xa9");
    EXPECT_EQ(cut_utf8("abc", 3), "abc");
    EXPECT_EQ(cut_utf8("abcd", 3), "...");
    EXPECT_EQ(cut_utf8("a\xff" "b\xc3", 10), "a?b?");  // a stray byte and a character cut by someone else
    EXPECT_EQ(cut_utf8("\xf0\x9f\x98\x80" "x", 5), "\xf0\x9f\x98\x80" "x");
    // The run's error as the history keeps it: 600 bytes at most, whole characters.
    const auto summary = error_summary("ERROR:  " + e700, 600);
    EXPECT_LE(summary.size(), 600u);
    EXPECT_EQ(cut_utf8(summary, 1000), summary);
}
