#pragma once
// Reads the TOML config into plain structures. The only file of the host that sees toml++ (the
// masking rules, another file, are read by libs/mask).
#include <filesystem>
#include <string>
#include <vector>

#include "settings.hpp"

namespace pixrep {

/// One `[[steps]]` entry of the config.
struct StepConfig {
    std::string plugin;   ///< Plugin name: folder plugins/<name>/, library lib<name>.so.
    bool enabled = true;  ///< `enabled = false` keeps the entry but skips it.
    RawTable options;     ///< Every other key of the entry.
    std::string where;    ///< "file:line" of the entry, for messages.
    /// How messages name this entry: "step 'pg-restore' (file:line)".
    std::string scope() const { return "step '" + plugin + "' (" + where + ")"; }
};

/// The whole config file.
struct PipelineConfig {
    std::filesystem::path file;    ///< The config file, as given.
    RawTable run;                  ///< The [run] table: host settings.
    std::vector<StepConfig> steps; ///< In run order.
    /// How messages name the [run] table.
    std::string run_scope() const { return file.string() + " [run]"; }
};

/// Parses `file`. Throws StepError(config) naming the file, line and key on any problem.
PipelineConfig load_config(const std::filesystem::path& file);

}  // namespace pixrep
