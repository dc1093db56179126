#pragma once
// The last resort when a call cannot be interrupted: a frozen server that still answers TCP
// keepalives holds a statement, and a cancel request, forever. Once armed (by a stop signal, or
// by the loss of the run's lock), the process ends `grace` later unless the run ended first.
// Children die with it (PR_SET_PDEATHSIG), the target's lock with its session, and the next run
// sweeps the folder.
#include <chrono>
#include <string>

namespace pixrep {

class Logger;

namespace watchdog {

/// Starts the watcher thread; `grace` is how long an armed watchdog waits (STOP_GRACE).
void start(Logger& log, std::chrono::seconds grace);
/// Arms it: unless disarm() comes first, the process exits with `code` after the grace,
/// logging `why`. A later arm() keeps the first deadline.
void arm(const std::string& why, int code);
/// The run ended by itself: the process lives on (the scheduler waits for the next run).
void disarm();

}  // namespace watchdog
}  // namespace pixrep
