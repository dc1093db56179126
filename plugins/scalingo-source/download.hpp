#pragma once
// The streaming download: HTTP body -> pipe -> gunzip -> tar -> *.pgsql in the run's directory,
// the dump scanner checking every block on the way. No .tar.gz ever reaches the disk.
#include <chrono>
#include <filesystem>

#include <pixrep/step.hpp>

#include "dump.hpp"
#include "http.hpp"
#include "scalingo_api.hpp"

namespace pixrep::scalingo {

/// Downloads backup `b` from `url` and extracts its dump into the run's directory, logging
/// progress every `progress_every` (and every 5%). Returns the dump's path. Throws StepError.
std::filesystem::path stream_backup(common::HttpClient& http, const std::string& url, const BackupInfo& b,
                                    common::DumpScanner& scanner, RunContext& ctx, std::chrono::milliseconds progress_every);

}  // namespace pixrep::scalingo
