// The replica serves its readers: read-only roles keep their access run after run, a
// Scalingo-shaped target works, the tool's own schema survives, and people see the runs on a
// page a real headless browser renders.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "replication_fixture.hpp"

namespace {

using Readers = Replication;

std::string role_of(const std::string& db) {
    return TempPostgres::instance().scalar(db, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()");
}

// Every table and view of public that `url`'s role can read, and those it cannot.
std::pair<std::vector<std::string>, std::vector<std::string>> readable(const std::string& url) {
    pqxx::connection c(url);
    std::vector<std::string> names, ok, denied;
    {
        pqxx::nontransaction tx(c);
        for (const auto& r : tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public' UNION ALL "
                                     "SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY 1"))
            names.push_back(r[0].as<std::string>());
    }
    for (const auto& n : names) {
        try {
            pqxx::nontransaction tx(c);
            tx.exec("SELECT 1 FROM public." + c.quote_name(n) + " LIMIT 1");
            ok.push_back(n);
        } catch (const std::exception&) {
            denied.push_back(n);
        }
    }
    return {ok, denied};
}

}  // namespace

TEST_F(Readers, ReadOnlyRolesKeepReadingRunAfterRunEvenAfterAFailedOne) {
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP ROLE IF EXISTS analyst_" + db_ + "; CREATE ROLE analyst_" + db_ + " LOGIN PASSWORD 'ro'");
    pg.exec("postgres", "DROP ROLE IF EXISTS stranger_" + db_ + "; CREATE ROLE stranger_" + db_ + " LOGIN PASSWORD 'ro'");
    const std::string analyst = pg.url(db_, "analyst_" + db_, "ro"), stranger = pg.url(db_, "stranger_" + db_, "ro");
    {
        // As `scalingo database-users-create --read-only` sets it up: grants and default privileges.
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        tx.exec("GRANT USAGE ON SCHEMA public TO analyst_" + db_ + "; GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst_" + db_ +
                "; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO analyst_" + db_);
    }
    ASSERT_EQ(readable(analyst).first, std::vector<std::string>{"keep_me"});
    std::map<std::string, std::string> env{{"RESTORE_FK_CONSTRAINTS", "true"}, {"RESTORE_ANSWERS_AND_KES", "true"}};
    auto check = [&](const char* when) {
        auto [ok, denied] = readable(analyst);
        EXPECT_TRUE(denied.empty()) << when << ": the analyst cannot read " << denied.size() << " relation(s), e.g. " << denied[0];
        EXPECT_GE(ok.size(), 9u) << when;
        EXPECT_NE(std::find(ok.begin(), ok.end(), "students"), ok.end()) << when << ": the view made after the restore";
        auto [sok, sdenied] = readable(stranger);
        EXPECT_TRUE(sok.empty()) << when << ": a role without grants reads nothing";
    };
    auto r = replicate(sources().pix_tar, env);
    ASSERT_EQ(r.code, 0) << r.out;
    check("after a first run");
    r = replicate(sources().pix_tar, env);
    ASSERT_EQ(r.code, 0) << r.out;
    check("after a second run");
    // A run that fails between the drop and the end: the rules must not be lost.
    pg.exec(db_, "CREATE FUNCTION no_views() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no views today'; END $$; "
                 "CREATE EVENT TRIGGER no_views ON ddl_command_start WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION no_views()");
    r = replicate(sources().pix_tar, env);
    ASSERT_EQ(r.code, 1) << r.out;
    pg.exec(db_, "DROP EVENT TRIGGER no_views");
    r = replicate(sources().pix_tar, env);
    ASSERT_EQ(r.code, 0) << r.out;
    check("after a failed run then a good one");
    // Grants on objects the backup no longer brings are reported, not an error.
    {
        pqxx::connection c(target_);
        pqxx::nontransaction tx(c);
        tx.exec("CREATE TABLE gone (x integer); GRANT SELECT ON gone TO analyst_" + db_);
    }
    r = replicate(sources().pix_tar, env);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("access rule not re-applied: table public.gone no longer exists"), std::string::npos) << r.out;
}

TEST_F(Readers, GrantReadToGivesReadAccessFromNothing) {
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP ROLE IF EXISTS metabase_" + db_ + "; CREATE ROLE metabase_" + db_ + " LOGIN PASSWORD 'ro'");
    auto r = replicate(sources().pix_tar, {{"GRANT_READ_TO", "metabase_" + db_}});
    ASSERT_EQ(r.code, 0) << r.out;
    auto [ok, denied] = readable(pg.url(db_, "metabase_" + db_, "ro"));
    EXPECT_TRUE(denied.empty()) << denied.size();
    EXPECT_GE(ok.size(), 7u);
    EXPECT_EQ(count(pg.url(db_, "metabase_" + db_, "ro"), "SELECT count(*) FROM pix_db_replication.runs WHERE status = 'success'"), 1)
        << "readers can ask how fresh the data is";
    for (const char* hidden : {"access_rules", "state", "requests"})
        EXPECT_EQ(count(pg.url(db_), std::string("SELECT count(*) FROM pg_roles WHERE rolname = 'metabase_") + db_ +
                                         "' AND has_table_privilege(oid, 'pix_db_replication." + hidden + "', 'SELECT')"),
                  0)
            << hidden << ": not the readers' to see";
    EXPECT_EQ(count(pg.url(db_), "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' AND table_schema = 'public'"), 0)
        << "nothing is granted to PUBLIC";
    auto bad = replicate(sources().pix_tar, {{"GRANT_READ_TO", "nobody_" + db_}});
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_NE(bad.out.find("GRANT_READ_TO names role 'nobody_" + db_ + "', which does not exist in the target"), std::string::npos) << bad.out;
    EXPECT_EQ(bad.out.find("dropped every object"), std::string::npos) << "refused before anything";
}

TEST_F(Readers, AScalingoShapedTargetTwiceInARow) {
    // The database is owned by a role named like it; the app's user is not the owner, and was
    // granted what Scalingo grants it (platform.md).
    auto& pg = TempPostgres::instance();
    const std::string db = "pix_replica_" + db_, app = db + "_app";
    pg.exec("postgres", "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
    pg.exec("postgres", "DROP ROLE IF EXISTS " + app + "; DROP ROLE IF EXISTS " + db);
    pg.exec("postgres", "CREATE ROLE " + db + " LOGIN PASSWORD 'owner-pw'; CREATE ROLE " + app + " LOGIN PASSWORD 's3cr3t-pw'");
    pg.exec("postgres", "CREATE DATABASE " + db + " OWNER " + db);
    pg.exec(db, "GRANT CREATE ON SCHEMA public TO " + app + "; GRANT ALL PRIVILEGES ON DATABASE " + db + " TO " + app +
                    "; GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO " + app + "; GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public TO " +
                    app + "; ALTER DEFAULT PRIVILEGES FOR USER " + db + " IN SCHEMA public GRANT ALL ON TABLES TO " + app +
                    "; ALTER DEFAULT PRIVILEGES FOR USER " + db + " IN SCHEMA public GRANT ALL ON SEQUENCES TO " + app);
    const std::string url = pg.url(db, app, "s3cr3t-pw");
    for (int i = 1; i <= 2; ++i) {
        auto r = replicate(sources().pix_tar, {{"DATABASE_URL", url}, {"RESTORE_FK_CONSTRAINTS", "true"}});
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_EQ(count(url, "SELECT count(*) FROM users"), 300);
    }
    EXPECT_EQ(count(url, "SELECT count(*) FROM pix_db_replication.runs WHERE status = 'success'"), 2);
    EXPECT_EQ(role_of(db), db) << "the owner is still the database's role";
    auto [web, port] = serve({{"DATABASE_URL", url}});
    ASSERT_NE(port, 0) << web->output();
    auto status = read_as_operator(port, "/status");
    auto body = nlohmann::json::parse(status.substr(status.find("\r\n\r\n") + 4));
    EXPECT_EQ(body["last_run"]["status"], "success") << status;
    EXPECT_EQ(body["runs"].size(), 2u);
    EXPECT_EQ(body["last_run"]["rows"]["public.users"], 300);
    pg.exec("postgres", "DROP DATABASE " + db + " WITH (FORCE)");
}

TEST_F(Readers, AStoredRuleIsCheckedAgainstTheCatalogNeverPastedIntoSql) {
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP ROLE IF EXISTS analyst_" + db_ + "; CREATE ROLE analyst_" + db_);
    ASSERT_EQ(replicate(sources().pix_tar).code, 0);
    // As anyone who may write the tool's table could: a rule carried over from a failed run,
    // whose privilege and argument types hold SQL of their own.
    const std::string role = "analyst_" + db_;
    pg.exec(db_, "UPDATE pix_db_replication.state SET value = 'false' WHERE step = '' AND key = 'access_rules_applied'; "
                 "INSERT INTO pix_db_replication.access_rules (kind, schema_name, name, args, grantee, privilege, grantable) VALUES "
                 "('table', 'public', 'users', '', '" + role + "', 'SELECT ON public.users TO " + role + "; CREATE TABLE public.pwned_a (); "
                 "GRANT SELECT', false), "
                 "('function', 'public', 'nosuch', 'integer); CREATE TABLE public.pwned_b (); --', '" + role + "', 'EXECUTE', false), "
                 "('table', 'public', 'users', '', '" + role + "', 'SELECT', false)");
    auto r = replicate(sources().pix_tar);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pwned%'"), 0) << "no stored value ran as SQL";
    EXPECT_NE(r.out.find("rule refused"), std::string::npos) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "' AND has_table_privilege(oid, 'public.users', 'SELECT')"), 1)
        << "the well-formed rule is re-applied";
}

TEST_F(Readers, TheToolsSchemaSurvivesAndABackupBringingItIsRefused) {
    auto& pg = TempPostgres::instance();
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pix_db_replication.runs"), 2) << "the history survives the emptying";
    EXPECT_EQ(contents(target_).count("runs"), 0u) << "and stays out of the replica's own tables";
    // A backup that holds a schema of that name.
    pg.exec("postgres", "DROP DATABASE IF EXISTS home_src");
    pg.exec("postgres", "CREATE DATABASE home_src");
    pg.exec("home_src", "CREATE SCHEMA pix_db_replication; CREATE TABLE pix_db_replication.runs (id integer); INSERT INTO pix_db_replication.runs VALUES (1); "
                        "CREATE TABLE users (id integer, "
                        "\"createdAt\" timestamptz); CREATE TABLE \"schooling-registrations\" (id integer)");
    TempDir d;
    auto dump = d / "home.pgsql";
    ASSERT_EQ(pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-Fc", "-d", pg.url("home_src"), "-f", dump.string()}).code, 0);
    {
        pqxx::connection c(target_);  // the last good copy, again
        pqxx::nontransaction tx(c);
        tx.exec("CREATE TABLE keep_me (x integer); INSERT INTO keep_me VALUES (42)");
    }
    auto r = expect_refused(dump, "the backup holds 3 object(s) in schema 'pix_db_replication', the tool's own schema in the target");
    EXPECT_NE(r.out.find("set REPLICATION_SCHEMA to another name"), std::string::npos);
    // Under another name, the same backup restores.
    auto ok = replicate(dump, {{"REPLICATION_SCHEMA", "replication_home"}});
    EXPECT_EQ(ok.code, 0) << ok.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pix_db_replication.runs"), 1) << "restored from the backup";
    EXPECT_EQ(count(target_, "SELECT count(*) FROM replication_home.runs"), 1);
}

// A free loopback port, for a helper that cannot take port 0.
int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t n = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
    ::close(s);
    return ntohs(a.sin_port);
}

// Chromium driven through chromedriver (WebDriver over HTTP): what a person does on the page.
class Browser {
public:
    explicit Browser(const fs::path& profile) : port_(free_port()) {
        driver_ = std::make_unique<pixtest::Background>(std::vector<std::string>{"chromedriver", "--port=" + std::to_string(port_)});
        driver_->wait_for("started successfully", 20);
        nlohmann::json caps{{"capabilities", {{"alwaysMatch", {{"goog:chromeOptions", {{"binary", "/usr/bin/chromium"}, {"args", {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,900",
            "--user-data-dir=" + profile.string()}}}}}}}}};
        session_ = call("POST", "/session", caps)["value"]["sessionId"].get<std::string>();
    }
    ~Browser() {
        call("DELETE", "/session/" + session_, nullptr);
    }
    void open(const std::string& url) { call("POST", "/session/" + session_ + "/url", {{"url", url}}); }
    std::string element(const std::string& css) {
        auto v = call("POST", "/session/" + session_ + "/element", {{"using", "css selector"}, {"value", css}})["value"];
        return v.begin().value().get<std::string>();
    }
    void type(const std::string& css, const std::string& text) {
        call("POST", "/session/" + session_ + "/element/" + element(css) + "/value", {{"text", text}});
    }
    void click(const std::string& css) { call("POST", "/session/" + session_ + "/element/" + element(css) + "/click", nlohmann::json::object()); }
    std::string source() { return call("GET", "/session/" + session_ + "/source", nullptr)["value"].get<std::string>(); }
    /// The page once it holds `needle` (or no longer does, when !present): a click that submits
    /// a form may answer before the next page has loaded. The last page after 10 s.
    std::string source_when(const std::string& needle, bool present = true) {
        std::string dom;
        for (int i = 0; i < 100; ++i, std::this_thread::sleep_for(std::chrono::milliseconds(100)))
            if (dom = source(); (dom.find(needle) != std::string::npos) == present) break;
        return dom;
    }
    std::string screenshot() { return call("GET", "/session/" + session_ + "/screenshot", nullptr)["value"].get<std::string>(); }

private:
    nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body) {
        auto raw = pixtest::http_request(port_, method, path, {"Content-Type: application/json"}, body.is_null() ? "" : body.dump());
        auto at = raw.find("\r\n\r\n");
        auto j = nlohmann::json::parse(at == std::string::npos ? "{}" : raw.substr(at + 4), nullptr, false);
        if (j.is_discarded() || (j.contains("value") && j["value"].is_object() && j["value"].contains("error")))
            throw std::runtime_error("WebDriver " + method + " " + path + ": " + raw.substr(0, 600));
        return j;
    }
    int port_;
    std::unique_ptr<pixtest::Background> driver_;
    std::string session_;
};

TEST_F(Readers, ThePageShowsTheRunsInARealBrowser) {
    ASSERT_EQ(replicate(sources().orig_tar).code, 0);
    ASSERT_EQ(replicate("/nonexistent.tar.gz").code, 2);
    // The last night masks the users' e-mails and first names: the page says so, values never.
    TempDir files;
    const fs::path rules = files.path() / "masking.toml";
    {
        std::ofstream out(rules);
        out << "[tables.\"public.users\"]\nid = \"keep\"\nfirstName = \"first_name\"\nemail = \"email\"\ncreatedAt = \"keep\"\n";
        pqxx::connection c(TempPostgres::instance().url("pix_src"));
        pqxx::nontransaction tx(c);
        for (const auto& r : tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'users'"))
            out << "[tables.\"public." << r[0].as<std::string>() << "\"]\n\"*\" = \"keep\"\n";
    }
    ASSERT_EQ(replicate(sources().pix_tar, {{"MASKING_RULES", rules.string()}, {"MASKING_KEY", "a key for the page's masked night, 32+"}}).code, 0);
    const std::string token = "status-token-for-the-page-0042";
    auto [web, port] = serve({{"STATUS_TOKEN", token}});
    ASSERT_NE(port, 0) << web->output();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    TempDir profile;
    Browser browser(profile.path());
    // Anyone: whether there is a copy, of which backup and when; nothing else.
    browser.open(url);
    auto dom = browser.source();
    EXPECT_NE(dom.find("The copy holds the data of the backup made at"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("<tr class=\"run\">"), std::string::npos) << "the runs need a token";
    EXPECT_EQ(dom.find("nonexistent.tar.gz"), std::string::npos) << "errors need a token";
    // A wrong token, then the right one, typed into the page's form as a person would.
    browser.type("input[name=token]", "not-the-token-at-all");
    browser.click("button[type=submit]");
    EXPECT_NE(browser.source_when("Wrong token.").find("Wrong token."), std::string::npos);
    browser.type("input[name=token]", token);
    browser.click("button[type=submit]");
    dom = browser.source_when("<tr class=\"run\">");
    EXPECT_NE(dom.find("Last run: <span class=\"ok\">success</span>"), std::string::npos) << dom;
    std::size_t rows = 0;
    for (auto p = dom.find("<tr class=\"run\">"); p != std::string::npos; p = dom.find("<tr class=\"run\">", p + 1)) ++rows;
    EXPECT_EQ(rows, 3u) << "the three runs (the refused one too)";
    EXPECT_NE(dom.find("backup file '/nonexistent.tar.gz' not found"), std::string::npos);
    EXPECT_NE(dom.find("<svg id=\"chart\""), std::string::npos);
    EXPECT_NE(dom.find("data-step=\"pg-restore\""), std::string::npos);
    EXPECT_NE(dom.find("public.users: masked: firstName (first_name), email (email)"), std::string::npos) << dom;
    const long long users = count(target_, "SELECT count(*) FROM users WHERE email IS NOT NULL");
    EXPECT_NE(dom.find("<li>public.users.email: " + std::to_string(users) + " value(s) masked</li>"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("@example.net"), std::string::npos) << "no value on the page";
    // And it draws: a screenshot, in color (base64 of a PNG).
    EXPECT_GT(browser.screenshot().size(), 25000u);
    // Logged out, the page is the public one again.
    browser.click("#logout button");
    EXPECT_EQ(browser.source_when("<tr class=\"run\">", false).find("<tr class=\"run\">"), std::string::npos);
}
