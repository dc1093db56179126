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

/// Whether an error the server (or libpq) raised during a statement can heal by itself, from
/// its SQLSTATE when known (`sqlstate`, "" otherwise) and else from its message. Transient: the
/// connection lost or refused (class 08, "server closed the connection"...), the server shutting
/// down or restarting (57P01-57P03), too many connections (53300), a lock or statement timeout
/// (55P03, 57014), a deadlock or serialization failure (40P01, 40001). Everything else (a
/// syntax error, a bad value, a missing object, a full disk) fails the same way again: fatal.
ErrorKind sql_error_kind(const std::string& sqlstate, const std::string& message);

/// sql_error_kind() of a message alone (an exception that crossed a boundary).
ErrorKind message_error_kind(const std::string& message);

/// sql_error_kind() of an exception: a pqxx::broken_connection is transient, a pqxx::sql_error
/// is judged by its SQLSTATE, a StepError keeps its kind, anything else by its message.
ErrorKind exception_error_kind(const std::exception& e);

/// The part of a server error fit for the run history and the page: its first line (the
/// statement or step and the server's message), without the DETAIL, CONTEXT, HINT, LINE and
/// QUERY lines that can quote row values, cut to `max` characters. Pure.
std::string error_summary(const std::string& message, std::size_t max = 300);

/// `text` cut to at most `max` bytes, never inside a UTF-8 character, with "..." when cut; bytes
/// that are not UTF-8 become '?', so that the result is always valid text for PostgreSQL. Pure.
std::string cut_utf8(const std::string& text, std::size_t max);

/// The message on one line, without libpq's trailing newline.
std::string one_line(std::string message);

/// True when `message` says the server's disk is full (SQLSTATE 53100, "No space left on device").
bool disk_full(const std::string& message);

/// A StepError for a failed connection to the `which` ("target", "source") database `label`: its
/// kind by connect_error_kind(), and for a configuration error a hint to check DATABASE_URL (or
/// SOURCE_DATABASE_URL).
StepError connect_error(const std::string& label, const std::string& message, const std::string& which = "target");

}  // namespace pixrep::common
