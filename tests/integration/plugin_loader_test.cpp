// Loads the real plugin files and the purpose-built broken ones; asserts each load stage's message.
#include <gtest/gtest.h>

#include <pixrep/step.hpp>

#include "harness.hpp"
#include "plugin_loader.hpp"

using namespace pixrep;

namespace {

std::string load_error(const PluginLoader& loader, const std::string& name) {
    try {
        loader.load(name);
    } catch (const StepError& e) {
        EXPECT_EQ(e.kind(), ErrorKind::config);
        return e.what();
    }
    ADD_FAILURE() << "loading " << name << " did not fail";
    return "";
}

PluginLoader real() { return PluginLoader({PIXREP_PLUGIN_DIR}); }

}  // namespace

TEST(PluginLoader, LoadsEveryShippedPluginUnderItsOwnName) {
    for (const char* name : {"local-file", "scalingo-source", "drop-objects", "pg-restore", "fk-constraints", "answers-kes", "post-sql"}) {
        auto loaded = real().load(name);
        ASSERT_TRUE(loaded.step) << name;
        EXPECT_EQ(loaded.info.name, name);
        EXPECT_EQ(loaded.file.filename().string(), PluginLoader::file_name(name));
        EXPECT_FALSE(loaded.info.description.empty());
        for (const auto& o : loaded.info.options) EXPECT_FALSE(o.description.empty()) << name << "." << o.key;
    }
}

TEST(PluginLoader, StepsDieBeforeTheirLibraries) {
    // Loading and dropping the same plugins repeatedly must neither crash nor leak a dangling vtable.
    for (int i = 0; i < 20; ++i) {
        std::vector<LoadedStep> steps;
        steps.push_back(real().load("pg-restore"));
        steps.push_back(real().load("answers-kes"));
    }
    SUCCEED();
}

TEST(PluginLoader, MissingFileListsWhereItLookedAndSuggestsAName) {
    auto msg = load_error(real(), "pg-restor");
    EXPECT_NE(msg.find("step plugin 'pg-restor' not found: no libpg-restor.so in " + std::string(PIXREP_PLUGIN_DIR)), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean 'pg-restore'?"), std::string::npos) << msg;
}

TEST(PluginLoader, NotASharedLibrary) {
    pixtest::TempDir d;
    pixtest::write_file(d / "libjunk.so", "this is not an ELF file\n");
    auto msg = load_error(PluginLoader({d.path()}), "junk");
    EXPECT_NE(msg.find("step plugin '" + (d / "libjunk.so").string() + "' could not be loaded: "), std::string::npos) << msg;
}

TEST(PluginLoader, NoFactory) {
    auto msg = load_error(PluginLoader({PIXREP_TEST_PLUGIN_DIR}), "no-factory-step");
    EXPECT_NE(msg.find("libno-factory-step.so' is not a step plugin: it exports no 'create_step' factory"), std::string::npos) << msg;
}

TEST(PluginLoader, WrongAbiNamesFileAndBothVersions) {
    auto msg = load_error(PluginLoader({PIXREP_TEST_PLUGIN_DIR}), "wrong-abi-step");
    EXPECT_NE(msg.find(std::string(PIXREP_TEST_PLUGIN_DIR) + "/libwrong-abi-step.so' was built for step ABI 0, but this "
                       "pix-db-replication expects ABI " + std::to_string(kStepAbiVersion) + "; rebuild the plugin"),
              std::string::npos) << msg;
}

TEST(PluginLoader, FactoryThrows) {
    auto msg = load_error(PluginLoader({PIXREP_TEST_PLUGIN_DIR}), "throwing-step");
    EXPECT_NE(msg.find("factory 'create_step' in '" + std::string(PIXREP_TEST_PLUGIN_DIR) +
                       "/libthrowing-step.so' threw: boom: cannot initialise"), std::string::npos) << msg;
}

TEST(PluginLoader, FileNameMustMatchThePluginsName) {
    pixtest::TempDir d;
    std::filesystem::copy_file(std::string(PIXREP_PLUGIN_DIR) + "/libpost-sql.so", d / "libpost-sq1.so");
    auto msg = load_error(PluginLoader({d.path()}), "post-sq1");
    EXPECT_NE(msg.find("calls itself 'post-sql', not 'post-sq1'"), std::string::npos) << msg;
}
