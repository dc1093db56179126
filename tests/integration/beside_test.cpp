// Tonight's copy built beside yesterday's, then swapped in: the same target as a direct restore
// of every kind of object pg_dump emits, readers who never see an empty or missing table, and
// each fault leaving yesterday's copy exactly as it was.
#include <sys/mount.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "fake_scalingo.hpp"
#include "replication_fixture.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Beside = Replication;
const std::string kEveryKind = std::string(PIXREP_SOURCE_DIR) + "/tests/fixtures/every-kind.toml";
const std::string kProduction = std::string(PIXREP_SOURCE_DIR) + "/config/production.toml";

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

const std::string kEveryKindLive = std::string(PIXREP_SOURCE_DIR) + "/tests/fixtures/every-kind-live.toml";

// The database of tests/fixtures/<corpus>.sql on the server of version `major`, made once by a
// database owner who is not a superuser (as production's is), and its backup.
struct Corpus {
    std::string url;  ///< The source database, as its owner.
    fs::path dump;
};

const Corpus& load_corpus(const std::string& name, int major = 15) {
    static std::map<std::pair<std::string, int>, Corpus> made;
    static TempDir dir;
    auto& c = made[{name, major}];
    if (!c.dump.empty()) return c;
    auto& pg = TempPostgres::instance(major);
    std::string db = name + "_src";
    std::replace(db.begin(), db.end(), '-', '_');
    const std::string url = pg.create_target(db, "owner_" + db, "src-pw");
    auto r = pixtest::run_cmd({TempPostgres::bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f",
                               std::string(PIXREP_SOURCE_DIR) + "/tests/fixtures/" + name + ".sql"});
    if (r.code != 0) throw std::runtime_error("fixture load failed: " + r.out);
    auto out = dir / (db + "_" + std::to_string(major) + ".pgsql");
    r = pixtest::run_cmd({TempPostgres::bin("pg_dump", major), "-Fc", "-d", url, "-f", out.string()});
    if (r.code != 0) throw std::runtime_error("pg_dump failed: " + r.out);
    c.url = url;
    c.dump = out;
    return c;
}

const fs::path& corpus_dump(const std::string& name, int major = 15) { return load_corpus(name, major).dump; }

const fs::path& every_kind_dump(int major = 15) { return corpus_dump("every-kind", major); }

// What a reader sees of a target on the server of version `major`, as text: pg_dump's schema
// and data, the tool's own schemas left out (pg_dump's random \restrict key too).
std::string snapshot(const std::string& db, bool data, int major = 15) {
    // Its own file: pg_dump's warnings (circular foreign keys, with --data-only) go to stderr,
    // which would come between the lines at whatever moment they were written.
    TempDir dir;
    const auto file = dir / "snapshot.sql";
    auto r = pixtest::run_cmd({TempPostgres::bin("pg_dump", major), data ? "--data-only" : "--schema-only", "--no-owner", "-N", "pix_db_replication*",
                               "-d", TempPostgres::instance(major).url(db), "-f", file.string()});
    if (r.code != 0) throw std::runtime_error("pg_dump failed: " + r.out);
    static const std::regex restrict_key(R"(\\(un)?restrict [A-Za-z0-9]+)");
    return std::regex_replace(pixtest::read_file(file), restrict_key, "\\$1restrict");
}

// The first line where `a` and `b` differ, with its neighbours, for a readable failure.
std::string first_difference(const std::string& a, const std::string& b) {
    std::istringstream x(a), y(b);
    std::vector<std::string> before;
    std::string l, m;
    for (int n = 1;; ++n) {
        bool more_a = static_cast<bool>(std::getline(x, l)), more_b = static_cast<bool>(std::getline(y, m));
        if (!more_a && !more_b) return "identical";
        if (!more_a || !more_b || l != m) {
            std::string out = "first difference at line " + std::to_string(n) + ":\n";
            for (const auto& p : before) out += "  " + p + "\n";
            return out + "- " + (more_a ? l : "<end>") + "\n+ " + (more_b ? m : "<end>");
        }
        before.push_back(l);
        if (before.size() > 4) before.erase(before.begin());
    }
}

// What the copy differs in from pg_restore's, on purpose, left out of both: foreign keys are added
// NOT VALID after the data (fk-constraints: no validation scan), and comments on extensions are
// left out (only an extension's owner may set one, which the target role often is not).
std::string documented(const std::string& schema) {
    static const std::regex not_valid(R"((FOREIGN KEY [^\n]*?) NOT VALID;)");
    static const std::regex extension_comment(R"(--\n-- Name: EXTENSION [^\n]*; Type: COMMENT;[^\n]*\n--\n\nCOMMENT ON EXTENSION [^\n]*\n\n\n)");
    return std::regex_replace(std::regex_replace(schema, not_valid, "$1;"), extension_comment, "");
}

// pg_restore's errors, when each one is a comment on an extension the role does not own.
bool only_extension_comments_refused(const std::string& out) {
    std::istringstream in(out);
    int errors = 0, comments = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.find("error: could not execute query") != std::string::npos) ++errors;
        if (line.find("Command was: COMMENT ON EXTENSION") != std::string::npos) ++comments;
    }
    return errors > 0 && errors == comments;
}

long long tool_schemas(const std::string& url) {
    return count(url, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pix\\_db\\_replication\\_%'");
}

// A read-only role reading two tables as fast as it can, counting what failed or came back empty.
class Probe {
public:
    Probe(const std::string& url, std::vector<std::string> queries) : url_(url), queries_(std::move(queries)) {
        thread_ = std::thread([this] { loop(); });
    }
    ~Probe() { stop(); }
    void stop() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
    }
    long reads() const { return reads_; }
    long failed() const { return failed_; }
    long empty() const { return empty_; }
    std::string first_problem() const { return first_; }

private:
    void loop() {
        while (!done_) {
            for (const auto& q : queries_) {
                try {
                    pqxx::connection c(url_);
                    pqxx::nontransaction tx(c);
                    const auto n = tx.exec(q)[0][0].as<long long>();
                    if (n == 0) note(empty_, q + ": 0 rows");
                } catch (const std::exception& e) {
                    note(failed_, q + ": " + e.what());
                }
                ++reads_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    void note(std::atomic<long>& counter, const std::string& what) {
        if (counter++ == 0 && first_.empty()) first_ = what;
    }
    std::string url_;
    std::vector<std::string> queries_;
    std::atomic<bool> done_{false};
    std::atomic<long> reads_{0}, failed_{0}, empty_{0};
    std::string first_;
    std::thread thread_;
};

std::string make_reader(const std::string& db) {
    auto& pg = TempPostgres::instance();
    const std::string role = "reader_" + db;
    pg.exec("postgres", "DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN PASSWORD 'ro'");
    return role;
}

}  // namespace

namespace {

class BesideFidelity : public Replication {
protected:
    // The differential test: the backup of `corpus`, made on the server of version `major`, into
    // two targets there: `db` built beside (two nights: the second swaps over the first), and
    // another restored in place by the real pg_restore, by the same kind of non-superuser role.
    // Both must read the same: pg_dump's schema and data, and each of `queries`. `env` says which
    // tools the runs find. Returns the schema, for the corpus's own checks.
    std::string differential(const std::string& corpus, int major, const std::string& db, const std::string& url,
                             std::map<std::string, std::string> env, const std::vector<std::string>& queries) {
        const auto& dump = corpus_dump(corpus, major);
        auto& pg = TempPostgres::instance(major);
        const std::string other_db = db + "_in_place";
        const std::string other = pg.create_target(other_db, "replica_" + other_db, "s3cr3t-pw");
        env["DATABASE_URL"] = url;
        for (int night = 1; night <= 2; ++night) {
            auto r = replicate(dump, env, {"run"}, kEveryKind);
            EXPECT_EQ(r.code, 0) << corpus << " night " << night << ":\n" << r.out;
            if (r.code != 0) return "";
            EXPECT_NE(r.out.find("tonight's copy swapped in"), std::string::npos) << r.out;
        }
        env["DATABASE_URL"] = other;
        env["REFRESH"] = "in-place";
        auto r = replicate(dump, env, {"run"}, kEveryKind);
        EXPECT_EQ(r.code, 0) << r.out;
        if (r.code != 0) return "";
        // The tool in place is the real pg_restore, with the tool's plan; against pg_restore run
        // by hand, its copy differs only where it means to.
        const std::string direct_db = db + "_direct";
        const std::string direct_url = pg.create_target(direct_db, "replica_" + direct_db, "s3cr3t-pw");
        auto d = pixtest::run_cmd({TempPostgres::bin("pg_restore", major), "--no-owner", "--no-privileges", "-d", direct_url, dump.string()});
        EXPECT_TRUE(d.code == 0 || only_extension_comments_refused(d.out)) << corpus << ": pg_restore by hand:\n" << d.out;
        const std::string direct = snapshot(direct_db, false, major), direct_data = snapshot(direct_db, true, major);
        const std::string schema = snapshot(db, false, major), in_place = snapshot(other_db, false, major);
        EXPECT_TRUE(documented(in_place) == documented(direct)) << corpus << " in place vs pg_restore: " << first_difference(documented(in_place), documented(direct));
        EXPECT_TRUE(snapshot(other_db, true, major) == direct_data) << corpus << " in place vs pg_restore's data";
        std::printf("DIFFERENTIAL %s on PostgreSQL %d: in place vs pg_restore by hand: schema %s (but for the documented differences), data %s\n",
                    corpus.c_str(), major, documented(in_place) == documented(direct) ? "identical" : "DIFFERENT",
                    snapshot(other_db, true, major) == direct_data ? "identical" : "DIFFERENT");
        EXPECT_TRUE(schema == in_place) << corpus << ": " << first_difference(schema, in_place);
        const std::string data = snapshot(db, true, major), in_place_data = snapshot(other_db, true, major);
        EXPECT_TRUE(data == in_place_data) << corpus << ": " << first_difference(data, in_place_data);
        EXPECT_EQ(schema.find("pix_db_replication_build"), std::string::npos) << "a build schema's name is left in the copy";
        EXPECT_EQ(tool_schemas(url), 0);
        for (const auto& q : queries)
            EXPECT_EQ(pg.scalar(db, "SET search_path = public; " + q), pg.scalar(other_db, "SET search_path = public; " + q)) << corpus << ": " << q;
        std::printf("DIFFERENTIAL %s on PostgreSQL %d: built beside (two nights) vs pg_restore in place: schema %s, data %s\n", corpus.c_str(),
                    major, schema == in_place ? "identical" : "DIFFERENT", data == in_place_data ? "identical" : "DIFFERENT");
        // The same database read live: streamed into tonight's copy, or dumped by pg_dump --jobs.
        for (const std::string mode : {"stream", "dump"}) {
            const std::string live_db = db + "_live_" + mode;
            env["DATABASE_URL"] = pg.create_target(live_db, "replica_" + live_db, "s3cr3t-pw");
            env["SOURCE_DATABASE_URL"] = load_corpus(corpus, major).url;
            env["SOURCE_MODE"] = mode;
            env.erase("REFRESH");
            r = replicate("", env, {"run"}, kEveryKindLive);
            EXPECT_EQ(r.code, 0) << corpus << " live " << mode << ":\n" << r.out;
            if (r.code != 0) continue;
            const std::string live_schema = snapshot(live_db, false, major), live_data = snapshot(live_db, true, major);
            EXPECT_TRUE(live_schema == in_place) << corpus << " live " << mode << ": " << first_difference(live_schema, in_place);
            EXPECT_TRUE(live_data == in_place_data) << corpus << " live " << mode << ": " << first_difference(live_data, in_place_data);
            for (const auto& q : queries)
                EXPECT_EQ(pg.scalar(live_db, "SET search_path = public; " + q), pg.scalar(other_db, "SET search_path = public; " + q))
                    << corpus << " live " << mode << ": " << q;
            std::printf("DIFFERENTIAL %s on PostgreSQL %d: live %s vs pg_restore in place: schema %s, data %s\n", corpus.c_str(), major,
                        mode.c_str(), live_schema == in_place ? "identical" : "DIFFERENT", live_data == in_place_data ? "identical" : "DIFFERENT");
        }
        return schema;
    }

    void every_kind(int major, const std::string& db, const std::string& url, std::map<std::string, std::string> env) {
        const std::string schema = differential(
            "every-kind", major, db, url, std::move(env),
            {"SELECT count(*) || ',' || sum(twice) FROM active_users", "SELECT user_count()", "SELECT sum(n) FROM analytics.user_stats",
             "SELECT count(*) FROM events", "SELECT count(*) FROM analytics.daily_view", "SELECT total(score) FROM users",
             "SELECT count(*) FROM users WHERE \"firstName\" % 'Name12'", "SELECT string_agg(\"Value\", ',') FROM \"Odd Schema\".\"Mixed Case\"",
             "SELECT floatrange(1, 2)::text"});
        for (const char* kind : {"CREATE TABLE public.events_2025", "GENERATED BY DEFAULT AS IDENTITY", "CREATE MATERIALIZED VIEW analytics.user_stats",
                                 "BEGIN ATOMIC", "CREATE PROCEDURE public.reset_scores", "CREATE AGGREGATE public.total", "CREATE TRIGGER tickets_touch",
                                 "CREATE RULE daily_view_insert", "CREATE POLICY answers_own", "gin_trgm_ops", "EXCLUDE USING gist",
                                 "GENERATED ALWAYS AS", "AS RANGE", "CREATE DOMAIN public.positive", "\"Odd Schema\".\"Mixed Case\"",
                                 "COMMENT ON SCHEMA analytics"})
            EXPECT_NE(schema.find(kind), std::string::npos) << kind << " is missing from the copy";
        EXPECT_EQ(TempPostgres::instance(major).scalar(db, "SELECT count(*) FROM public.users"), "500");
    }

    // Ordinary production features, each of which once failed a night or gave a wrong copy.
    void production_features(int major, const std::string& db, const std::string& url, std::map<std::string, std::string> env) {
        const std::string schema = differential(
            "production-features", major, db, url, std::move(env),
            {"SELECT count(*) FROM users WHERE email = 'user7@example.org'", "SELECT as_text || ' ' || as_literal || ' ' || as_regclass::text FROM names",
             "SELECT count(*) FROM shop.matching", "SELECT count(*) FROM shop.cheap", "SELECT n FROM totals",
             "SELECT count(*) FROM users WHERE to_tsvector('public.fr_simple'::regconfig, bio) @@ to_tsquery('public.fr_simple'::regconfig, 'monde')",
             "SELECT string_agg(pubname || ':' || schemaname || '.' || tablename, ',' ORDER BY tablename) FROM pg_publication_tables",
             "SELECT count(*) FROM shop.orders", "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'citext'"});
        auto& pg = TempPostgres::instance(major);
        EXPECT_EQ(pg.scalar(db, "SELECT as_text FROM public.names"), "public.users") << "a text that looks like a name is text";
        EXPECT_EQ(pg.scalar(db, "SELECT n FROM public.totals"), "300") << "the view reads tonight's users";
        EXPECT_EQ(pg.scalar(db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'email'"),
                  "ext.citext");
        for (const char* kind : {"CREATE TEXT SEARCH CONFIGURATION public.fr_simple", "CREATE COLLATION shop.posix_c2", "CREATE OPERATOR public.=@=",
                                 "CREATE CONVERSION public.latin1_conv", "CREATE PUBLICATION analytics", "CREATE POLICY orders_positive"})
            EXPECT_NE(schema.find(kind), std::string::npos) << kind << " is missing from the copy";
    }

    // Every kind pg_dump's own tests cover that a database owner may create, in public and in a
    // schema of its own.
    void pg_dump_kinds(int major, const std::string& db, const std::string& url, std::map<std::string, std::string> env) {
        std::vector<std::string> queries{
            "SELECT string_agg(pubname || ':' || schemaname || '.' || tablename, ',' ORDER BY pubname, schemaname, tablename) FROM pg_publication_tables",
            "SELECT count(*) FROM pg_cast c JOIN pg_type t ON t.oid = c.castsource WHERE t.typname = 'colour'"};
        for (const std::string s : {"public", "kinds"})
            for (const std::string q :
                 {"SELECT count(*) || ',' || sum(next) FROM S.parent_view", "SELECT string_agg(n::text, ',') FROM S.numbers",
                  "SELECT concat_ws(',', S.plpgsql_f(1, 2, 3), S.add_one(1), (SELECT sum(x) FROM S.set_f() x))", "SELECT S.product(x) FROM generate_series(1, 5) x",
                  "SELECT S.ordered_concat() WITHIN GROUP (ORDER BY label DESC) FROM S.parent WHERE id < 1005", "SELECT 2 OPERATOR(S.###) 3",
                  "SELECT sum(n) FROM S.colour_counts", "SELECT count(*) FROM S.measurement_2025_paris", "SELECT count(*) FROM ONLY S.parent",
                  "SELECT count(*) FROM S.parent", "SELECT count(*) FROM S.refs", "SELECT last_value || ',' || is_called FROM S.counter",
                  "SELECT count(*) FROM S.parent WHERE to_tsvector('S.simple_cfg'::regconfig, coalesce(note, '')) @@ 'note'::tsquery",
                  "SELECT relispopulated FROM pg_class WHERE oid = 'S.unpopulated'::regclass", "SELECT S.colour_text('green')"}) {
                std::string sql = q;
                for (std::size_t at; (at = sql.find("S.")) != std::string::npos;) sql.replace(at, 2, s + ".");
                queries.push_back(sql);
            }
        differential("pg-dump-kinds", major, db, url, std::move(env), queries);
    }
};

}  // namespace

TEST_F(BesideFidelity, PgDumpsOwnKindsAreTheSameAsRestoredInPlace) { pg_dump_kinds(15, db_, target_, {}); }

TEST_F(BesideFidelity, PgDumpsOwnKindsAreTheSameAsRestoredInPlaceOnPostgres18) {
    const std::string db = db_ + "_pg18";
    const std::string url = TempPostgres::instance(18).create_target(db, "replica_" + db, "s3cr3t-pw");
    pg_dump_kinds(18, db, url, {{"PATH", TempPostgres::bin_dir(18) + ":" + std::getenv("PATH")}});
}

TEST_F(BesideFidelity, EveryKindOfObjectIsTheSameAsRestoredInPlace) { every_kind(15, db_, target_, {}); }

TEST_F(BesideFidelity, EveryKindOfObjectIsTheSameAsRestoredInPlaceOnPostgres18) {
    // A backup pg_dump 18 made, built beside on a PostgreSQL 18 target (forky's) by its own
    // pg_restore, first on PATH: the build's rewriting must follow what pg_dump 18 writes.
    const std::string db = db_ + "_pg18";
    const std::string url = TempPostgres::instance(18).create_target(db, "replica_" + db, "s3cr3t-pw");
    every_kind(18, db, url, {{"PATH", TempPostgres::bin_dir(18) + ":" + std::getenv("PATH")}});
}

TEST_F(BesideFidelity, ProductionFeaturesAreTheSameAsRestoredInPlace) { production_features(15, db_, target_, {}); }

TEST_F(BesideFidelity, ProductionFeaturesAreTheSameAsRestoredInPlaceOnPostgres18) {
    const std::string db = db_ + "_pg18";
    const std::string url = TempPostgres::instance(18).create_target(db, "replica_" + db, "s3cr3t-pw");
    production_features(18, db, url, {{"PATH", TempPostgres::bin_dir(18) + ":" + std::getenv("PATH")}});
}

TEST_F(BesideFidelity, AnExtensionsSchemaStaysAndPostSqlObjectsEndWhereTheirSqlSays) {
    const auto& dump = corpus_dump("production-features");
    auto& pg = TempPostgres::instance();
    auto email_type = [&] {
        return pg.scalar(db_, "SELECT coalesce((SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.users'::regclass "
                              "AND attname = 'email' AND NOT attisdropped), 'gone')");
    };
    // One night in place, then built beside: the extension's schema is the target's, never yesterday's copy's.
    auto r = replicate(dump, {{"REFRESH", "in-place"}}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(email_type(), "ext.citext") << r.out;
    EXPECT_EQ(pg.scalar(db_, "SELECT count(*) FROM pg_extension WHERE extname = 'citext'"), "1");
    // The steps' own SQL, naming its schema: in tonight's copy, swapped in, there after every night.
    for (const char* pool : {"false", "true"}) {
        TempDir dir;
        const auto config = dir / "post-sql.toml";
        std::ofstream(config) << pixtest::read_file(kEveryKind) << "\n[[steps]]\nplugin = \"post-sql\"\npool = " << pool
                              << "\nstatements = ['CREATE VIEW public.students AS SELECT id, email FROM public.users WHERE id <= 10', "
                                 "'CREATE TABLE shop.digest AS SELECT count(*) AS n FROM public.users WHERE id <= 10']\n";
        for (int night = 1; night <= 2; ++night) {
            r = replicate(dump, {}, {"run"}, config.string());
            ASSERT_EQ(r.code, 0) << "pool = " << pool << ", night " << night << ":\n" << r.out;
            EXPECT_EQ(pg.scalar(db_, "SELECT count(*) FROM public.students"), "10") << "pool = " << pool << ", night " << night;
            EXPECT_EQ(pg.scalar(db_, "SELECT n FROM shop.digest"), "10") << "pool = " << pool << ", night " << night;
            EXPECT_EQ(email_type(), "ext.citext");
        }
    }
    // A later night with more users: the materialized view over a PL/pgSQL function counts
    // tonight's users, not yesterday's.
    auto& pg15 = TempPostgres::instance();
    pg15.exec("postgres", "DROP DATABASE IF EXISTS pf_more");
    pg15.exec("postgres", "CREATE DATABASE pf_more TEMPLATE production_features_src");
    pg15.exec("pf_more", "INSERT INTO public.users (email, name) SELECT 'more' || i || '@example.org', 'More' || i FROM generate_series(1, 25) i");
    const auto more = work_.path().parent_path() / "pf_more.pgsql";
    auto d = pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-Fc", "-d", pg15.url("pf_more"), "-f", more.string()});
    ASSERT_EQ(d.code, 0) << d.out;
    r = replicate(more, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(pg.scalar(db_, "SELECT n FROM public.totals"), "325") << "refreshed on tonight's users, after the swap";
    fs::remove(more);
    EXPECT_EQ(tool_schemas(target_), 0);
}

TEST_F(Beside, ReadersNeverSeeAnEmptyOrMissingTableDuringARun) {
    auto r = replicate(sources().pix_tar);
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string reader = make_reader(db_);
    {
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        tx.exec("GRANT USAGE ON SCHEMA public TO " + reader + "; GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + reader);
    }
    const std::string url = TempPostgres::instance().url(db_, reader, "ro");
    const std::vector<std::string> queries{"SELECT count(*) FROM users", "SELECT count(*) FROM \"schooling-registrations\""};
    // Every CREATE TABLE of the build takes 2 s: the run lasts long enough for the reader's 50
    // reads, a new connection each, on a machine busy elsewhere too (1 s gave 48 there).
    slow_restore(2);
    for (const std::string mode : {"beside", "in-place"}) {
        Probe probe(url, queries);
        const auto t0 = Clock::now();
        r = replicate(sources().pix_tar, {{"REFRESH", mode}});
        const double run = since(t0);
        probe.stop();
        ASSERT_EQ(r.code, 0) << r.out;
        std::printf("READERS %s: %ld reads over a %.1f s run, %ld failed, %ld empty%s%s\n", mode.c_str(), probe.reads(), run, probe.failed(),
                    probe.empty(), probe.first_problem().empty() ? "" : "; first: ", probe.first_problem().c_str());
        EXPECT_GT(probe.reads(), 50) << mode;
        if (mode == "beside") {
            EXPECT_EQ(probe.failed(), 0) << probe.first_problem();
            EXPECT_EQ(probe.empty(), 0) << probe.first_problem();
        } else {
            EXPECT_GT(probe.failed() + probe.empty(), 0) << "in place, readers see the target emptied: the dark window the report states";
            EXPECT_NE(r.out.find("in place: readers had no replica tables for "), std::string::npos) << r.out;
        }
    }
}

TEST_F(Beside, EachFaultBeforeTheSwapLeavesYesterdaysCopyByteIdentical) {
    auto r = replicate(sources().pix_tar);
    ASSERT_EQ(r.code, 0) << r.out;
    // Yesterday's copy as readers see it, taken with the fault in place (its functions and event
    // triggers are the superuser's, in the same database), just before the faulted run.
    std::string schema, data;
    auto before = [&] { schema = snapshot(db_, false), data = snapshot(db_, true); };
    auto intact = [&](const char* fault) {
        const std::string now = snapshot(db_, false), rows = snapshot(db_, true);
        EXPECT_TRUE(now == schema) << fault << ": yesterday's schema changed: " << first_difference(schema, now);
        EXPECT_TRUE(rows == data) << fault << ": yesterday's rows changed: " << first_difference(data, rows);
    };
    slow_restore(30);
    before();
    {  // kill -9 in the middle of the build: nothing can clean up; the next run does, first.
        auto p = start({"run"});
        ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        p->signal(SIGKILL);
        EXPECT_EQ(p->wait_exit(10), 128 + SIGKILL);
        // Its sessions end as the server notices the client gone (client_connection_check_interval).
        for (auto t = Clock::now(); advisory_locks() > 0 && since(t) < 15;) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        intact("kill -9");
        std::printf("FAULT beside kill -9 during the build: yesterday identical, %lld tool schema(s) left for the next run\n", tool_schemas(target_));
    }
    {  // SIGTERM (a deployment): the build is removed at the stop.
        auto p = start({"run"});
        ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        const auto t0 = Clock::now();
        p->signal(SIGTERM);
        EXPECT_EQ(p->wait_exit(30), 143) << p->output();
        EXPECT_LT(since(t0), 25);
        intact("SIGTERM");
        EXPECT_EQ(tool_schemas(target_), 0) << p->output();
        std::printf("FAULT beside SIGTERM during the build: exit 143 in %.1fs, yesterday identical, build removed\n", since(t0));
    }
    TempPostgres::instance().exec(db_, "DROP EVENT TRIGGER slow");
    {  // The server restarts in the middle of the build.
        TempPostgres::instance().exec(db_, "CREATE FUNCTION public.restart_once() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER "
                                           "SET search_path = public AS $$ BEGIN PERFORM pg_sleep(1); END $$; "
                                           "CREATE EVENT TRIGGER restart_once ON ddl_command_end WHEN TAG IN ('CREATE TABLE') "
                                           "EXECUTE FUNCTION public.restart_once()");
        before();
        auto p = start({"run"});
        ASSERT_NE(p->wait_for("\"msg\":\"restore started\"", 30), "") << p->output();
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        auto& pg = TempPostgres::instance();
        // pg_ctl restart starts the server again with the options it was started with.
        auto rc = pixtest::run_cmd({"runuser", "-u", "postgres", "--", TempPostgres::bin("pg_ctl"), "-D", (pg.dir() / "data").string(), "-m",
                                    "fast", "-w", "-t", "60", "restart", "-l", (pg.dir() / "server.log").string()});
        ASSERT_EQ(rc.code, 0) << rc.out;
        EXPECT_EQ(p->wait_exit(60), 1) << p->output();
        intact("server restart");
        pg.exec(db_, "DROP EVENT TRIGGER restart_once");
        std::printf("FAULT beside server restart during the build: exit 1, yesterday identical\n");
    }
    {  // A restore error (every CREATE VIEW refused), retried: the retries rebuild beside.
        TempPostgres::instance().exec(db_, "CREATE FUNCTION public.no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE "
                                           "EXCEPTION 'views are not allowed here'; END $$; CREATE EVENT TRIGGER no_views ON ddl_command_start "
                                           "WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION public.no_views()");
        before();
        r = replicate(sources().pix_tar, {{"MAX_RETRY_COUNT", "2"}, {"RETRY_MIN_DELAY", "100ms"}});
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_NE(r.out.find("views are not allowed here"), std::string::npos) << r.out;
        intact("restore error");
        TempPostgres::instance().exec(db_, "DROP EVENT TRIGGER no_views");
        EXPECT_EQ(tool_schemas(target_), 0);
    }
    // The next good run completes, and leaves nothing of the tool's beside the copy.
    r = replicate(sources().orig_tar);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(tool_schemas(target_), 0);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
    EXPECT_FALSE(has_table("campaign-participations")) << "yesterday's tables the backup no longer has are gone";
}

TEST_F(Beside, AReadersLongQueryDelaysTheSwapNeverTheReverseAndAStopLeavesYesterday) {
    auto r = replicate(sources().orig_tar);
    ASSERT_EQ(r.code, 0) << r.out;
    pqxx::connection reader(TempPostgres::instance().url(db_));
    auto tx = std::make_unique<pqxx::work>(reader);
    tx->exec("SELECT count(*) FROM test_table");  // holds its lock until the transaction ends
    auto p = start({"run"}, {{"BACKUP_FILE", sources().pix_tar.string()}});
    ASSERT_NE(p->wait_for("\"msg\":\"rows loaded\"", 30), "") << p->output();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    // Another reader comes while the swap waits: it is served, never queued for long.
    const auto t0 = Clock::now();
    EXPECT_EQ(count(target_, "SELECT count(*) FROM test_table"), 100000);
    EXPECT_LT(since(t0), 8.0) << "a new reader queued behind the swap longer than one lock_try (5 s)";
    tx->commit();
    tx.reset();
    EXPECT_EQ(p->wait_exit(60), 0) << p->output();
    EXPECT_TRUE(has_table("users"));
    EXPECT_NE(p->output().find("tries that gave way to readers' locks"), std::string::npos) << p->output();
    // A stop while the swap waits: yesterday's copy stays.
    tx = std::make_unique<pqxx::work>(reader);
    tx->exec("SELECT count(*) FROM users");
    p = start({"run"}, {{"BACKUP_FILE", sources().orig_tar.string()}});
    ASSERT_NE(p->wait_for("\"msg\":\"rows loaded\"", 30), "") << p->output();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait_exit(30), 143) << p->output();
    tx->commit();
    EXPECT_TRUE(has_table("users"));
    EXPECT_FALSE(has_table("test_table"));
    EXPECT_EQ(tool_schemas(target_), 0);
}

TEST_F(Beside, KeepPreviousThenRollbackSwapsYesterdayBack) {
    ASSERT_EQ(replicate(sources().pix_tar).code, 0);
    const std::string yesterday = snapshot(db_, true);
    auto r = replicate(sources().orig_tar, {{"KEEP_PREVIOUS", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has_table("test_table"));
    EXPECT_NE(r.out.find("yesterday's copy is kept in pix_db_replication_prev_public"), std::string::npos) << r.out;
    auto rb = replicate(sources().orig_tar, {}, {"rollback"});
    ASSERT_EQ(rb.code, 0) << rb.out;
    EXPECT_TRUE(has_table("users"));
    EXPECT_FALSE(has_table("test_table"));
    EXPECT_TRUE(snapshot(db_, true) == yesterday) << first_difference(yesterday, snapshot(db_, true));
    rb = replicate(sources().orig_tar, {}, {"rollback"});  // and back again
    ASSERT_EQ(rb.code, 0) << rb.out;
    EXPECT_TRUE(has_table("test_table"));
    // The next run drops the kept copy first; with nothing kept, rollback says so.
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    EXPECT_EQ(tool_schemas(target_), 0);
    rb = replicate(sources().orig_tar, {}, {"rollback"});
    EXPECT_EQ(rb.code, 1);
    EXPECT_NE(rb.out.find("nothing to roll back"), std::string::npos) << rb.out;
}

TEST_F(Beside, ATargetThatFillsDuringTheBuildSaysHowMuchRoomWasMissing) {
    // The target role's objects live in a tablespace on a small disk, room for one copy only.
    auto& pg = TempPostgres::instance();
    TempDir dir;
    ASSERT_EQ(::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=64m"), 0) << std::strerror(errno);
    struct Unmount {
        fs::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{dir.path()};
    ASSERT_EQ(pixtest::run_cmd({"chown", "postgres", dir.path().string()}).code, 0);
    const std::string role = pg.scalar(db_, "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'keep_me'");
    const std::string space = "small_" + db_;
    pg.exec("postgres", "CREATE TABLESPACE " + space + " OWNER " + role + " LOCATION '" + dir.path().string() + "'");
    pg.exec("postgres", "ALTER ROLE " + role + " IN DATABASE " + db_ + " SET default_tablespace = " + space);
    auto r = replicate(sources().pix_tar, {{"RESTORE_ANSWERS_AND_KES", "true"}});
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string data = snapshot(db_, true);
    const long long used = std::stoll(pg.scalar("postgres", "SELECT pg_tablespace_size('" + space + "')"));
    ASSERT_EQ(::mount("tmpfs", dir.path().c_str(), "tmpfs", MS_REMOUNT, ("size=" + std::to_string((used * 3 / 2 + 4095) / 4096 * 4096)).c_str()), 0)
        << std::strerror(errno);
    r = replicate(sources().pix_tar, {{"RESTORE_ANSWERS_AND_KES", "true"}});
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("the target's disk filled while building tonight's copy beside yesterday's"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("more room is needed; yesterday's copy is intact"), std::string::npos) << r.out;
    EXPECT_TRUE(snapshot(db_, true) == data) << first_difference(data, snapshot(db_, true));
    EXPECT_EQ(tool_schemas(target_), 0);
    pg.exec("postgres", "ALTER ROLE " + role + " IN DATABASE " + db_ + " RESET default_tablespace");
    // Empties the small disk before it goes.
    pg.exec(db_, "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS pix_db_replication CASCADE");
    pg.exec("postgres", "DROP TABLESPACE IF EXISTS " + space);
}

namespace {

// A fake Scalingo with one app, one PostgreSQL addon and one done backup: `archive`, sent at
// `bytes_per_s`.
json one_backup(const fs::path& archive, long long bytes_per_s) {
    const long long size = static_cast<long long>(fs::file_size(archive));
    return {{"api_token", kToken},
            {"apps", {{"pix-api-production", {{{"id", "ad-pg-1"}, {"app_id", "app-1"}, {"resource_id", "pix_api_1234"}, {"status", "running"},
                                                {"plan", {{"id", "p2"}, {"name", "postgresql-business-1024"}}},
                                                {"addon_provider", {{"id", "postgresql"}, {"name", "PostgreSQL"}}}}}}}},
            {"backups", {{"ad-pg-1", {{{"id", "bk-1"}, {"name", "pix_api_1234"}, {"status", "done"}, {"created_at", rfc3339(std::time(nullptr) - 600, 0)},
                                       {"started_at", nullptr}, {"size", size}, {"database_id", "db-1"}, {"method", "periodic"}}}}}},
            {"archives", {{"bk-1", archive.string()}}},
            {"throttle_bps", bytes_per_s},
            {"faults", json::object()}};
}

// Where `msg` is first logged in `out`, npos when never.
std::size_t logged(const std::string& out, const std::string& msg) { return out.find("\"msg\":\"" + msg + "\""); }

}  // namespace

TEST_F(Beside, TheBuildBeginsWhileTheBackupArrivesAndADamagedEndLeavesYesterday) {
    const long long size = static_cast<long long>(fs::file_size(sources().pix_tar));
    {  // The download lasts about 5 s: tables are loaded as their blocks arrive, the swap after the last.
        FakeScalingo fake(one_backup(sources().pix_tar, size / 5));
        auto r = replicate("", fake.env(), {"run"}, kProduction);
        ASSERT_EQ(r.code, 0) << r.out;
        const auto toc = logged(r.out, "table of contents verified: the build may start while the data arrives"),
                   started = logged(r.out, "restore started"), done = logged(r.out, "download done"),
                   progress = logged(r.out, "restore progress"), swapped = r.out.find("tonight's copy swapped in");
        ASSERT_NE(done, std::string::npos) << r.out;
        EXPECT_LT(toc, started) << r.out;
        EXPECT_LT(started, done) << "the build waited for the whole download:\n" << r.out;
        EXPECT_LT(progress, done) << "no table was loaded while the backup arrived (a progress record says one was):\n" << r.out;
        EXPECT_LT(logged(r.out, "backup verified"), swapped) << r.out;
        EXPECT_EQ(count(target_, "SELECT count(*) FROM users"), 300);
    }
    // Tonight's backup is damaged near its end: the build has begun when the damage arrives.
    auto bytes = pixtest::read_file(sources().pix_dump);
    const auto zlib = bytes.find("\x78\x9c", bytes.size() * 3 / 4);
    ASSERT_NE(zlib, std::string::npos);
    ASSERT_LT(zlib + 40, bytes.size());
    bytes[zlib + 30] ^= 0x55;
    TempDir d;
    pixtest::write_file(d / "20261124010203_pix.pgsql", bytes);
    ASSERT_EQ(pixtest::run_cmd({"tar", "czf", (d / "damaged.tar.gz").string(), "-C", d.path().string(), "./20261124010203_pix.pgsql"}).code, 0);
    const std::string schema = snapshot(db_, false), data = snapshot(db_, true);
    FakeScalingo fake(one_backup(d / "damaged.tar.gz", size / 3));
    // Reusing unchanged tables would wait for their blocks (their checksums) before the build:
    // this night is about a build that begins while the backup arrives.
    auto off = fake.env();
    off["REUSE_UNCHANGED_TABLES"] = "false";
    auto r = replicate("", off, {"run"}, kProduction);
    EXPECT_EQ(r.code, 2) << "input that cannot heal, yesterday's copy untouched:\n" << r.out;
    EXPECT_NE(r.out.find("is corrupt: the data of TABLE DATA public."), std::string::npos) << r.out;
    EXPECT_LT(logged(r.out, "restore started"), logged(r.out, "replication failed")) << "the damage came after the build began:\n" << r.out;
    EXPECT_NE(r.out.find("\"failed_step\":\"scalingo-source\""), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("tonight's copy swapped in"), std::string::npos) << r.out;
    EXPECT_TRUE(snapshot(db_, false) == schema) << first_difference(schema, snapshot(db_, false));
    EXPECT_TRUE(snapshot(db_, true) == data) << first_difference(data, snapshot(db_, true));
    EXPECT_EQ(tool_schemas(target_), 0) << "the unfinished build is removed at the stop:\n" << r.out;
    for (const auto& e : fs::recursive_directory_iterator(work_.path()))
        EXPECT_NE(e.path().extension(), ".pgsql") << "the damaged dump is removed: " << e.path();
    std::printf("FAULT beside backup damaged near its end, found after the build began: exit %d, yesterday identical, build removed\n", r.code);
}

namespace {

// A stand-in for PostGIS on the PostgreSQL 15 server: an extension only a superuser makes, whose
// configuration table holds rows of its own and the rows users add. Removed afterwards.
class ConfigExtension {
public:
    ConfigExtension() : dir_(fs::path(TempPostgres::bin_dir(15)).parent_path().string()) {
        std::string share = dir_;
        share.replace(share.find("/lib/postgresql/"), 16, "/share/postgresql/");
        control_ = fs::path(share) / "extension" / "pixrep_ref_systems.control";
        script_ = fs::path(share) / "extension" / "pixrep_ref_systems--1.0.sql";
        std::ofstream(control_) << "comment = 'pix-db-replication test: a configuration table'\ndefault_version = '1.0'\nsuperuser = true\n"
                                   "relocatable = false\nschema = public\n";
        std::ofstream(script_) << "CREATE TABLE ref_systems (srid integer PRIMARY KEY, name text NOT NULL);\n"
                                  "INSERT INTO ref_systems VALUES (4326, 'WGS 84'), (2154, 'Lambert 93');\n"
                                  "SELECT pg_catalog.pg_extension_config_dump('ref_systems', 'WHERE srid >= 100000');\n";
    }
    ~ConfigExtension() {
        std::error_code ec;
        fs::remove(control_, ec), fs::remove(script_, ec);
    }

private:
    std::string dir_;
    fs::path control_, script_;
};

}  // namespace

TEST_F(BesideFidelity, AnExtensionsConfigurationRowsAreAddedWhereTheRoleMayWriteThemElseCounted) {
    ConfigExtension extension;
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP DATABASE IF EXISTS ref_src");
    pg.exec("postgres", "CREATE DATABASE ref_src");
    pg.exec("ref_src", "CREATE EXTENSION pixrep_ref_systems; INSERT INTO ref_systems VALUES (100001, 'a projection of ours'); "
                       "CREATE TABLE places (id integer PRIMARY KEY, srid integer); INSERT INTO places VALUES (1, 4326), (2, 100001)");
    const auto dump = work_.path().parent_path() / "ref_src.pgsql";
    auto d = pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-Fc", "-d", pg.url("ref_src"), "-f", dump.string()});
    ASSERT_EQ(d.code, 0) << d.out;
    // As a platform does: the extension is there, made by the superuser, before the first night.
    pg.exec(db_, "CREATE EXTENSION pixrep_ref_systems");
    auto r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.ref_systems: 1 row(s) of an extension's configuration table left out: the target role may not write it"),
              std::string::npos) << r.out;
    EXPECT_EQ(pg.scalar(db_, "SELECT count(*) FROM places"), "2");
    // Where the role may write it, the rows users added come, once however many nights.
    pg.exec(db_, "GRANT SELECT, INSERT ON ref_systems TO replica_" + db_.substr(db_.find('_') + 1));
    for (const char* mode : {"beside", "beside", "in-place"}) {
        r = replicate(dump, {{"REFRESH", mode}}, {"run"}, kEveryKind);
        ASSERT_EQ(r.code, 0) << mode << ":\n" << r.out;
        EXPECT_EQ(pg.scalar(db_, "SELECT string_agg(srid::text, ',' ORDER BY srid) FROM ref_systems"), "2154,4326,100001") << mode;
    }
    EXPECT_NE(r.out.find("public.ref_systems: 0 row(s) added to an extension's configuration table (1 in the backup"), std::string::npos) << r.out;
    fs::remove(dump);
}

TEST_F(Beside, AnUnchangedTableKeepsYesterdaysCopyAndAChangedOneIsRebuilt) {
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP DATABASE IF EXISTS reuse_src");
    pg.exec("postgres", "CREATE DATABASE reuse_src");
    pg.exec("reuse_src", "CREATE TABLE ref (id serial PRIMARY KEY, label text, m text); CREATE INDEX ref_label ON ref (label); "
                         "INSERT INTO ref (label, m) SELECT 'label ' || g, 'calm' FROM generate_series(1, 500) g; "
                         "CREATE TABLE log (id integer PRIMARY KEY, at integer); INSERT INTO log SELECT g, g FROM generate_series(1, 300) g");
    const auto dump = work_.path().parent_path() / "reuse_src.pgsql";
    auto dump_source = [&] {
        auto d = pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-Fc", "-d", pg.url("reuse_src"), "-f", dump.string()});
        ASSERT_EQ(d.code, 0) << d.out;
    };
    auto node = [&](const std::string& table) { return pg.scalar(db_, "SELECT relfilenode FROM pg_class WHERE oid = 'public." + table + "'::regclass"); };
    dump_source();
    auto r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find(": reused,"), std::string::npos) << "nothing to compare with on a first night:\n" << r.out;
    const std::string ref_node = node("ref"), log_node = node("log");
    // The same backup again: both tables keep yesterday's copy, indexes and all.
    r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.ref: reused, definition and rows as at the last restore"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.log: reused"), std::string::npos) << r.out;
    EXPECT_EQ(node("ref"), ref_node);
    EXPECT_EQ(node("log"), log_node);
    EXPECT_EQ(pg.scalar(db_, "SELECT count(*) FROM ref WHERE m = 'calm'"), "500");
    EXPECT_EQ(pg.scalar(db_, "SELECT count(*) FROM pg_indexes WHERE tablename = 'ref'"), "2");
    EXPECT_EQ(pg.scalar(db_, "SELECT nextval('ref_id_seq')"), "501") << "its sequence goes on";
    // One row changes in log, and ref gains an index: both are rebuilt, each saying why.
    pg.exec("reuse_src", "UPDATE log SET at = 0 WHERE id = 7; CREATE INDEX ref_m ON ref (m)");
    dump_source();
    r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.log: rebuilt: its rows changed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.ref: rebuilt: its definition changed"), std::string::npos) << r.out;
    EXPECT_NE(node("log"), log_node);
    EXPECT_EQ(pg.scalar(db_, "SELECT at FROM log WHERE id = 7"), "0");
    EXPECT_EQ(pg.scalar(db_, "SELECT count(*) FROM pg_indexes WHERE tablename = 'ref'"), "3");
    // Changed at its last restore, log is rebuilt without waiting for its checksum (a table
    // written every day would make the build wait for its block); found unchanged then, it is
    // reused the night after.
    r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.log: rebuilt: its rows changed at the last restore too, so tonight's checksum is not waited for"),
              std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.ref: reused"), std::string::npos) << "its rows did not change, only its definition:\n" << r.out;
    r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.log: reused"), std::string::npos) << r.out;
    // Written to on the target behind the tool's back (a TRUNCATE): rebuilt, whole again.
    pg.exec(db_, "TRUNCATE log");
    r = replicate(dump, {}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.log: rebuilt: rewritten on the target since the last restore"), std::string::npos) << r.out;
    EXPECT_EQ(pg.scalar(db_, "SELECT count(*) FROM log"), "300");
    // Turned off, every table is rebuilt.
    r = replicate(dump, {{"REUSE_UNCHANGED_TABLES", "false"}}, {"run"}, kEveryKind);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find(": reused,"), std::string::npos) << r.out;
    fs::remove(dump);
}
