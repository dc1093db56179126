// The run's short sessions share their connections to the target: a session handed back serves
// the next one with nothing of its state, and only a clean, live one is handed on.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <pqxx/pqxx>

#include "db.hpp"
#include "harness.hpp"
#include "run_context.hpp"
#include "target.hpp"

using namespace pixrep;
using pixtest::TempPostgres;

namespace {

void use_target(HostEnv& env, const std::string& db) {
    env.target_ = make_target(TempPostgres::instance().create_target(db, db + "_role"), "DATABASE_URL");
}

std::string one(common::Session& s, const std::string& sql) {
    pqxx::nontransaction tx(s.conn());
    auto r = tx.exec(sql);
    return r[0][0].is_null() ? "(null)" : r[0][0].c_str();
}

}  // namespace

TEST(Connections, ASessionHandedBackServesTheNextWithNothingOfItsState) {
    HostEnv env;
    use_target(env, "conn_reuse");
    std::string pid, timeout, path;
    {
        common::Session first(env, "first");
        pid = one(first, "SELECT pg_backend_pid()");
        timeout = one(first, "SHOW statement_timeout");
        path = one(first, "SHOW search_path");
        one(first, "SET search_path = pg_catalog");
        one(first, "SET statement_timeout = '7s'");
        one(first, "CREATE TEMP TABLE left_behind (x int)");
        one(first, "PREPARE left_behind AS SELECT 1");
        one(first, "SELECT pg_advisory_lock(4242)");
    }
    ASSERT_EQ(env.idle_.size(), 1u) << "a clean session is handed back";
    {
        common::Session second(env, "second");
        EXPECT_EQ(one(second, "SELECT pg_backend_pid()"), pid) << "the same server process: no new connection";
        EXPECT_EQ(env.idle_.size(), 0u);
        EXPECT_EQ(one(second, "SELECT current_setting('application_name')"), "pix-db-replication second");
        EXPECT_EQ(one(second, "SHOW statement_timeout"), timeout) << "the connection's own settings are back";
        EXPECT_EQ(one(second, "SHOW search_path"), path);
        EXPECT_EQ(one(second, "SELECT to_regclass('pg_temp.left_behind') IS NULL"), "t");
        EXPECT_EQ(one(second, "SELECT count(*) FROM pg_prepared_statements"), "0");
        EXPECT_EQ(one(second, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"), "0");
    }
    EXPECT_EQ(env.idle_.size(), 1u);
    env.idle_.close_all();
    EXPECT_EQ(TempPostgres::instance().scalar("postgres", "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid), "0")
        << "the run closes what it kept";
}

TEST(Connections, OnlyAnIdleConnectionIsHandedBackAndADeadOneIsNotUsed) {
    HostEnv env;
    use_target(env, "conn_dirty");
    {
        common::Session open_tx(env, "open transaction");
        one(open_tx, "BEGIN");
        one(open_tx, "CREATE TABLE half_made (x int)");
    }
    EXPECT_EQ(env.idle_.size(), 0u) << "a session left inside a transaction is closed, never handed on";
    EXPECT_EQ(TempPostgres::instance().scalar("conn_dirty", "SELECT to_regclass('public.half_made') IS NULL"), "t");

    std::string pid;
    {
        common::Session s(env, "first");
        pid = one(s, "SELECT pg_backend_pid()");
    }
    ASSERT_EQ(env.idle_.size(), 1u);
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "SELECT pg_terminate_backend(" + pid + ")");
    for (int i = 0; i < 100 && pg.scalar("postgres", "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) != "0"; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    common::Session after(env, "after");
    EXPECT_NE(one(after, "SELECT pg_backend_pid()"), pid) << "a kept connection the server closed is dropped, a new one made";
    EXPECT_EQ(one(after, "SELECT 1"), "1");
}
