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
/// progress every `progress_every` (and every 5%); `opened` is told the dump's path as soon as
/// it is created. Returns the dump's path once it is whole and scanned. Throws StepError.
std::filesystem::path stream_backup(common::HttpClient& http, const std::string& url, const BackupInfo& b,
                                    common::DumpScanner& scanner, Arrival& arrival, std::chrono::milliseconds progress_every,
                                    const std::function<void(const std::filesystem::path&)>& opened);

}  // namespace pixrep::scalingo
