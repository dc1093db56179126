// Personal data masked in the stream (MASKING_RULES, MASKING_KEY), on a Pix-shaped backup into a
// non-superuser target: no original e-mail, name or exact date anywhere in the copy, unique
// indexes built, keys joining as at the source, the same masked values every night, and rules
// that do not fit tonight's backup refused before anything is touched.
#include <fstream>

#include "replication_fixture.hpp"

namespace {

const std::string kKey = "a masking key, long enough: 32+ characters";

// The rules: users and schooling-registrations masked, every other table of the source kept as
// it is; `skip` leaves a table out, `extra` is appended.
std::string rules(const std::string& skip = "", const std::string& extra = "") {
    std::string text =
        "[tables.\"public.users\"]\nemail = \"email\"\nfirstName = \"first_name\"\ncreatedAt = \"year_month\"\nid = \"hash\"\n\n"
        "[tables.\"public.schooling-registrations\"]\nfirstName = \"first_name\"\nid = \"keep\"\nuserId = \"hash\"\n\n";
    pqxx::connection c(TempPostgres::instance().url("pix_src"));
    pqxx::nontransaction tx(c);
    for (const auto& r : tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('users', "
                                 "'schooling-registrations') ORDER BY 1")) {
        const std::string t = r[0].as<std::string>();
        if (t != skip) text += "[tables.\"public." + t + "\"]\n\"*\" = \"keep\"\n\n";
    }
    return text + extra;
}

class Masking : public Replication {
protected:
    fs::path write(const std::string& text) {
        auto p = files_.path() / ("rules-" + std::to_string(++n_) + ".toml");
        std::ofstream(p) << text;
        return p;
    }
    Result night(const fs::path& backup, const fs::path& rules_file, std::map<std::string, std::string> env = {}) {
        env["MASKING_RULES"] = rules_file.string();
        env["MASKING_KEY"] = kKey;
        auto r = replicate(backup, env);
        EXPECT_EQ(r.out.find(kKey), std::string::npos) << "the key leaked:\n" << r.out;
        return r;
    }
    std::string scalar(const std::string& url, const std::string& sql) {
        pqxx::connection c(url);
        pqxx::nontransaction tx(c);
        auto r = tx.exec(sql);
        return r[0][0].is_null() ? "" : r[0][0].as<std::string>();
    }
    std::string emails() { return scalar(target_, "SELECT md5(string_agg(email, ',' ORDER BY id)) FROM users"); }
    TempDir files_;
    int n_ = 0;
};

}  // namespace

TEST_F(Masking, NoOriginalValueReachesTheCopyAndKeysStillJoin) {
    auto r = night(sources().pix_dump, write(rules()));
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string source = TempPostgres::instance().url("pix_src");
    // Not one original e-mail or first name anywhere in the copy's dump.
    auto dump = pixtest::run_cmd({TempPostgres::bin("pg_dump"), "-d", target_, "--data-only"});
    ASSERT_EQ(dump.code, 0) << dump.out;
    EXPECT_EQ(dump.out.find("@example.net"), std::string::npos);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users WHERE \"firstName\" LIKE 'user%' OR email NOT LIKE '%@masked.invalid'"), 0);
    EXPECT_EQ(count(target_, "SELECT count(*) FROM \"schooling-registrations\" WHERE \"firstName\" LIKE 'user%'"), 0);
    // Dates keep their year and month, on the first at midnight.
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users WHERE \"createdAt\" <> date_trunc('month', \"createdAt\")"), 0);
    EXPECT_EQ(scalar(target_, "SELECT string_agg(DISTINCT to_char(\"createdAt\", 'YYYY-MM'), ',') FROM users"),
              scalar(source, "SELECT string_agg(DISTINCT to_char(\"createdAt\", 'YYYY-MM'), ',') FROM users"));
    // The unique index on the masked e-mail built; the keys join as at the source.
    EXPECT_EQ(count(target_, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'users_email_key' "
                             "AND i.indisvalid AND i.indisunique"),
              1);
    const std::string join = "SELECT count(*) FROM users u JOIN \"schooling-registrations\" s ON s.\"userId\" = u.id";
    EXPECT_EQ(count(target_, join), count(source, join));
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users"), count(source, "SELECT count(*) FROM users"));
    // Said, without the values.
    EXPECT_NE(r.out.find("public.users: masked: id (hash), firstName (first_name), email (email), createdAt (year_month)"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("public.assessments: masked: userId (hash, as public.users.id it references)"), std::string::npos)
        << "a key referencing a masked one is masked the same way:\n" << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users WHERE id BETWEEN 1 AND " + std::to_string(count(source, "SELECT max(id) FROM users"))), 0)
        << "the keys are masked too";
    EXPECT_NE(r.out.find("masked.public.users.email"), std::string::npos) << r.out;
    // Another night: the same masked values.
    const std::string first = emails();
    r = night(sources().pix_dump, write(rules()));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(emails(), first);
}

TEST_F(Masking, RulesThatDoNotFitTonightsBackupAreRefusedBeforeAnything) {
    // A table no rule covers.
    expect_refused(sources().pix_dump, "table public.campaign-participations has no masking rules",
                   {{"MASKING_RULES", write(rules("campaign-participations")).string()}, {"MASKING_KEY", kKey}});
    // A rule for a column that does not exist; a transform that does not fit; not injective on a unique column.
    std::string bad = rules();
    bad.replace(bad.find("email = \"email\""), 15, "email = \"first_name\"\nnickname = \"hash\"");
    auto p = write(bad);
    expect_refused(sources().pix_dump, p.string() + ":2: public.users.email: first_name can give two rows one value, and the column is unique",
                   {{"MASKING_RULES", p.string()}, {"MASKING_KEY", kKey}});
    // A key too short, an unknown transform: named, with the file and line.
    expect_refused(sources().pix_dump, "MASKING_KEY: the masking key must be at least 32 characters long",
                   {{"MASKING_RULES", write(rules()).string()}, {"MASKING_KEY", "short"}});
    auto q = write("[tables.users]\nemail = \"scramble\"\n");
    expect_refused(sources().pix_dump, "MASKING_RULES: " + q.string() + ":2: public.users.email: unknown transform 'scramble'",
                   {{"MASKING_RULES", q.string()}, {"MASKING_KEY", kKey}});
    // pg_restore writing the rows itself cannot mask them.
    expect_refused(sources().pix_dump, "which REFRESH=in-place leaves to pg_restore: unset REFRESH",
                   {{"MASKING_RULES", write(rules()).string()}, {"MASKING_KEY", kKey}, {"REFRESH", "in-place"}});
    // Rules of a table the backup does not have are kept for the night it does.
    auto r = night(sources().pix_dump, write(rules("", "[tables.\"public.badges\"]\n\"*\" = \"keep\"\n")));
    EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(Masking, ANewColumnAtTheSourceIsRefusedAndYesterdaysMaskedCopyStays) {
    ASSERT_EQ(night(sources().pix_dump, write(rules())).code, 0);
    const std::string yesterday = emails();
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP DATABASE IF EXISTS pix_phone");
    pg.exec("postgres", "CREATE DATABASE pix_phone TEMPLATE pix_src");
    pg.exec("pix_phone", "ALTER TABLE users ADD COLUMN phone text; UPDATE users SET phone = '+33 6 00 00 00 ' || id");
    const fs::path dump = sources().dump("pix_phone", "20261125010203_phone.pgsql");
    auto r = night(dump, write(rules()));
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("column public.users.phone (text) has no masking rule in"), std::string::npos) << r.out;
    EXPECT_EQ(emails(), yesterday) << "yesterday's masked copy is as it was";
    EXPECT_EQ(count(target_, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'phone'"), 0);
}

TEST_F(Masking, AKeptTablesNewRowsAreMaskedLikeItsOldOnesAndNewRulesReloadIt) {
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP DATABASE IF EXISTS mask_day2");
    pg.exec("postgres", "CREATE DATABASE mask_day2 TEMPLATE pix_src");
    // Tonight's new answers repeat the values of the first ten.
    pg.exec("mask_day2", "INSERT INTO answers (id, \"assessmentId\", \"challengeId\", result, value, \"createdAt\") SELECT id + 100000, "
                         "\"assessmentId\", \"challengeId\", result, value, \"createdAt\" FROM answers WHERE id <= 10");
    const fs::path day2 = sources().dump("mask_day2", "20261125010203_mask_day2.pgsql");
    const std::string answers = "[tables.\"public.answers\"]\nid = \"keep\"\nassessmentId = \"keep\"\nchallengeId = \"keep\"\nresult = \"keep\"\n"
                                "value = \"hash\"\ncreatedAt = \"year_month\"\n";
    const auto file = write(rules("answers", answers));
    const std::map<std::string, std::string> env{{"BACKUP_MODE", R"({"answers": "incremental"})"}};
    auto r = night(sources().pix_dump, file, env);
    ASSERT_EQ(r.code, 0) << r.out;
    r = night(day2, file, env);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.answers: incremental"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("public.answers: 10 new row(s) appended"), std::string::npos) << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM answers a JOIN answers b ON b.id = a.id + 100000 WHERE a.value IS NOT DISTINCT FROM b.value"), 10)
        << "the appended rows are masked as the old ones were";
    const std::string source = pg.url("mask_day2");
    EXPECT_EQ(count(target_, "SELECT count(*) FROM answers WHERE value IS NOT NULL"), count(source, "SELECT count(*) FROM answers WHERE value IS NOT NULL"));
    const std::string originals = scalar(source, "SELECT string_agg(quote_literal(value), ',') FROM answers WHERE value IS NOT NULL");
    ASSERT_FALSE(originals.empty());
    EXPECT_EQ(count(target_, "SELECT count(*) FROM answers WHERE value IN (" + originals + ")"), 0) << "no original value";
    // Another key: the kept rows were masked with the old one, so the table is reloaded in full.
    auto again = replicate(day2, {{"MASKING_RULES", file.string()}, {"MASKING_KEY", kKey + " rotated"}, {"BACKUP_MODE", env.at("BACKUP_MODE")}});
    ASSERT_EQ(again.code, 0) << again.out;
    EXPECT_NE(again.out.find("public.answers: reloaded in full: its rows are masked otherwise than those kept (the masking rules or key changed)"),
              std::string::npos)
        << again.out;
}

TEST_F(Masking, TheTemplateCoversTonightsBackupAndFlagsWhatLooksPersonal) {
    auto r = replicate(sources().pix_dump, {}, {"masking-template"});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("[tables.\"public.users\"]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("email = \"keep\"   # personal? text, unique: email, hash"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("firstName = \"keep\"   # personal? text: email, hash, first_name, last_name"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\ncreatedAt = \"keep\"\n"), std::string::npos) << "not flagged:\n" << r.out;
    EXPECT_TRUE(has_table("keep_me")) << "a template touches nothing";
    // As it is (every column kept), it covers tonight's backup.
    const std::string text = r.out.substr(r.out.find("# Masking rules"));
    auto ok = night(sources().pix_dump, write(text.substr(0, text.find("\n{") == std::string::npos ? text.size() : text.find("\n{"))));
    EXPECT_EQ(ok.code, 0) << ok.out;
}

TEST_F(Masking, AnonymizersLabelsAreLeftOutAndWithMaskingFromLabelsBecomeRules) {
    // A source labelled as PostgreSQL Anonymizer would (its provider writes these rows of
    // pg_seclabel; pg_dump carries them as SECURITY LABEL FOR anon), restored on a target
    // without that provider.
    auto& pg = TempPostgres::instance();
    pg.exec("postgres", "DROP DATABASE IF EXISTS pix_labels");
    pg.exec("postgres", "CREATE DATABASE pix_labels TEMPLATE pix_src");
    auto label = [&](const std::string& column, const std::string& text) {
        pg.exec("pix_labels", "INSERT INTO pg_seclabel SELECT 'users'::regclass, 'pg_class'::regclass, attnum, 'anon', " + text +
                                  " FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = '" + column + "'");
    };
    label("email", "'MASKED WITH FUNCTION anon.fake_email()'");
    label("firstName", "'MASKED WITH FUNCTION anon.pseudo_first_name(id)'");
    fs::path dump = sources().dump("pix_labels", "20261125010203_labels.pgsql");
    // Without MASKING_FROM_LABELS: left out, said, nothing masked.
    auto r = replicate(dump);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("PostgreSQL Anonymizer's labels (SECURITY LABEL FOR anon) of 1 object(s) left out"), std::string::npos) << r.out;
    EXPECT_GT(count(target_, "SELECT count(*) FROM users WHERE email LIKE '%@example.net'"), 0);
    // With it, and no rules file: the labelled columns masked, the rest kept.
    r = replicate(dump, {{"MASKING_FROM_LABELS", "true"}, {"MASKING_KEY", kKey}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find(kKey), std::string::npos);
    EXPECT_NE(r.out.find("public.users: masked: firstName (first_name, from its label), email (email, from its label)"), std::string::npos)
        << r.out;
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users WHERE \"firstName\" LIKE 'user%' OR email NOT LIKE '%@masked.invalid'"), 0);
    const std::string source = TempPostgres::instance().url("pix_labels");
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users"), count(source, "SELECT count(*) FROM users"));
    EXPECT_EQ(count(target_, "SELECT max(id) FROM users"), count(source, "SELECT max(id) FROM users")) << "unlabelled columns kept";
    const std::string masked = emails();
    // A label nothing here does: refused, naming it; the masked copy stays.
    label("createdAt", "'MASKED WITH FUNCTION anon.dnoise(\"createdAt\", ''2 days'')'");
    dump = sources().dump("pix_labels", "20261126010203_labels.pgsql");
    r = replicate(dump, {{"MASKING_FROM_LABELS", "true"}, {"MASKING_KEY", kKey}});
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("SECURITY LABEL FOR anon on public.users.createdAt ('MASKED WITH FUNCTION anon.dnoise(\"createdAt\", '2 days')'): "
                         "no transform here does what it asks"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(emails(), masked);
    // A labelled key: the columns referencing it, in tables without labels, are masked alike.
    pg.exec("pix_labels", "DELETE FROM pg_seclabel WHERE provider = 'anon' AND label LIKE '%dnoise%'");
    label("id", "'MASKED WITH FUNCTION anon.hash(id)'");
    dump = sources().dump("pix_labels", "20261127010203_labels.pgsql");
    r = replicate(dump, {{"MASKING_FROM_LABELS", "true"}, {"MASKING_KEY", kKey}});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("public.schooling-registrations: masked: userId (hash, as public.users.id it references)"), std::string::npos) << r.out;
    const std::string join = "SELECT count(*) FROM users u JOIN \"schooling-registrations\" s ON s.\"userId\" = u.id";
    EXPECT_EQ(count(target_, join), count(source, join));
    EXPECT_EQ(count(target_, "SELECT count(*) FROM users WHERE id BETWEEN 1 AND " + std::to_string(count(source, "SELECT max(id) FROM users"))), 0)
        << "the labelled key is masked";
}
