// The TOML reader: structure, positions in messages, and the shipped configs.
#include <gtest/gtest.h>

#include <pixrep/step.hpp>

#include "config.hpp"
#include "harness.hpp"

using namespace pixrep;

namespace {
std::string error_of(const std::filesystem::path& p) {
    try {
        load_config(p);
    } catch (const StepError& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST(LoadConfig, ReadsStepsInTheOrderTheyActWithTheirOptions) {
    auto cfg = load_config(std::string(PIXREP_SOURCE_DIR) + "/config/local.toml");
    ASSERT_GE(cfg.steps.size(), 5u);
    EXPECT_EQ(cfg.steps[0].plugin, "local-file");
    EXPECT_EQ(cfg.steps[1].plugin, "masking");
    EXPECT_EQ(cfg.steps[4].plugin, "reuse-unchanged");
    EXPECT_EQ(cfg.steps[5].plugin, "drop-objects");
    EXPECT_EQ(cfg.steps[6].plugin, "pg-restore");
    EXPECT_EQ(cfg.steps[0].options.at(0).line, 13);  // path = ..., for messages naming the line
    EXPECT_EQ(std::get<std::string>(cfg.steps[0].options.at(0).value), "${BACKUP_FILE:-backup.tar.gz}");
}

TEST(LoadConfig, ProductionListsSourceShapersDropRestore) {
    auto cfg = load_config(std::string(PIXREP_SOURCE_DIR) + "/config/production.toml");
    std::vector<std::string> names;
    for (const auto& s : cfg.steps) names.push_back(s.plugin);
    ASSERT_GE(names.size(), 7u);
    EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 7),
              (std::vector<std::string>{"scalingo-source", "masking", "fk-constraints", "answers-kes", "reuse-unchanged", "drop-objects", "pg-restore"}));
}

TEST(LoadConfig, ErrorsNameFileAndLine) {
    pixtest::TempDir d;
    pixtest::write_file(d / "bad.toml", "[run]\ndatabase_url = \"x\"\n[[steps]]\nplugin = \"a\"\njobs = [1, 2\n");
    EXPECT_NE(error_of(d / "bad.toml").find("bad.toml:5"), std::string::npos) << error_of(d / "bad.toml");
    pixtest::write_file(d / "nostep.toml", "[run]\n");
    EXPECT_NE(error_of(d / "nostep.toml").find("no [[steps]] defined"), std::string::npos);
    pixtest::write_file(d / "noplugin.toml", "[[steps]]\njobs = 1\n");
    EXPECT_NE(error_of(d / "noplugin.toml").find("noplugin.toml:1: step has no 'plugin"), std::string::npos) << error_of(d / "noplugin.toml");
    pixtest::write_file(d / "top.toml", "[[steps]]\nplugin = \"a\"\n[runn]\nx = 1\n");
    EXPECT_NE(error_of(d / "top.toml").find("unknown top-level key 'runn'; allowed: run, steps"), std::string::npos);
    EXPECT_NE(error_of(d / "missing.toml").find("not found"), std::string::npos);
}
