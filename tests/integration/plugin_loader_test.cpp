// Loads the real plugin files and the purpose-built broken ones; asserts each load stage's message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

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
        for (const auto& o : loaded.options.specs()) EXPECT_FALSE(o.description.empty()) << name << "." << o.key;
    }
}

namespace {
bool mapped(const std::string& file) { return pixtest::read_file("/proc/self/maps").find(file) != std::string::npos; }
}  // namespace

TEST(PluginLoader, StepsDieBeforeTheirLibrariesWhichAreThenUnloaded) {
    // lifetime-step's destructor runs the library's code and leaves a mark: destroyed after the
    // unload, it would crash this test; never unloaded (STB_GNU_UNIQUE symbols), the library
    // would stay mapped.
    pixtest::TempDir d;
    const auto mark = d / "mark";
    setenv("PIXREP_LIFETIME_MARK", mark.c_str(), 1);
    const std::string file = std::string(PIXREP_TEST_PLUGIN_DIR) + "/liblifetime-step.so";
    for (int i = 1; i <= 3; ++i) {
        {
            auto loaded = PluginLoader({PIXREP_TEST_PLUGIN_DIR}).load("lifetime-step");
            EXPECT_TRUE(mapped(file));
            EXPECT_EQ(loaded.options.specs().size(), 1u);
        }
        EXPECT_FALSE(mapped(file)) << "the library was not unloaded";
        std::string marks = pixtest::read_file(mark);
        EXPECT_EQ(std::count(marks.begin(), marks.end(), '\n'), i) << "the step was not destroyed: " << marks;
    }
    unsetenv("PIXREP_LIFETIME_MARK");
    for (const char* name : {"pg-restore", "scalingo-source", "answers-kes"}) {
        { auto loaded = real().load(name); }
        EXPECT_FALSE(mapped(std::string(PIXREP_PLUGIN_DIR) + "/lib" + name + ".so")) << name << " stays loaded";
    }
}

TEST(PluginLoader, EveryPluginExportsOnlyItsEntrySymbols) {
    int checked = 0;
    for (const char* dir : {PIXREP_PLUGIN_DIR, PIXREP_TEST_PLUGIN_DIR})
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            const auto f = e.path().string();
            if (e.path().extension() != ".so" || f.find("no-factory") != std::string::npos) continue;
            auto r = pixtest::run_cmd({"nm", "-D", "--defined-only", f});
            ASSERT_EQ(r.code, 0) << r.out;
            std::vector<std::string> names;
            std::istringstream in(r.out);
            for (std::string line; std::getline(in, line);)
                if (auto sp = line.rfind(' '); sp != std::string::npos) names.push_back(line.substr(sp + 1));
            std::sort(names.begin(), names.end());
            EXPECT_EQ(names, (std::vector<std::string>{"create_step", "step_abi_version"})) << f << ":\n" << r.out;
            ++checked;
        }
    EXPECT_GE(checked, 12);
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

TEST(PluginLoader, FactoryThrowingStepErrorIsReportedNotACrash) {
    // The plugin's exception object has its vtable in the plugin: the host must copy its message
    // into an error of its own before the library goes.
    auto msg = load_error(PluginLoader({PIXREP_TEST_PLUGIN_DIR}), "step-error-step");
    EXPECT_EQ(msg, "factory 'create_step' in '" + std::string(PIXREP_TEST_PLUGIN_DIR) +
                       "/libstep-error-step.so' threw: cannot start: missing licence file");
}

TEST(PluginLoader, FileNameMustMatchThePluginsName) {
    pixtest::TempDir d;
    std::filesystem::copy_file(std::string(PIXREP_PLUGIN_DIR) + "/libpost-sql.so", d / "libpost-sq1.so");
    auto msg = load_error(PluginLoader({d.path()}), "post-sq1");
    EXPECT_NE(msg.find("calls itself 'post-sql', not 'post-sq1'"), std::string::npos) << msg;
}
