#pragma once
// `pix-db-replication rollback`: yesterday's copy, kept by KEEP_PREVIOUS=true, swapped back into
// place in one transaction, and tonight's into the previous-copy schemas, so that a second
// rollback undoes the first. Kept tables stay where they are.
#include <chrono>
#include <string>

#include <pixrep/context.hpp>

#include "logger.hpp"

namespace pixrep {

/// Swaps the previous copy back under the run's lock; returns the exit code (1 when there is
/// no previous copy to swap back).
int rollback(const Target& target, const std::string& home, std::chrono::milliseconds lock_wait, HostLogger& log);

}  // namespace pixrep
