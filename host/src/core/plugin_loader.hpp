#pragma once
// Finding, opening and checking step plugins. Every load error is produced here, one message per
// stage, each naming the file.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include <pixrep/step.hpp>

namespace pixrep {

/// A step and the library that holds its code. Members are destroyed in reverse order: the
/// option bindings, then the step, then (last) the library that holds their code.
struct LoadedStep {
    boost::dll::shared_library lib;  ///< Empty for steps built into the host (tests).
    std::unique_ptr<Step> step;
    OptionTable options;             ///< The step's options, bound to its members.
    std::filesystem::path file;
    StepInfo info;
};

class PluginLoader {
public:
    explicit PluginLoader(std::vector<std::filesystem::path> search_dirs);

    /// The library file name of plugin `name`: "pg-restore" -> "libpg-restore.so".
    static std::string file_name(const std::string& name);
    /// The directories searched, in order: $PIX_REPLICATION_PLUGIN_PATH, `extra`, then next to the binary.
    static std::vector<std::filesystem::path> default_dirs(const std::vector<std::string>& extra);

    /// Loads plugin `name` (or a path to a .so). Throws StepError(config) naming the stage and file.
    LoadedStep load(const std::string& name) const;
    /// Plugin names found in the search directories.
    std::vector<std::string> available() const;

private:
    std::vector<std::filesystem::path> dirs_;
};

/// Wraps a step object built into the host (tests' fake steps) as a LoadedStep.
LoadedStep adopt_step(std::unique_ptr<Step> step);

/// Edit distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace pixrep
