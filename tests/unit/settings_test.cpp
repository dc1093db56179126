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
    EXPECT_EQ(expand_env("x${A}y", env).text, "x1y");
    EXPECT_EQ(expand_env("${MISSING:-10}", env).text, "10");
    EXPECT_EQ(expand_env("${EMPTY:-d}", env).text, "d");
    EXPECT_EQ(expand_env("${A:-d}", env).text, "1");
    EXPECT_EQ(expand_env("${MISSING}", env).text, "");
    EXPECT_EQ(expand_env("cost $$5 and $ alone", env).text, "cost $5 and $ alone");
}

TEST(ExpandEnv, RejectsBadSyntax) {
    EXPECT_NE(config_error([] { expand_env("${A", env_of({})).text; }).find("unterminated"), std::string::npos);
    EXPECT_NE(config_error([] { expand_env("${1A}", env_of({})).text; }).find("invalid variable name '1A'"), std::string::npos);
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
    EXPECT_EQ(std::get<bool>(convert_text("true", OptionType::boolean, "x", "", &warnings)), true);
    EXPECT_EQ(std::get<bool>(convert_text("false", OptionType::boolean, "x", "", &warnings)), false);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(std::get<bool>(convert_text("TRUE", OptionType::boolean, "RESTORE_FK_CONSTRAINTS", "", &warnings)), false);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("RESTORE_FK_CONSTRAINTS is 'TRUE', not 'true': treated as false"), std::string::npos);
}

TEST(ResolveOptions, AppliesConfigThenEnvironmentThenDefault) {
    RawTable raw{{"app", std::string("pix-api-production")}};
    auto o = resolve_options({"step 'x'", "c.toml"}, kSpecs, raw, env_of({{"PG_RESTORE_JOBS", "8"}}), nullptr);
    EXPECT_EQ(std::get<std::string>(o.at("app")), "pix-api-production");
    EXPECT_EQ(std::get<std::int64_t>(o.at("jobs")), 8);
    EXPECT_EQ(std::get<bool>(o.at("restore")), false);
    EXPECT_EQ(std::get<std::vector<std::string>>(o.at("tables")), std::vector<std::string>{"answers"});
    EXPECT_FALSE(o.count("max_age"));
}

TEST(ResolveOptions, ExpandsVariablesInStringsAndConvertsThem) {
    RawTable raw{{"app", std::string("${SCALINGO_APP}")}, {"jobs", std::string("${JOBS:-3}")},
                 {"restore", std::string("${RESTORE_FK_CONSTRAINTS:-false}")}, {"max_age", std::string("24h")},
                 {"tables", std::string("a, b,c")}};
    auto o = resolve_options({"step 'x'", "c.toml"}, kSpecs, raw, env_of({{"SCALINGO_APP", "app1"}, {"RESTORE_FK_CONSTRAINTS", "true"}}), nullptr);
    EXPECT_EQ(std::get<std::string>(o.at("app")), "app1");
    EXPECT_EQ(std::get<std::int64_t>(o.at("jobs")), 3);
    EXPECT_TRUE(std::get<bool>(o.at("restore")));
    EXPECT_EQ(std::get<std::chrono::milliseconds>(o.at("max_age")), std::chrono::hours(24));
    EXPECT_EQ(std::get<std::vector<std::string>>(o.at("tables")), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ResolveOptions, RejectsUnknownKeysListingTheAllowedOnes) {
    RawTable raw{{"app", std::string("a")}, {"jbos", std::int64_t{2}}};
    auto msg = config_error([&] { resolve_options({"step 'pg-restore'", "c.toml"}, kSpecs, raw, env_of({}), nullptr); });
    EXPECT_EQ(msg, "step 'pg-restore': unknown option 'jbos'; allowed: jobs, restore, app, tables, max_age");
}

TEST(ResolveOptions, RejectsWrongTypesNamingStepAndKey) {
    RawTable raw{{"app", std::string("a")}, {"jobs", true}};
    EXPECT_EQ(config_error([&] { resolve_options({"step 'pg-restore'", "c.toml"}, kSpecs, raw, env_of({}), nullptr); }),
              "step 'pg-restore': option 'jobs' must be an integer, got boolean");
    RawTable raw2{{"app", std::string("a")}, {"jobs", std::string("many")}};
    EXPECT_EQ(config_error([&] { resolve_options({"step 'pg-restore'", "c.toml"}, kSpecs, raw2, env_of({}), nullptr); }),
              "step 'pg-restore': option 'jobs' must be an integer, got 'many'");
    EXPECT_EQ(config_error([&] { resolve_options({"step 'pg-restore'", "c.toml"}, kSpecs, {{"app", std::string("a")}}, env_of({{"PG_RESTORE_JOBS", "x2"}}), nullptr); }),
              "step 'pg-restore': option 'jobs' (from PG_RESTORE_JOBS) must be an integer, got 'x2'");
    RawTable raw3{{"app", std::string("a")}, {"max_age", std::string("soon")}};
    EXPECT_NE(config_error([&] { resolve_options({"s", "c.toml"}, kSpecs, raw3, env_of({}), nullptr); }).find("option 'max_age' must be a duration"),
              std::string::npos);
}

TEST(ResolveOptions, MissingRequiredValueNamesTheVariable) {
    EXPECT_EQ(config_error([] { resolve_options({"step 'scalingo-source'", "c.toml"}, kSpecs, {}, env_of({}), nullptr); }),
              "step 'scalingo-source': option 'app' is required: set SCALINGO_APP");
    // A reference to an unset variable counts as missing, not as an empty app name.
    RawTable raw{{"app", std::string("${SCALINGO_APP}")}};
    EXPECT_EQ(config_error([&] { resolve_options({"step 'scalingo-source'", "c.toml"}, kSpecs, raw, env_of({}), nullptr); }),
              "step 'scalingo-source': option 'app' is required: set SCALINGO_APP");
}

TEST(FormatValue, ShowsValuesAsWritten) {
    EXPECT_EQ(format_value(OptionValue(std::chrono::milliseconds(86'400'000))), "24h");
    EXPECT_EQ(format_value(OptionValue(std::chrono::milliseconds(90'000))), "90s");
    EXPECT_EQ(format_value(OptionValue(std::vector<std::string>{"a", "b"})), "a, b");
    EXPECT_EQ(format_value(OptionValue(true)), "true");
}

TEST(ResolveOptions, ABadValueFromAVariableNamesTheVariableThenTheFile) {
    RawTable raw{{"app", std::string("a"), 4}, {"jobs", std::string("${MAX_JOBS:-0}"), 7}};
    EXPECT_EQ(config_error([&] { resolve_options({"step 'pg-restore' (c.toml:5)", "c.toml"}, kSpecs, raw, env_of({{"MAX_JOBS", "ten"}}), nullptr); }),
              "MAX_JOBS (set in the environment, read by c.toml:7 for step 'pg-restore' (c.toml:5)): option 'jobs' must be an integer, got 'ten'");
    // The same text written in the file itself names the file's line.
    RawTable literal{{"app", std::string("a"), 4}, {"jobs", std::string("ten"), 7}};
    EXPECT_EQ(config_error([&] { resolve_options({"step 'pg-restore' (c.toml:5)", "c.toml"}, kSpecs, literal, env_of({}), nullptr); }),
              "step 'pg-restore' (c.toml:5), line 7: option 'jobs' must be an integer, got 'ten'");
    RawTable typed{{"app", std::string("a"), 4}, {"jobs", true, 9}};
    EXPECT_EQ(config_error([&] { resolve_options({"step 'pg-restore' (c.toml:5)", "c.toml"}, kSpecs, typed, env_of({}), nullptr); }),
              "step 'pg-restore' (c.toml:5), line 9: option 'jobs' must be an integer, got boolean");
}

TEST(ExpandEnv, DefaultsMayReadAnotherVariableAndTheSourcesAreRecorded) {
    auto env = env_of({{"REGION_NAME", "osc-secnum-fr1"}, {"A", "1"}});
    auto x = expand_env("${SCALINGO_REGION:-${REGION_NAME}}", env);
    EXPECT_EQ(x.text, "osc-secnum-fr1");
    EXPECT_EQ(x.vars, std::vector<std::string>{"REGION_NAME"});
    EXPECT_EQ(expand_env("${SCALINGO_REGION:-${NOPE:-osc-fr1}}", env).text, "osc-fr1");
    EXPECT_TRUE(expand_env("${SCALINGO_REGION:-${NOPE:-osc-fr1}}", env).vars.empty());
    EXPECT_EQ(expand_env("${A}-${A}", env).vars, (std::vector<std::string>{"A", "A"}));
    EXPECT_EQ(referenced_vars("${SCALINGO_REGION:-${REGION_NAME}} ${A}"), (std::vector<std::string>{"SCALINGO_REGION", "REGION_NAME", "A"}));
}

TEST(OptionTable, EachOptionIsDeclaredOnceAndStoredWhereItIsBound) {
    struct Step {
        std::int64_t jobs = 4;
        std::optional<std::string> addon;
        std::vector<std::string> tables{"answers"};
        std::string token;
    } s;
    OptionTable t;
    t.add("jobs", s.jobs, "jobs").env("PG_RESTORE_JOBS");
    t.add("addon", s.addon, "addon");
    t.add("tables", s.tables, "tables");
    t.add("token", s.token, "token").env("TOKEN").required().secret();
    auto specs = t.specs();
    ASSERT_EQ(specs.size(), 4u);
    EXPECT_EQ(std::get<std::int64_t>(*specs[0].fallback), 4);
    EXPECT_EQ(specs[0].env, "PG_RESTORE_JOBS");
    EXPECT_FALSE(specs[1].fallback);
    EXPECT_TRUE(specs[3].required && specs[3].secret && !specs[3].fallback);
    auto values = resolve_options({"step 'x'", "c.toml"}, specs, {{"addon", std::string("ad-1"), 3}},
                                  env_of({{"PG_RESTORE_JOBS", "8"}, {"TOKEN", "tk"}}), nullptr);
    for (const auto& [k, v] : values) OptionStore::store(t, k, v);
    EXPECT_EQ(s.jobs, 8);
    EXPECT_EQ(s.addon, std::optional<std::string>("ad-1"));
    EXPECT_EQ(s.tables, std::vector<std::string>{"answers"});
    EXPECT_EQ(s.token, "tk");
}
