#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace pixrep::common {
namespace {

void feed(std::string& buf, const char* data, std::size_t n, const std::function<void(const std::string&)>& cb) {
    buf.append(data, n);
    for (std::size_t pos; (pos = buf.find('\n')) != std::string::npos;) {
        if (cb) cb(buf.substr(0, pos));
        buf.erase(0, pos + 1);
    }
}

}  // namespace

int run_process(const ProcessSpec& spec, const ProcessHooks& hooks) {
    if (spec.argv.empty()) throw std::runtime_error("run_process: empty command");
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string kv(*e);
        bool overridden = false;
        for (const auto& [k, v] : spec.env) overridden = overridden || kv.rfind(k + "=", 0) == 0;
        if (!overridden) env_strings.push_back(kv);
    }
    for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = spec.argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Own process group, so a stop kills pg_restore's parallel workers too.
        setpgid(0, 0);
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_pipe[1], STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        execvpe(argv[0], argv.data(), envp.data());
        dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(out_pipe[1]);
    close(err_pipe[1]);

    std::string out_buf, err_buf;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    auto next_tick = std::chrono::steady_clock::now() + hooks.tick;
    bool killed = false;
    auto kill_deadline = std::chrono::steady_clock::time_point::max();
    char chunk[65536];
    while (open_fds > 0) {
        int r = poll(fds, 2, 200);
        if (r < 0 && errno != EINTR) break;
        for (int i = 0; i < 2 && r > 0; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) feed(i == 0 ? out_buf : err_buf, chunk, static_cast<std::size_t>(n), i == 0 ? hooks.on_stdout : hooks.on_stderr);
            else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
        auto now = std::chrono::steady_clock::now();
        if (hooks.on_tick && now >= next_tick) {
            hooks.on_tick();
            next_tick = now + hooks.tick;
        }
        if (hooks.stop && hooks.stop->load() && !killed) {
            kill(-pid, SIGTERM);
            killed = true;
            kill_deadline = now + std::chrono::seconds(5);
        }
        if (killed && now >= kill_deadline) kill(-pid, SIGKILL);
    }
    for (int i = 0; i < 2; ++i)
        if (fds[i].fd >= 0) close(fds[i].fd);
    if (!out_buf.empty() && hooks.on_stdout) hooks.on_stdout(out_buf);
    if (!err_buf.empty() && hooks.on_stderr) hooks.on_stderr(err_buf);
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
