#pragma once
// Test harness: a throwaway PostgreSQL 15 server and a way to run the real binary.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace pixtest {

/// A real PostgreSQL server on a free loopback port in a temporary directory, stopped and
/// removed when the test program exits (normally or on a fatal signal). Version 15 comes from
/// Debian 12; version 17 from Debian 13's packages and 18 from forky's, set up by
/// scripts/lib/pg17.sh and pg18.sh.
class TempPostgres {
public:
    /// The server of version `major` of this test program, started on first use. Throws when it
    /// cannot start: a test that needs PostgreSQL fails, it never skips.
    static TempPostgres& instance(int major = 15);
    /// Its major version.
    int major() const { return major_; }

    ~TempPostgres();
    int port() const { return port_; }
    const std::filesystem::path& dir() const { return dir_; }
    /// Connection URL; the superuser is "postgres" (trust auth on loopback).
    std::string url(const std::string& db, const std::string& user = "postgres", const std::string& password = "") const;
    /// Runs SQL as the superuser in `db`.
    void exec(const std::string& db, const std::string& sql) const;
    /// Runs a query as the superuser and returns the first column of the first row ("" if none).
    std::string scalar(const std::string& db, const std::string& sql) const;
    /// Creates (afresh) role `role` (not a superuser) owning database `db`; returns its URL.
    std::string create_target(const std::string& db, const std::string& role, const std::string& password = "tpw") const;
    /// Path of a PostgreSQL binary (initdb, pg_dump...) of version `major`.
    static std::string bin(const std::string& name, int major = 15);
    /// The bin directory of version `major`.
    static std::string bin_dir(int major);
    void stop();

private:
    explicit TempPostgres(int major);
    int major_;
    std::filesystem::path dir_;
    int port_ = 0;
    bool running_ = false;
};

/// Result of running a command.
struct Result {
    int code = -1;
    std::string out;  // stdout and stderr, interleaved line by line
};

/// Runs the real pix-db-replication binary with `args` and extra environment variables.
Result run_tool(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});
/// The environment run_tool gives the binary: every variable the host, the shipped plugins and
/// the shipped configs read reset (derived from their option tables), then `env`.
std::map<std::string, std::string> tool_env(const std::map<std::string, std::string>& env);
/// Runs any command.
Result run_cmd(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});

/// A process running in the background, its stdout and stderr collected line by line by a
/// reader thread; killed (SIGKILL) by the destructor if still running.
class Background {
public:
    explicit Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
    ~Background();
    /// Waits until the `nth` line containing `needle` has been printed; returns it, or "" on timeout/exit.
    std::string wait_for(const std::string& needle, double timeout_s = 30, int nth = 1);
    /// Sends a signal.
    void signal(int sig);
    /// Waits for the exit; its code (128+signal when killed), or -1 on timeout.
    int wait_exit(double timeout_s);
    /// Everything printed so far.
    std::string output() const;
    int pid() const { return pid_; }

private:
    int pid_ = -1, out_ = -1, code_ = -1;
    bool exited_ = false;
    struct Shared;
    std::shared_ptr<Shared> shared_;
};

/// A fresh temporary directory, removed by the destructor.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

private:
    std::filesystem::path path_;
};

/// GET http://127.0.0.1:<port><path>; returns the whole raw response ("" when it cannot connect).
std::string http_get(int port, const std::string& path);
/// `method` http://127.0.0.1:<port><path> with `headers` ("Name: value") and `body`; the whole raw response.
std::string http_request(int port, const std::string& method, const std::string& path, const std::vector<std::string>& headers,
                         const std::string& body);
/// Writes `text` to `path`.
void write_file(const std::filesystem::path& path, const std::string& text);
/// Reads a whole file.
std::string read_file(const std::filesystem::path& path);

}  // namespace pixtest
