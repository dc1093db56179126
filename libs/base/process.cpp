#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace pixrep::common {
namespace {

using Clock = std::chrono::steady_clock;

// One reused line: a table's rows stream through here by the million.
void feed(std::string& buf, std::string& line, const char* data, std::size_t n, const std::function<void(const std::string&)>& cb) {
    buf.append(data, n);
    std::size_t start = 0;
    for (std::size_t pos; (pos = buf.find('\n', start)) != std::string::npos; start = pos + 1)
        if (cb) cb(line.assign(buf, start, pos - start));
    buf.erase(0, start);
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char** argv, char** envp, int out_fd, int err_fd, pid_t parent) {
    setpgid(0, 0);  // its own group, so a stop reaches pg_restore's parallel workers too
    // Dies with the tool, however the tool dies (kill -9, OOM): pg_restore's SIGTERM handler then
    // cancels its workers' queries. Checked after, in case the parent died before the prctl.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(128 + SIGTERM);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execvpe(argv[0], argv, envp);
    const char* msg = "cannot execute ";
    (void)!write(STDERR_FILENO, msg, strlen(msg));
    (void)!write(STDERR_FILENO, argv[0], strlen(argv[0]));
    (void)!write(STDERR_FILENO, "\n", 1);
    _exit(127);
}

}  // namespace

bool inherited_variable(const std::string& name) {
    // What a PostgreSQL client needs to find its libraries, locale, time zone and TLS files;
    // never the tool's own settings (DATABASE_URL, SCALINGO_API_TOKEN, PGPASSWORD...).
    static const char* const kExact[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH",
                                         "PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGSSLCRL", "PGSSLNEGOTIATION",
                                         "PGREQUIRESSL", "PGCONNECT_TIMEOUT", "PGTZ", "PGDATESTYLE", "PGCLIENTENCODING",
                                         "PGSYSCONFDIR", "PGLOCALEDIR"};
    for (const char* k : kExact)
        if (name == k) return true;
    return name.rfind("LC_", 0) == 0;
}

std::vector<std::string> child_env(const ProcessSpec& spec, char** parent) {
    std::vector<std::string> out;
    for (char** e = parent; e && *e; ++e) {
        std::string kv(*e);
        std::string name = kv.substr(0, kv.find('='));
        bool overridden = false;
        for (const auto& [k, v] : spec.env) overridden = overridden || name == k;
        if (!overridden && inherited_variable(name)) out.push_back(kv);
    }
    for (const auto& [k, v] : spec.env) out.push_back(k + "=" + v);
    return out;
}

int run_process(const ProcessSpec& spec, const ProcessHooks& hooks) {
    if (spec.argv.empty()) throw std::runtime_error("run_process: empty command");
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        close(out_pipe[0]), close(out_pipe[1]);
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    std::vector<std::string> env_strings = child_env(spec, environ), args = spec.argv;
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) exec_child(argv.data(), envp.data(), out_pipe[1], err_pipe[1], parent);
    setpgid(pid, pid);
    close(out_pipe[1]);
    close(err_pipe[1]);

    std::string out_buf, err_buf, line;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    bool killed = false;
    try {
        int open_fds = 2;
        auto next_tick = Clock::now() + hooks.tick;
        auto kill_deadline = Clock::time_point::max();
        std::vector<char> chunk(1 << 16);
        while (open_fds > 0) {
            int r = poll(fds, 2, 100);
            if (r < 0 && errno != EINTR) break;
            for (int i = 0; i < 2 && r > 0; ++i) {
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                ssize_t n = read(fds[i].fd, chunk.data(), chunk.size());
                if (n > 0)
                    feed(i == 0 ? out_buf : err_buf, line, chunk.data(), static_cast<std::size_t>(n), i == 0 ? hooks.on_stdout : hooks.on_stderr);
                else if (n == 0 || errno != EINTR) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    --open_fds;
                }
            }
            auto now = Clock::now();
            if (hooks.on_tick && now >= next_tick) {
                hooks.on_tick();
                next_tick = now + hooks.tick;
            }
            if (!killed && hooks.stop && hooks.stop()) {
                kill(-pid, SIGTERM);
                killed = true;
                kill_deadline = now + hooks.grace;
            }
            if (killed && now >= kill_deadline) kill(-pid, SIGKILL);
        }
        if (!out_buf.empty() && hooks.on_stdout) hooks.on_stdout(out_buf);
        if (!err_buf.empty() && hooks.on_stderr) hooks.on_stderr(err_buf);
    } catch (...) {
        // A hook gave up (a bad row, a failed COPY): the child must not outlive the call.
        kill(-pid, SIGKILL);
        for (auto& f : fds)
            if (f.fd >= 0) close(f.fd);
        int ignored = 0;
        while (waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
        }
        throw;
    }
    for (auto& f : fds)
        if (f.fd >= 0) close(f.fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (killed) kill(-pid, SIGKILL);  // stragglers of the group
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

int capture_process(const ProcessSpec& spec, std::string& out, std::string& err) {
    ProcessHooks hooks;
    hooks.on_stdout = [&](const std::string& l) { out += l + "\n"; };
    hooks.on_stderr = [&](const std::string& l) { err += l + "\n"; };
    return run_process(spec, hooks);
}

}  // namespace pixrep::common
