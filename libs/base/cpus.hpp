#pragma once
// How many CPUs this process may really use: in a container, the host's count is not the
// container's share (its cgroup's CPU quota, its CPU affinity).
#include <optional>
#include <string>

namespace pixrep::common {

/// CPUs allowed by a cgroup v2 "cpu.max" line ("200000 100000" -> 2, "150000 100000" -> 2,
/// "max 100000" -> nullopt).
std::optional<int> cpus_from_cpu_max(const std::string& cpu_max);

/// CPUs allowed by cgroup v1's cfs quota and period ("-1" quota -> nullopt).
std::optional<int> cpus_from_cfs(const std::string& quota, const std::string& period);

/// The CPUs this process may use: its affinity, capped by its cgroup's quota; at least 1.
int usable_cpus();

}  // namespace pixrep::common
