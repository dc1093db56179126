// Environment expansion, value conversion and option validation: pure logic, no plugin loaded.
#include <gtest/gtest.h>

#include <pixrep/step.hpp>

#include "settings.hpp"

using namespace pixrep;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& k) -> std::optional<std::string> {
        auto it = vars.find(k);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

std::string config_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const StepError& e) {
        EXPECT_EQ(e.kind(), ErrorKind::config);
        return e.what();
    }
    ADD_FAILURE() << "no error thrown";
    return "";
}

const std::vector<OptionSpec> kSpecs = {
    {"jobs", OptionType::integer, OptionValue(std::int64_t{4}), false, "jobs", "PG_RESTORE_JOBS"},
    {"restore", OptionType::boolean, OptionValue(false), false, "restore", "RESTORE_FK_CONSTRAINTS"},
    {"app", OptionType::string, std::nullopt, true, "app", "SCALINGO_APP"},
    {"tables", OptionType::string_list, OptionValue(std::vector<std::string>{"answers"}), false, "tables", ""},
    {"max_age", OptionType::duration, std::nullopt, false, "age", ""},
};

}  // namespace

TEST(ExpandEnv, SubstitutesVariablesAndDefaults) {
    auto env = env_of({{"A", "1"}, {"EMPTY", ""}});
    EXPECT_EQ(expand_env("x${A}y", env), "x1y");
    EXPECT_EQ(expand_env("${MISSING:-10}", env), "10");
    EXPECT_EQ(expand_env("${EMPTY:-d}", env), "d");
    EXPECT_EQ(expand_env("${A:-d}", env), "1");
    EXPECT_EQ(expand_env("${MISSING}", env), "");
    EXPECT_EQ(expand_env("cost $$5 and $ alone", env), "cost $5 and $ alone");
}

TEST(ExpandEnv, RejectsBadSyntax) {
    EXPECT_NE(config_error([] { expand_env("${A", env_of({})); }).find("unterminated"), std::string::npos);
    EXPECT_NE(config_error([] { expand_env("${1A}", env_of({})); }).find("invalid variable name '1A'"), std::string::npos);
}

TEST(ParseDuration, AcceptsUnitsAndBareSeconds) {
    using std::chrono::milliseconds;
    EXPECT_EQ(parse_duration("90s"), milliseconds(90'000));
    EXPECT_EQ(parse_duration("15m"), milliseconds(900'000));
    EXPECT_EQ(parse_duration("24h"), milliseconds(86'400'000));
    EXPECT_EQ(parse_duration("1h30m"), milliseconds(5'400'000));
    EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
    EXPECT_EQ(parse_duration("2d"), milliseconds(172'800'000));
    EXPECT_EQ(parse_duration("7"), milliseconds(7000));
    EXPECT_FALSE(parse_duration("abc"));
    EXPECT_FALSE(parse_duration("5 parsecs"));
    EXPECT_FALSE(parse_duration(""));
}

TEST(ConvertText, BooleansFollowTheOriginalOnlyTrueEnables) {
    std::vector<std::string> warnings;
    EXPECT_EQ(std::get<bool>(convert_text("true", OptionType::boolean, "x", &warnings)), true);
    EXPECT_EQ(std::get<bool>(convert_text("false", OptionType::boolean, "x", &warnings)), false);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(std::get<bool>(convert_text("TRUE", OptionType::boolean, "RESTORE_FK_CONSTRAINTS", &warnings)), false);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("RESTORE_FK_CONSTRAINTS is 'TRUE', not 'true': treated as false"), std::string::npos);
}

TEST(ResolveOptions, AppliesConfigThenEnvironmentThenDefault) {
    RawTable raw{{"app", std::string("pix-api-production")}};
    auto o = resolve_options("step 'x'", kSpecs, raw, env_of({{"PG_RESTORE_JOBS", "8"}}), nullptr);
    EXPECT_EQ(o.string("app"), "pix-api-production");
    EXPECT_EQ(o.integer("jobs"), 8);
    EXPECT_EQ(o.boolean("restore"), false);
    EXPECT_EQ(o.list("tables"), std::vector<std::string>{"answers"});
    EXPECT_FALSE(o.has("max_age"));
}

TEST(ResolveOptions, ExpandsVariablesInStringsAndConvertsThem) {
    RawTable raw{{"app", std::string("${SCALINGO_APP}")}, {"jobs", std::string("${JOBS:-3}")},
                 {"restore", std::string("${RESTORE_FK_CONSTRAINTS:-false}")}, {"max_age", std::string("24h")},
                 {"tables", std::string("a, b,c")}};
    auto o = resolve_options("step 'x'", kSpecs, raw, env_of({{"SCALINGO_APP", "app1"}, {"RESTORE_FK_CONSTRAINTS", "true"}}), nullptr);
    EXPECT_EQ(o.string("app"), "app1");
    EXPECT_EQ(o.integer("jobs"), 3);
    EXPECT_TRUE(o.boolean("restore"));
    EXPECT_EQ(o.duration("max_age"), std::chrono::hours(24));
    EXPECT_EQ(o.list("tables"), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ResolveOptions, RejectsUnknownKeysListingTheAllowedOnes) {
    RawTable raw{{"app", std::string("a")}, {"jbos", std::int64_t{2}}};
    auto msg = config_error([&] { resolve_options("step 'pg-restore'", kSpecs, raw, env_of({}), nullptr); });
    EXPECT_EQ(msg, "step 'pg-restore': unknown option 'jbos'; allowed: jobs, restore, app, tables, max_age");
}

TEST(ResolveOptions, RejectsWrongTypesNamingStepAndKey) {
    RawTable raw{{"app", std::string("a")}, {"jobs", true}};
    EXPECT_EQ(config_error([&] { resolve_options("step 'pg-restore'", kSpecs, raw, env_of({}), nullptr); }),
              "step 'pg-restore': option 'jobs' must be an integer, got boolean");
    RawTable raw2{{"app", std::string("a")}, {"jobs", std::string("many")}};
    EXPECT_EQ(config_error([&] { resolve_options("step 'pg-restore'", kSpecs, raw2, env_of({}), nullptr); }),
              "step 'pg-restore': option 'jobs' must be an integer, got 'many'");
    EXPECT_EQ(config_error([&] { resolve_options("step 'pg-restore'", kSpecs, {{"app", std::string("a")}}, env_of({{"PG_RESTORE_JOBS", "x2"}}), nullptr); }),
              "step 'pg-restore': option 'jobs' (from PG_RESTORE_JOBS) must be an integer, got 'x2'");
    RawTable raw3{{"app", std::string("a")}, {"max_age", std::string("soon")}};
    EXPECT_NE(config_error([&] { resolve_options("s", kSpecs, raw3, env_of({}), nullptr); }).find("option 'max_age' must be a duration"),
              std::string::npos);
}

TEST(ResolveOptions, MissingRequiredValueNamesTheVariable) {
    EXPECT_EQ(config_error([] { resolve_options("step 'scalingo-source'", kSpecs, {}, env_of({}), nullptr); }),
              "step 'scalingo-source': option 'app' is required: set SCALINGO_APP");
    // A reference to an unset variable counts as missing, not as an empty app name.
    RawTable raw{{"app", std::string("${SCALINGO_APP}")}};
    EXPECT_EQ(config_error([&] { resolve_options("step 'scalingo-source'", kSpecs, raw, env_of({}), nullptr); }),
              "step 'scalingo-source': option 'app' is required: set SCALINGO_APP");
}

TEST(FormatValue, ShowsValuesAsWritten) {
    EXPECT_EQ(format_value(OptionValue(std::chrono::milliseconds(86'400'000))), "24h");
    EXPECT_EQ(format_value(OptionValue(std::chrono::milliseconds(90'000))), "90s");
    EXPECT_EQ(format_value(OptionValue(std::vector<std::string>{"a", "b"})), "a, b");
    EXPECT_EQ(format_value(OptionValue(true)), "true");
}
