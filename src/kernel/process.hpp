// Processes as the kernel shows them in /proc (proc_pid_stat(5), proc_pid_status(5),
// ...), a reference to one that survives PID reuse (a pidfd), and the one
// terminate sequence. Shared by the launcher and the reaper: the one home of
// /proc/<pid> parsing and of signal delivery (the style test kernel_layer keeps
// kill(2) and pidfd_open(2) here).
//
// Readers take the Host to read from (kernel/host.hpp): the live one by default,
// a RecordedHost over tests/data/hosts/<tree>/proc in tests.
//
// Processes vanish at any moment; every reader returns nullopt (never throws)
// when the process is gone, and callers treat that as normal.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/host.hpp"

namespace corral::proc {

// What /proc/<pid>/stat alone says (proc_pid_stat(5)): one file, the cheap read
// for walks that need only identity and parentage (the launcher's run id).
struct ProcessStat {
    pid_t pid = 0;
    pid_t ppid = 0;                     // field 4
    pid_t pgid = 0;                     // field 5
    pid_t sid = 0;                      // field 6
    pid_t tpgid = -1;                   // field 8: foreground group of its terminal, -1 without one
    char state = '?';                   // field 3: R, S, D, Z, T, ...
    unsigned long long start_time = 0;  // field 22, clock ticks after boot: with pid, the identity
    bool kernel_thread = false;         // field 9 (flags) has PF_KTHREAD
    std::string comm;                   // field 2, the kernel name (<= 15 chars)
};

// ProcessStat plus /proc/<pid>/status (the real uid) and cmdline.
struct ProcessInfo : ProcessStat {
    uid_t uid = 0;                  // real uid
    std::vector<std::string> argv;  // empty for kernel threads and zombies

    // argv joined by spaces, or "[comm]" when argv is empty.
    std::string command_line() const;
};

// All numeric entries of /proc, ascending. Empty if /proc cannot be read.
std::vector<pid_t> list_pids(const Host& host = live_host());

// nullopt if the process is gone (or /proc/<pid> cannot be read). Reads stat,
// status and cmdline: three files.
std::optional<ProcessInfo> read_process(pid_t pid, const Host& host = live_host());
// /proc/<pid>/stat only (one file); nullopt if gone or the line is malformed.
std::optional<ProcessStat> read_stat(pid_t pid, const Host& host = live_host());
std::optional<std::string> read_cwd(pid_t pid, const Host& host = live_host());
std::optional<std::string> read_exe(pid_t pid, const Host& host = live_host());
std::optional<std::vector<std::string>> read_environ(pid_t pid, const Host& host = live_host());
// Targets of /proc/<pid>/fd/* symlinks (only those that are absolute paths).
std::optional<std::vector<std::string>> read_open_files(pid_t pid, const Host& host = live_host());
// Children via /proc/<pid>/task/*/children (needs CONFIG_PROC_CHILDREN), else a scan.
std::vector<pid_t> children_of(pid_t pid, const Host& host = live_host());

// Every descendant of `pid` (not `pid` itself), each once, by repeated
// children_of; a process that vanishes mid-walk ends its branch.
std::set<pid_t> descendants(pid_t pid, const Host& host = live_host());

// Whether this process has any child at all, running, stopped or a zombie not
// yet waited for (children of its other threads and of any exit signal
// included): one waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT | __WALL), which
// reaps nothing (wait(2)). False only on ECHILD; any other error says true, so
// a caller that then scans misses nothing. A subreaper without children has
// no descendants (PR_SET_CHILD_SUBREAPER, prctl(2)): the launcher's leak sweep
// skips its /proc walk then.
bool has_children();

// Resident memory the process cannot give back without swapping: RssAnon +
// RssShmem of /proc/<pid>/status (proc_pid_status(5); Linux >= 4.5), in bytes.
// nullopt when the process is gone or the fields are missing (kernel threads).
std::optional<uint64_t> read_resident_nonreclaimable(pid_t pid, const Host& host = live_host());

// Resets this process's peak resident set size (VmHWM) to its current size:
// "5" into proc_pid_clear_refs(5) (Linux >= 4.0). The launcher does it just
// before making the test's process, which runs in the launcher's memory map
// until exec (kernel/spawn.hpp): exec folds that map's peak into the test's
// ru_maxrss, which then starts from the launcher's size now, not from the
// largest it ever was. false with errno when the file cannot be written (an
// older kernel, a read-only /proc).
bool reset_peak_rss();

// This process's PID namespace: the inode number of /proc/self/ns/pid
// (pid_namespaces(7): two processes are in the same namespace when the inode
// and device of that link's target match; one device for every namespace on
// the nsfs). nullopt when it cannot be read. A pid means something only in the
// namespace that gave it: a scratch owner entry records both.
std::optional<uint64_t> own_pid_namespace();

// The chain of parents of `pid` (its parent first), up to but not including
// pid 0 and stopping at the first that cannot be read; at most `max_depth`.
// With `stop`, the walk also ends after the first ancestor it accepts (that one
// included). One stat read per process (read_stat): `pid`'s own, then each parent's.
// Empty when `pid` or its parent cannot be read.
std::vector<ProcessStat> ancestors(pid_t pid, const Host& host = live_host(), int max_depth = 4096,
                                   const std::function<bool(const ProcessStat&)>& stop = {});

// A process held by pidfd. open() pins the identity: it opens the pidfd, then
// re-reads the start time; if it differs from the one scanned, the pid was
// reused and open() returns nullopt. Signals sent through it can never reach
// a different process. On nullopt errno says why: ESRCH when the process is
// gone (or the pid is another process's now), EMFILE or ENFILE when no
// descriptor was left to hold it (it may well be alive: see terminate_all).
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

// How one target of terminate() ended.
enum class Ended {
    Vanished,    // gone before SIGTERM (ESRCH): nothing was sent
    Terminated,  // exited within the grace period (or as SIGKILL found it gone)
    Killed,      // needed SIGKILL
    Survived,    // alive after SIGKILL + wait (D state), or the signal was refused (EPERM)
};

struct TerminateResult {
    std::vector<Ended> ended;           // one per target, in the order given
    std::vector<pid_t> exited_on_term;  // pids by outcome, for messages
    std::vector<pid_t> killed;
    std::vector<pid_t> survived;
};

// The one terminate sequence (launcher's kill_tree and stale sweep, the
// reaper): SIGTERM (+SIGCONT, so stopped processes can act on it) to every
// process, wait up to grace_ms for all of them, SIGKILL the rest, wait
// kill_wait_ms. Signals go only through the pidfds, so a reused pid is never hit.
TerminateResult terminate(const std::vector<ProcessRef>& targets, int grace_ms,
                          int kill_wait_ms = 2000);

// A process to end as a scan found it: pid and start time (proc_pid_stat(5)
// field 22), so a pid reused since is never held.
struct Target {
    pid_t pid = 0;
    unsigned long long start_time = 0;
};

// terminate() for processes not held yet: each is opened (ProcessRef::open)
// and ended. One pidfd per process: when none is left for the next one
// (EMFILE, ENFILE), those held are ended first and their pidfds closed, so a
// tree larger than the descriptor limit is ended whole, in batches (each
// waits its own grace). ended[i] is targets[i]'s: Vanished when it was gone
// before it could be held; Survived when not even one descriptor could be
// opened for it.
TerminateResult terminate_all(const std::vector<Target>& targets, int grace_ms,
                              int kill_wait_ms = 2000);

// Descriptors (RLIMIT_NOFILE, getrlimit(2)) for a process that must hold
// one pidfd per process it watches or ends. A soft limit below `wanted` is
// raised toward it (never past the hard limit); then the free descriptors are
// counted, up to `min_free`, by taking them (open("/", O_PATH)) and giving
// them back: inherited open ones count against the limit. A soft limit at or
// above `wanted` is taken as enough (no probe: the launcher's hot path).
struct DescriptorBudget {
    struct rlimit before {};  // the limits found
    rlim_t soft = 0;          // the soft limit now
    bool raised = false;      // soft limit raised from before.rlim_cur
    size_t free = 0;          // free descriptors, counted up to min_free
};
DescriptorBudget raise_descriptor_limit(rlim_t wanted, size_t min_free);
// "only F descriptors are free (limit L, hard limit H, the rest inherited
// open), below the N": the start of either command's refusal.
std::string descriptor_shortage(const DescriptorBudget& b, size_t needed);

// --- signals that are not to one pinned process (kill(2), pidfd_open(2)) ---

// kill(-pgid, sig): a process group. sig 0 tests for existence; false with
// errno set (ESRCH: no such group, EPERM) on failure.
bool signal_group(pid_t pgid, int sig);
// kill(0, sig): every process of our own process group, us included.
bool signal_own_group(int sig);

// kill(getpid(), sig): ourselves (SIGSTOP returns when we are continued).
bool signal_self(int sig);
// pidfd_open(2) of a child we forked (its pid cannot be reused before we wait
// for it): the descriptor, or -1 with errno set.
int open_pidfd(pid_t pid);

}  // namespace corral::proc
