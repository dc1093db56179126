#pragma once
// SOURCE_DATABASE_URL read once into every form the step needs: a libpq connection string
// with the password for its own connections, the same without any secret for pg_dump's command line,
// the password alone for pg_dump's environment, and a label for messages. Pure.
#include <string>

namespace pixrep::live {

struct SourceUrl {
    std::string conninfo;         ///< With the password and the connection's timeouts: never log it.
    std::string conninfo_public;  ///< Without password nor sslpassword, fit for a child's command line.
    std::string password;         ///< For a child's PGPASSWORD; "" when none.
    std::string sslpassword;      ///< The TLS key's passphrase, for a child's service file (never its command line); "" when none.
    std::string label;            ///< How messages that may reach the history or the page name it: never its user, host or database.
    std::string where;            ///< user@host:port/dbname, for the logs only.
    std::string host, port, dbname;
};

/// Parses `url` (a postgres:// URL or a key=value string). Throws StepError(config) naming
/// SOURCE_DATABASE_URL, never quoting what it holds.
SourceUrl parse_source_url(const std::string& url);

}  // namespace pixrep::live
