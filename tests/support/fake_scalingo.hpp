#pragma once
// Client side of tests/fake_scalingo/fake_scalingo.py: starts it on a free loopback port with a
// given state and reads back the requests it received.
#include <cctype>
#include <ctime>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace pixtest_fake {
using json = nlohmann::json;

inline const std::string kToken = "tk-us-TOKEN-d41d8cd98f00b204e9800998ecf8427e";

inline std::string rfc3339(std::time_t t, int offset_minutes, const char* frac = "") {
    std::time_t local = t + offset_minutes * 60;
    std::tm tm{};
    gmtime_r(&local, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string s = std::string(buf) + frac;
    if (offset_minutes == 0) return s + "Z";
    char off[16];
    std::snprintf(off, sizeof off, "%+03d:%02d", offset_minutes / 60, std::abs(offset_minutes % 60));
    return s + off;
}

class FakeScalingo {
public:
    explicit FakeScalingo(const json& state) {
        pixtest::write_file(dir_ / "state.json", state.dump());
        proc_ = std::make_unique<pixtest::Background>(std::vector<std::string>{
            "python3", std::string(PIXREP_SOURCE_DIR) + "/tests/fake_scalingo/fake_scalingo.py", (dir_ / "state.json").string(),
            (dir_ / "requests.log").string()});
        auto line = proc_->wait_for("", 10);
        if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0])))
            throw std::runtime_error("fake Scalingo did not start (python3 missing?): " + proc_->output());
        port_ = std::stoi(line);
    }
    /// Replaces the state the fake serves (it reads the file again), e.g. a backup that is now done.
    void update(const json& state) const {
        pixtest::write_file(dir_ / "state.tmp", state.dump());
        std::filesystem::rename(dir_ / "state.tmp", dir_ / "state.json");
    }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::map<std::string, std::string> env(const std::string& app = "pix-api-production") const {
        return {{"SCALINGO_APP", app}, {"SCALINGO_API_TOKEN", kToken}, {"SCALINGO_REGION", "osc-fr1"}, {"SCALINGO_AUTH_URL", base()},
                {"SCALINGO_API_URL", base()}, {"SCALINGO_DB_URL", base()}, {"RETRY_MIN_DELAY", "100ms"}};
    }
    std::vector<json> requests(const std::string& endpoint = "") const {
        std::vector<json> out;
        std::ifstream in(dir_ / "requests.log");
        for (std::string line; std::getline(in, line);) {
            auto j = json::parse(line);
            if (endpoint.empty() || j["endpoint"] == endpoint) out.push_back(j);
        }
        return out;
    }

private:
    pixtest::TempDir dir_;
    std::unique_ptr<pixtest::Background> proc_;
    int port_ = 0;
};

}  // namespace pixtest_fake
using namespace pixtest_fake;
