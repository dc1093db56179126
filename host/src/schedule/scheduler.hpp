#pragma once
// The schedule process: runs on SCHEDULE's ticks (or on-backup), and serves the runs asked for.
#include <atomic>

#include "logger.hpp"
#include "pipeline.hpp"

namespace pixrep {

/// Runs the pipeline on the config's schedule, and for the runs asked for (requests.hpp, looked
/// for every trigger_poll), one at a time, until a stop is requested; returns the exit code.
int run_schedule(Pipeline& pipeline, HostLogger& log, const std::atomic<bool>* stop);

}  // namespace pixrep
