#include "kernel/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

extern char** environ;

namespace corral::proc {
namespace {

// SIGCHLD at SIG_DFL for as long as this lives, then what it was: with
// SIG_IGN the kernel reaps children itself and waitpid fails with ECHILD
// (wait(2), "NOTES").
class DefaultSigchld {
  public:
    DefaultSigchld() {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigemptyset(&dfl.sa_mask);
        restore_ = ::sigaction(SIGCHLD, nullptr, &old_) == 0 && old_.sa_handler == SIG_IGN &&
                   ::sigaction(SIGCHLD, &dfl, nullptr) == 0;
    }
    ~DefaultSigchld() {
        if (restore_) ::sigaction(SIGCHLD, &old_, nullptr);
    }
    DefaultSigchld(const DefaultSigchld&) = delete;
    DefaultSigchld& operator=(const DefaultSigchld&) = delete;

  private:
    struct sigaction old_ {};
    bool restore_ = false;
};

}  // namespace

Captured capture(const std::vector<std::string>& argv, const std::string& cwd, int timeout_ms,
                 std::size_t max_bytes) {
    Captured c;
    DefaultSigchld sigchld;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Its own process group: at the time limit, what it started ends with it.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        c.spawn_errno = rc;
        return c;
    }
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[65536];
    for (;;) {
        if (timeout_ms > 0) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            struct pollfd p = {fds[0], POLLIN, 0};
            int r = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
            if (r < 0 && errno == EINTR) continue;
            if (r == 0) {  // the time limit: our own child's group, the child not yet waited for
                c.timed_out = true;
                ::kill(-pid, SIGKILL);
                break;
            }
        }
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) {
            c.out.append(buf, static_cast<size_t>(n));
            if (max_bytes > 0 && c.out.size() > max_bytes) {
                c.too_much = true;
                ::kill(-pid, SIGKILL);
                break;
            }
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return c;  // reaped elsewhere: status unknown
    }
    c.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return c;
}

}  // namespace corral::proc
