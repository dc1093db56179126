#pragma once
// What a PostgreSQL error means for the run: whether retrying can help. Pure functions over
// libpq's messages, which are all a failed connection gives.
#include <string>

#include <pixrep/step.hpp>

namespace pixrep::common {

/// ErrorKind::config when a failed connection's message says the settings are wrong (bad
/// password, unknown role or database, refused by pg_hba.conf, malformed parameters): no retry
/// can fix those. ErrorKind::transient otherwise (server down, network, too many connections).
ErrorKind connect_error_kind(const std::string& message);

/// The message on one line, without libpq's trailing newline.
std::string one_line(std::string message);

/// A StepError for a failed connection to `label`: its kind by connect_error_kind(), and for a
/// configuration error a hint to check DATABASE_URL.
StepError connect_error(const std::string& label, const std::string& message);

}  // namespace pixrep::common
