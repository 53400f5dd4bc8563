// Processes as the kernel shows them in /proc, and a reference to one that
// survives PID reuse (a pidfd). Shared by the launcher and the reaper: the one
// home of /proc/<pid> parsing and of signal delivery.
//
// Processes vanish at any moment; every reader returns nullopt (never throws)
// when the process is gone, and callers treat that as normal.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace corral::proc {

struct ProcessInfo {
    pid_t pid = 0;
    pid_t ppid = 0;
    pid_t pgid = 0;
    pid_t sid = 0;
    char state = '?';                   // R, S, D, Z, T, ...
    unsigned long long start_time = 0;  // clock ticks after boot: with pid, the identity
    uid_t uid = 0;                      // real uid
    std::string comm;                   // kernel name (<= 15 chars)
    std::vector<std::string> argv;      // empty for kernel threads and zombies
    bool kernel_thread = false;

    // argv joined by spaces, or "[comm]" when argv is empty.
    std::string command_line() const;
};

// All numeric entries of /proc, ascending. Empty if /proc cannot be read.
std::vector<pid_t> list_pids();

// nullopt if the process is gone (or /proc/<pid> cannot be read).
std::optional<ProcessInfo> read_process(pid_t pid);
std::optional<std::string> read_cwd(pid_t pid);
std::optional<std::string> read_exe(pid_t pid);
std::optional<std::vector<std::string>> read_environ(pid_t pid);
// Targets of /proc/<pid>/fd/* symlinks (only those that are absolute paths).
std::optional<std::vector<std::string>> read_open_files(pid_t pid);
// Children via /proc/<pid>/task/*/children (needs CONFIG_PROC_CHILDREN), else a scan.
std::vector<pid_t> children_of(pid_t pid);

// A process held by pidfd. open() pins the identity: it opens the pidfd, then
// re-reads the start time; if it differs from the one scanned, the pid was
// reused and open() returns nullopt. Signals sent through it can never reach
// a different process.
class ProcessRef {
  public:
    static std::optional<ProcessRef> open(pid_t pid, unsigned long long expected_start_time);
    ProcessRef(ProcessRef&& other) noexcept;
    ProcessRef& operator=(ProcessRef&& other) noexcept;
    ProcessRef(const ProcessRef&) = delete;
    ProcessRef& operator=(const ProcessRef&) = delete;
    ~ProcessRef();

    pid_t pid() const { return pid_; }
    // false with errno == ESRCH when the process has already exited.
    bool signal(int sig) const;
    // True while the process has not exited (zombies count as exited).
    bool alive() const;
    // Waits up to timeout_ms for exit; true if it exited.
    bool wait_exit(int timeout_ms) const;

  private:
    ProcessRef(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
    int fd_ = -1;
    pid_t pid_ = 0;
};

struct TerminateResult {
    std::vector<pid_t> exited_on_term;  // gone within the grace period
    std::vector<pid_t> killed;          // needed SIGKILL
    std::vector<pid_t> survived;        // alive after SIGKILL + wait (D state), or signal refused
};

// SIGTERM (+SIGCONT, so stopped processes can act on it) to every process,
// wait up to grace_ms for all of them, SIGKILL the rest, wait kill_wait_ms.
// Signals go only through the pidfds, so a reused pid is never hit.
TerminateResult terminate(const std::vector<ProcessRef>& targets, int grace_ms,
                          int kill_wait_ms = 2000);

}  // namespace corral::proc
