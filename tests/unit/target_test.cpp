// DATABASE_URL in every form libpq reads, what a failed connection means, and finding pg_restore.
#include <gtest/gtest.h>

#include <pixrep/step.hpp>

#include "cpus.hpp"
#include "pg_errors.hpp"
#include "target.hpp"
#include "tools.hpp"

using namespace pixrep;

TEST(MakeTarget, EveryFormKeepsThePasswordOffThePublicString) {
    for (const std::string url : {"postgresql://replica:s3cr3t@db.example:5433/pix?sslmode=require",
                                  "postgresql://replica@db.example:5433/pix?password=s3cr3t&sslmode=require",
                                  "host=db.example port=5433 user=replica password=s3cr3t dbname=pix sslmode=require"}) {
        auto t = make_target(url, "DATABASE_URL");
        EXPECT_EQ(t.password, "s3cr3t") << url;
        EXPECT_EQ(t.conninfo_public.find("s3cr3t"), std::string::npos) << t.conninfo_public;
        EXPECT_NE(t.conninfo.find("password='s3cr3t'"), std::string::npos) << url;
        EXPECT_NE(t.conninfo_public.find("sslmode='require'"), std::string::npos);
        EXPECT_NE(t.conninfo_public.find("connect_timeout='10'"), std::string::npos) << "a silent server must not hang a run";
        EXPECT_NE(t.conninfo_public.find("keepalives='1'"), std::string::npos);
        EXPECT_EQ(t.label, "replica@db.example:5433/pix");
    }
    EXPECT_NE(make_target("postgresql://u@h/db?connect_timeout=3", "DATABASE_URL").conninfo.find("connect_timeout='3'"), std::string::npos);
    EXPECT_EQ(make_target("postgresql://u@h/db", "DATABASE_URL").password, "");
    auto quoted = make_target("host=h user=u password='it\\'s' dbname=d", "DATABASE_URL");
    EXPECT_NE(quoted.conninfo.find("password='it\\'s'"), std::string::npos) << quoted.conninfo;
    // A TLS key's passphrase never goes on a child's command line either.
    auto tls = make_target("postgresql://u:pw@h/db?sslmode=verify-full&sslkey=/k.pem&sslpassword=k3y-pass", "DATABASE_URL");
    EXPECT_EQ(tls.sslpassword, "k3y-pass");
    EXPECT_EQ(tls.conninfo_public.find("k3y-pass"), std::string::npos) << tls.conninfo_public;
    EXPECT_NE(tls.conninfo.find("sslpassword='k3y-pass'"), std::string::npos);
}

TEST(MakeTarget, TlsIsRequiredToAnyOtherMachineUnlessTheUrlSaysOtherwise) {
    EXPECT_NE(make_target("postgresql://u:pw@db.example.com:5432/pix", "DATABASE_URL").conninfo_public.find("sslmode='require'"),
              std::string::npos);
    EXPECT_NE(make_target("host=10.0.0.5,127.0.0.1 user=u dbname=d", "DATABASE_URL").conninfo_public.find("sslmode='require'"),
              std::string::npos) << "every host must be this machine";
    EXPECT_NE(make_target("postgresql://u@127.0.0.1.example.com/pix", "DATABASE_URL").conninfo_public.find("sslmode='require'"),
              std::string::npos) << "a name is not an address";
    EXPECT_NE(make_target("host=localhost hostaddr=10.1.2.3 user=u dbname=d", "DATABASE_URL").conninfo_public.find("sslmode='require'"),
              std::string::npos) << "libpq connects to hostaddr";
    EXPECT_NE(make_target("postgresql://u@db.example.com/pix?sslmode=disable", "DATABASE_URL").conninfo_public.find("sslmode='disable'"),
              std::string::npos) << "what the URL says wins";
    EXPECT_NE(make_target("postgresql://u@db.example.com/pix?sslmode=verify-full", "DATABASE_URL").conninfo_public.find("sslmode='verify-full'"),
              std::string::npos);
    for (const std::string local : {"postgresql://u@127.0.0.1:5433/pix", "postgresql://u@localhost/pix", "host=/var/run/postgresql dbname=d",
                                    "postgresql://u@[::1]:5432/pix", "dbname=d"})
        EXPECT_EQ(make_target(local, "DATABASE_URL").conninfo_public.find("sslmode"), std::string::npos) << local;
}

TEST(MakeTarget, AMalformedUrlIsAConfigurationErrorNamingTheVariable) {
    for (const std::string bad : {"postgresql://u:pw@h:notaport/db", "postgresql://u:pw@[::1/db", "host=h user=u password=pw dbname",
                                  "postgres://u:pw@h/db?nope=1"}) {
        try {
            make_target(bad, "DATABASE_URL");
            ADD_FAILURE() << bad;
        } catch (const StepError& e) {
            EXPECT_EQ(e.kind(), ErrorKind::config);
            EXPECT_EQ(std::string(e.what()).rfind("DATABASE_URL is not a valid PostgreSQL connection", 0), 0u) << e.what();
            EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos) << e.what();
        }
    }
}

TEST(ConnectErrors, SettingsThatCannotHealAreConfigurationErrors) {
    for (const char* m : {"FATAL:  password authentication failed for user \"replica\"", "FATAL:  role \"x\" does not exist",
                          "FATAL:  database \"nowhere\" does not exist", "FATAL:  no pg_hba.conf entry for host \"1.2.3.4\""})
        EXPECT_EQ(common::connect_error_kind(m), ErrorKind::config) << m;
    for (const char* m : {"could not connect to server: Connection refused", "timeout expired", "FATAL:  sorry, too many clients already",
                          "server closed the connection unexpectedly"})
        EXPECT_EQ(common::connect_error_kind(m), ErrorKind::transient) << m;
    auto e = common::connect_error("replica@h:5432/db", "FATAL:  password authentication failed for user \"replica\"\n");
    EXPECT_STREQ(e.what(), "cannot connect to the target database replica@h:5432/db: FATAL:  password authentication failed for user "
                           "\"replica\" (check DATABASE_URL)");
}

TEST(Tools, VersionsAreReadAndTheNewestWins) {
    EXPECT_EQ(parse_tool_version("pg_restore (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)\n")->first, "17.12");
    EXPECT_EQ(parse_tool_version("pg_restore (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n")->second, 15);
    EXPECT_EQ(parse_tool_version("pg_restore (PostgreSQL) 18beta1\n")->second, 18);
    EXPECT_FALSE(parse_tool_version("bash: pg_restore: command not found"));
    std::vector<Tool> found{{"/a/pg_restore", "15.18", 15}, {"/b/pg_restore", "17.2", 17}, {"/c/pg_restore", "17.12", 17}};
    EXPECT_EQ(newest(found)->path, "/c/pg_restore");
    EXPECT_FALSE(newest({}));
    auto candidates = pg_restore_candidates("/opt/pg/bin:/usr/bin");
    ASSERT_GE(candidates.size(), 2u);
    EXPECT_EQ(candidates[candidates.size() - 2], "/opt/pg/bin/pg_restore");
    EXPECT_TRUE(is_pg_wrapper("/usr/share/postgresql-common/pg_wrapper"));
    EXPECT_FALSE(is_pg_wrapper("/usr/lib/postgresql/17/bin/pg_restore"));
}

TEST(Cpus, AContainersQuotaNotTheHostsCount) {
    EXPECT_EQ(common::cpus_from_cpu_max("200000 100000"), 2);
    EXPECT_EQ(common::cpus_from_cpu_max("150000 100000"), 2) << "1.5 CPUs: two jobs";
    EXPECT_EQ(common::cpus_from_cpu_max("50000 100000"), 1);
    EXPECT_FALSE(common::cpus_from_cpu_max("max 100000"));
    EXPECT_FALSE(common::cpus_from_cpu_max(""));
    EXPECT_EQ(common::cpus_from_cfs("400000", "100000"), 4);
    EXPECT_FALSE(common::cpus_from_cfs("-1", "100000"));
    EXPECT_GE(common::usable_cpus(), 1);
}
