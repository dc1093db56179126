#include "plugin_loader.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>

#include "boundary.hpp"

namespace pixrep {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw StepError(ErrorKind::config, msg); }

std::string join_paths(const std::vector<std::filesystem::path>& dirs) {
    std::string out;
    for (const auto& d : dirs) out += (out.empty() ? "" : ", ") + d.string();
    return out;
}

// Asks the step for its name and options, as a host error if it throws.
void describe(LoadedStep& loaded, const std::string& prefix) {
    guarded(prefix, ErrorKind::config, [&] {
        loaded.info = loaded.step->info();
        loaded.step->declare(loaded.options);
    }, true);
}

}  // namespace

LoadedStep adopt_step(std::unique_ptr<Step> step) {
    LoadedStep loaded;
    loaded.step = std::move(step);
    describe(loaded, "step: ");
    loaded.file = "(built in)";
    return loaded;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

PluginLoader::PluginLoader(std::vector<std::filesystem::path> search_dirs) : dirs_(std::move(search_dirs)) {}

std::string PluginLoader::file_name(const std::string& name) { return "lib" + name + ".so"; }

std::vector<std::filesystem::path> PluginLoader::default_dirs(const std::vector<std::string>& extra) {
    std::vector<std::filesystem::path> dirs;
    if (const char* env = std::getenv("PIX_REPLICATION_PLUGIN_PATH")) {
        std::stringstream ss(env);
        for (std::string d; std::getline(ss, d, ':');)
            if (!d.empty()) dirs.emplace_back(d);
    }
    for (const auto& d : extra) dirs.emplace_back(d);
    std::filesystem::path exe_dir = boost::dll::program_location().parent_path().string();
    dirs.push_back(exe_dir / "plugins");
    dirs.push_back(exe_dir.parent_path() / PIXREP_REL_PLUGIN_DIR);
    return dirs;
}

std::vector<std::string> PluginLoader::available() const {
    std::vector<std::string> names;
    for (const auto& dir : dirs_) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            std::string f = entry.path().filename().string();
            if (f.size() > 6 && f.rfind("lib", 0) == 0 && f.substr(f.size() - 3) == ".so") {
                std::string n = f.substr(3, f.size() - 6);
                if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
            }
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

LoadedStep PluginLoader::load(const std::string& name) const {
    // Stage 1: find the file.
    std::filesystem::path file;
    if (name.find('/') != std::string::npos) {
        file = name;
        if (!std::filesystem::exists(file)) fail("step plugin file '" + name + "' not found");
    } else {
        for (const auto& dir : dirs_)
            if (std::filesystem::exists(dir / file_name(name))) {
                file = dir / file_name(name);
                break;
            }
        if (file.empty()) {
            std::string msg = "step plugin '" + name + "' not found: no " + file_name(name) + " in " + join_paths(dirs_);
            std::string best;
            std::size_t best_d = 4;
            for (const auto& n : available())
                if (auto d = edit_distance(name, n); d < best_d) best_d = d, best = n;
            if (!best.empty()) msg += "; did you mean '" + best + "'?";
            fail(msg);
        }
    }
    const std::string f = file.string();

    // Stage 2: open it.
    LoadedStep loaded;
    loaded.file = file;
    try {
        loaded.lib.load(boost::dll::fs::path(f), boost::dll::load_mode::rtld_now);
    } catch (const std::exception& e) {
        fail("step plugin '" + f + "' could not be loaded: " + e.what());
    }

    // Stage 3: is it a step plugin at all?
    if (!loaded.lib.has("create_step") || !loaded.lib.has("step_abi_version"))
        fail("'" + f + "' is not a step plugin: it exports no 'create_step' factory (use PIXREP_STEP(Class))");

    // Stage 4: ABI, before calling anything else from the plugin.
    int abi = loaded.lib.get_alias<int()>("step_abi_version")();
    if (abi != kStepAbiVersion)
        fail("step plugin '" + f + "' was built for step ABI " + std::to_string(abi) +
             ", but this pix-db-replication expects ABI " + std::to_string(kStepAbiVersion) + "; rebuild the plugin");

    // Stage 5: create the step and let it describe itself; whatever the plugin throws is turned
    // into a host error here, while its library is still loaded.
    const std::string factory = "factory 'create_step' in '" + f + "' threw: ";
    loaded.step = guarded(factory, ErrorKind::config, [&] { return loaded.lib.get_alias<std::unique_ptr<Step>()>("create_step")(); },
                          true);
    if (!loaded.step) fail("factory 'create_step' in '" + f + "' returned no step");
    describe(loaded, "step plugin '" + f + "': ");
    if (name.find('/') == std::string::npos && loaded.info.name != name)
        fail("step plugin '" + f + "' calls itself '" + loaded.info.name + "', not '" + name +
             "'; the file name must be " + file_name(loaded.info.name));
    return loaded;
}

}  // namespace pixrep
