#include "config.hpp"

#include <fstream>

#include <toml++/toml.h>

#include <pixrep/step.hpp>

namespace pixrep {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw StepError(ErrorKind::config, msg); }

std::string at(const std::filesystem::path& file, const toml::node& n) {
    return file.string() + ":" + std::to_string(n.source().begin.line);
}

RawValue to_raw(const std::filesystem::path& file, const std::string& key, const toml::node& n) {
    if (auto v = n.value_exact<bool>()) return *v;
    if (auto v = n.value_exact<std::int64_t>()) return *v;
    if (auto v = n.value_exact<double>()) return *v;
    if (auto v = n.value_exact<std::string>()) return *v;
    if (const auto* arr = n.as_array()) {
        std::vector<std::string> items;
        for (const auto& item : *arr) {
            auto s = item.value_exact<std::string>();
            if (!s) fail(at(file, item) + ": '" + key + "' must be an array of strings");
            items.push_back(*s);
        }
        return items;
    }
    fail(at(file, n) + ": '" + key + "' has an unsupported type (tables and dates are not options)");
}

RawTable to_table(const std::filesystem::path& file, const toml::table& t, const std::vector<std::string>& skip) {
    RawTable out;
    for (const auto& [k, v] : t) {
        std::string key(k.str());
        bool skipped = false;
        for (const auto& s : skip) skipped = skipped || s == key;
        if (!skipped) out.push_back({key, to_raw(file, key, v), static_cast<int>(v.source().begin.line)});
    }
    return out;
}

}  // namespace

PipelineConfig load_config(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        fail("config file '" + file.string() + "' not found (set --config or REPLICATION_CONFIG)");
    toml::table root;
    try {
        root = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        fail(file.string() + ":" + std::to_string(e.source().begin.line) + ":" +
             std::to_string(e.source().begin.column) + ": invalid TOML: " + std::string(e.description()));
    }
    PipelineConfig cfg;
    cfg.file = file;
    for (const auto& [k, v] : root) {
        std::string key(k.str());
        if (key != "run" && key != "steps")
            fail(at(file, v) + ": unknown top-level key '" + key + "'; allowed: run, steps");
    }
    if (auto* run = root["run"].as_table()) cfg.run = to_table(file, *run, {});
    else if (root.contains("run")) fail(file.string() + ": 'run' must be a table ([run])");

    auto* steps = root["steps"].as_array();
    if (!steps || steps->empty()) fail(file.string() + ": no [[steps]] defined");
    for (const auto& node : *steps) {
        const auto* t = node.as_table();
        if (!t) fail(at(file, node) + ": each entry of 'steps' must be a table ([[steps]])");
        StepConfig sc;
        sc.where = at(file, node);
        auto plugin = (*t)["plugin"].value_exact<std::string>();
        if (!plugin || plugin->empty()) fail(sc.where + ": step has no 'plugin = \"<name>\"'");
        sc.plugin = *plugin;
        if (t->contains("enabled")) {
            auto en = (*t)["enabled"].value_exact<bool>();
            if (!en) fail(sc.where + ": step '" + sc.plugin + "': 'enabled' must be a boolean");
            sc.enabled = *en;
        }
        sc.options = to_table(file, *t, {"plugin", "enabled"});
        cfg.steps.push_back(std::move(sc));
    }
    return cfg;
}

}  // namespace pixrep
