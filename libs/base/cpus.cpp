#include "cpus.hpp"

#include <sched.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

namespace pixrep::common {
namespace {

std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::optional<int> ratio(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return std::nullopt;
    return std::max(1, static_cast<int>(std::ceil(static_cast<double>(quota) / static_cast<double>(period))));
}

// The cgroup v2 directory of this process ("0::/path" in /proc/self/cgroup).
std::string cgroup_v2_dir() {
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
    return "/sys/fs/cgroup";
}

}  // namespace

std::optional<int> cpus_from_cpu_max(const std::string& cpu_max) {
    std::istringstream in(cpu_max);
    std::string quota;
    long long period = 0;
    if (!(in >> quota >> period) || quota == "max") return std::nullopt;
    try {
        return ratio(std::stoll(quota), period);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<int> cpus_from_cfs(const std::string& quota, const std::string& period) {
    try {
        return ratio(std::stoll(quota), std::stoll(period));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

int usable_cpus() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    std::optional<int> quota = cpus_from_cpu_max(read_line(cgroup_v2_dir() + "/cpu.max"));
    if (!quota) quota = cpus_from_cpu_max(read_line("/sys/fs/cgroup/cpu.max"));
    for (const char* v1 : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"})
        if (!quota) quota = cpus_from_cfs(read_line(std::string(v1) + "/cpu.cfs_quota_us"), read_line(std::string(v1) + "/cpu.cfs_period_us"));
    if (quota && *quota < n) n = *quota;
    return std::max(1, n);
}

}  // namespace pixrep::common
