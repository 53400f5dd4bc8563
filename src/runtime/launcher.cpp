#include "runtime/launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <stdexcept>

#include "common/read_file.hpp"
#include "common/socket_path.hpp"
#include "common/text.hpp"
#include "kernel/process.hpp"
#include "runtime/cgroup_sandbox.hpp"
#include "runtime/scratch_dir.hpp"

extern char** environ;

namespace corral::launcher {
namespace {

using Clock = std::chrono::steady_clock;
using records::GrantedResource;
using records::ProcessEntry;

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

std::optional<double> parse_positive_double(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(text.c_str(), &end);
    if (errno != 0 || end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0)
        return std::nullopt;
    return v;
}

int ms_of(double seconds) {
    return static_cast<int>(std::min(seconds * 1000.0, 1e9));
}

// Everything one launch owns, released in reverse order by the destructor.
class Launch {
  public:
    Launch(const Options& o, std::ostream& err) : o_(o), err_(err) {}
    ~Launch() {
        reclaim_terminal();
        if (tty_fd_ >= 0) ::close(tty_fd_);
        if (sigfd_ >= 0) ::close(sigfd_);
        if (pidfd_ >= 0) ::close(pidfd_);
    }

    int run();

  private:
    // Never fatal: SIGPIPE is ignored in the launcher and a closed stderr (ctest
    // gone) only sets the stream's error state.
    void say(const std::string& line) { err_ << "corral run: " << line << "\n" << std::flush; }
    int fail(const std::string& line) {
        say(line);
        return kExitLauncherFailure;
    }

    int prepare();
    int check_socket_headroom(bool from_tmpdir);
    int block_signals();
    void sweep_stale();
    void find_terminal();
    void reclaim_terminal();
    bool owns_foreground_group(pid_t fg) const;
    bool job_control_parent() const;
    void test_stopped();
    void suspend();
    bool parent_gone() const { return ::getppid() != parent_pid_; }
    void note_parent_death() {
        parent_died_ = true;
        rec_.parent_died = true;
        say("the launcher's parent (pid " + std::to_string(parent_pid_) +
            ") is gone; ending the test's whole tree");
    }
    void end_scratch(int code);
    std::vector<std::string> child_environment() const;
    // 0 when the test started; otherwise the exit code to return.
    int spawn();
    void wait_for_main();
    void handle_signals();
    void reap_zombies();
    void collect_main();  // blocking wait for the main process, unless already collected
    std::vector<proc::ProcessInfo> find_leftovers() const;
    std::vector<ProcessEntry> kill_tree();
    void sweep_leaks();
    int finish(int code);

    const Options& o_;
    std::ostream& err_;
    records::RunRecord rec_;

    double multiplier_ = 1.0;
    std::optional<double> timeout_;  // effective seconds
    std::string scratch_root_;
    Translation translation_;
    locks::HeldLocks held_;
    scratch::ScratchDir scratch_;
    std::unique_ptr<cgroup::Sandbox> cgroup_;

    Clock::time_point started_{};
    sigset_t old_mask_{};
    struct sigaction old_sigpipe_ {};
    pid_t parent_pid_ = 0;
    bool parent_died_ = false;
    std::string registry_;  // scratch registry (owner / kept entries); empty when unusable
    int tty_fd_ = -1;       // the controlling terminal, when our group had its foreground
    bool tty_handed_ = false;
    bool test_stopped_ = false;
    int sigfd_ = -1;
    int pidfd_ = -1;
    pid_t main_pid_ = -1;
    bool main_done_ = false;
    int main_status_ = 0;
    std::optional<Clock::time_point> stop_deadline_;  // set when a stop signal was forwarded
};

int Launch::prepare() {
    rec_.command = o_.command;
    std::error_code cwd_error;
    rec_.working_directory = std::filesystem::current_path(cwd_error).string();
    rec_.run_id = records::current_run_id();
    if (!o_.name.empty()) {
        rec_.name = o_.name;
    } else {
        auto slash = o_.command[0].rfind('/');
        rec_.name = slash == std::string::npos ? o_.command[0] : o_.command[0].substr(slash + 1);
    }

    PlanHints plan;
    if (o_.plan_file) {
        try {
            plan = load_plan_hints(*o_.plan_file);
        } catch (const std::exception& e) {
            return fail(std::string("--plan: ") + e.what());
        }
    }
    try {
        rec_.resources = parse_ctest_resources([](const std::string& name) {
            const char* v = std::getenv(name.c_str());
            return v ? std::optional<std::string>(v) : std::nullopt;
        });
    } catch (const std::exception& e) {
        return fail(std::string("cannot read the resources CTest granted: ") + e.what());
    }
    translation_ = translate_grants(rec_.resources, plan.heavy_io_paths, &plan.gpu_handles);
    for (const auto& note : translation_.notes)
        say(note);

    if (o_.timeout_multiplier) {
        multiplier_ = *o_.timeout_multiplier;
    } else if (plan.timeout_multiplier) {
        multiplier_ = *plan.timeout_multiplier;
    } else if (const char* m = std::getenv("CORRAL_TIMEOUT_MULTIPLIER"); m && *m) {
        auto v = parse_positive_double(m);
        if (!v)
            return fail(std::string("CORRAL_TIMEOUT_MULTIPLIER='") + m +
                        "': expected a positive number such as 1 or 2.5");
        multiplier_ = *v;
    }
    if (!(multiplier_ > 0) || !std::isfinite(multiplier_))
        return fail("the timeout multiplier must be a positive number, got " +
                    human_number(multiplier_));
    if (o_.timeout_seconds) {
        if (!(*o_.timeout_seconds > 0))
            return fail("--timeout must be positive seconds, got " +
                        human_number(*o_.timeout_seconds));
        timeout_ = *o_.timeout_seconds * multiplier_;
        rec_.timeout_seconds = *timeout_;
    }
    if (o_.grace_seconds < 0) return fail("--grace must be >= 0 seconds");

    bool from_tmpdir = false;
    if (translation_.scratch_root) {
        scratch_root_ = *translation_.scratch_root;
    } else if (o_.scratch_root) {
        scratch_root_ = *o_.scratch_root;
    } else if (plan.scratch_dir) {
        scratch_root_ = *plan.scratch_dir;
    } else if (const char* t = std::getenv("TMPDIR"); t && *t) {
        scratch_root_ = t;
        from_tmpdir = true;
    } else {
        scratch_root_ = "/tmp";
    }
    // TMPDIR must stay valid after the test changes directory.
    std::error_code ec;
    auto absolute = std::filesystem::absolute(scratch_root_, ec);
    if (ec) return fail("scratch root '" + scratch_root_ + "': " + ec.message());
    scratch_root_ = absolute.lexically_normal().string();
    while (scratch_root_.size() > 1 && scratch_root_.back() == '/')
        scratch_root_.pop_back();
    return check_socket_headroom(from_tmpdir);
}

// The planner's rule (common/socket_path.hpp, policy scratch.socket_headroom):
// the root must leave `needed` bytes under the 108-byte sun_path, which covers
// the "/c-<id>" added here plus a socket name. A root that only came from
// $TMPDIR is replaced by /tmp when /tmp fits; a root chosen on purpose is kept,
// with a warning.
int Launch::check_socket_headroom(bool from_tmpdir) {
    int needed = kDefaultSocketHeadroom;
    if (const char* h = std::getenv("CORRAL_SOCKET_HEADROOM"); h && *h) {
        auto v = parse_u64(trim(h));
        if (!v || *v > static_cast<uint64_t>(kSunPathBytes - 1))
            return fail(std::string("CORRAL_SOCKET_HEADROOM='") + h +
                        "': expected a whole number of bytes from 0 to 107");
        needed = static_cast<int>(*v);
    }
    int room = socket_headroom(scratch_root_);
    if (room >= needed) return 0;
    std::string what = "scratch root " + scratch_root_ + " leaves " + std::to_string(room) +
                       " bytes for AF_UNIX socket names (108-byte sun_path, unix(7)); " +
                       std::to_string(needed) +
                       " needed (scratch.socket_headroom / CORRAL_SOCKET_HEADROOM)";
    struct stat st {};
    if (from_tmpdir && socket_headroom("/tmp") >= needed && ::stat("/tmp", &st) == 0 &&
        S_ISDIR(st.st_mode) && ::access("/tmp", W_OK | X_OK) == 0) {
        say("$TMPDIR: " + what +
            "; the test's scratch directory goes under /tmp instead "
            "(--scratch-root DIR insists on a root)");
        scratch_root_ = "/tmp";
    } else {
        say("WARNING: " + what + ": sockets the test creates in its $TMPDIR may not fit");
    }
    return 0;
}

// Blocks the signals the wait loop reads from a signalfd (and SIGTTOU, so
// tcsetpgrp() from a background group proceeds), ignores SIGPIPE. The test
// gets the original mask and SIGPIPE disposition back before exec.
int Launch::block_signals() {
    sigset_t handled;
    sigemptyset(&handled);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGTSTP})
        sigaddset(&handled, s);
    sigset_t blocked = handled;
    sigaddset(&blocked, SIGTTOU);
    if (::sigprocmask(SIG_BLOCK, &blocked, &old_mask_) != 0)
        return fail(std::string("sigprocmask: ") + std::strerror(errno));
    sigfd_ = ::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd_ < 0) return fail(std::string("signalfd: ") + std::strerror(errno));
    return 0;
}

// Scratch directories of launchers killed outright (their owner entry names a
// process that is gone): end what still runs with their test id, remove them.
void Launch::sweep_stale() {
    for (auto& e : scratch::claim_stale(registry_)) {
        std::vector<proc::ProcessRef> refs;
        std::string needle = "CORRAL_TEST_ID=" + e.id;
        pid_t self = ::getpid();
        std::set<pid_t> ancestors;
        for (pid_t p = self; p > 1;) {
            ancestors.insert(p);
            auto info = proc::read_process(p);
            if (!info) break;
            p = info->ppid;
        }
        for (pid_t p : proc::list_pids()) {
            if (ancestors.count(p)) continue;
            auto env = proc::read_environ(p);
            if (!env || std::find(env->begin(), env->end(), needle) == env->end()) continue;
            auto info = proc::read_process(p);
            if (!info) continue;
            if (auto ref = proc::ProcessRef::open(p, info->start_time))
                refs.push_back(std::move(*ref));
        }
        if (!refs.empty()) proc::terminate(refs, ms_of(o_.grace_seconds));
        struct stat st {};
        if (::lstat(e.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            auto tree = scratch::walk(e.path, true);
            say("removed the scratch directory of a launcher that was killed outright (pid " +
                std::to_string(e.pid) + "): " + e.path +
                (refs.empty() ? "" : "; ended " + std::to_string(refs.size()) + " process(es)"));
            for (const auto& m : tree.skipped_mounts)
                say("WARNING: left a mount inside it alone: " + m);
        }
        scratch::release_claim(e);
    }
}

// The terminal: only when our process group is its foreground (an interactive
// ctest or shell); in CI there is no controlling terminal and nothing changes.
void Launch::find_terminal() {
    int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return;
    if (::tcgetpgrp(fd) != ::getpgrp()) {
        ::close(fd);
        return;
    }
    tty_fd_ = fd;
}

// True when the foreground group `fg` is the test's: its main group, a group
// that no longer exists, or a group led by one of our descendants.
bool Launch::owns_foreground_group(pid_t fg) const {
    if (fg <= 0) return false;
    if (fg == main_pid_) return true;
    if (!proc::signal_group(fg, 0) && errno == ESRCH) return true;
    pid_t self = ::getpid();
    for (pid_t p = fg; p > 1;) {
        auto info = proc::read_process(p);
        if (!info) return false;
        if (info->ppid == self) return true;
        p = info->ppid;
    }
    return false;
}

// Gives the foreground back to our group when the test's group holds it (never
// taken from anyone else, e.g. the shell after `bg`). SIGTTOU is blocked.
void Launch::reclaim_terminal() {
    if (!tty_handed_) return;
    tty_handed_ = false;
    pid_t fg = ::tcgetpgrp(tty_fd_);
    if (fg != ::getpgrp() && owns_foreground_group(fg)) ::tcsetpgrp(tty_fd_, ::getpgrp());
}

// Whether a shell can stop and continue our process group: the group is not
// orphaned (POSIX: some member has its parent in another group of the session).
bool Launch::job_control_parent() const {
    pid_t pgrp = ::getpgrp();
    pid_t sid = ::getsid(0);
    for (pid_t p = ::getpid(); p > 1;) {
        auto info = proc::read_process(p);
        if (!info) return false;
        auto parent = proc::read_process(info->ppid);
        if (!parent) return false;
        if (parent->pgid != pgrp) return parent->sid == sid;
        p = parent->pid;
    }
    return false;
}

// The test, holding the terminal, was stopped (Ctrl-Z, SIGTTIN): as a shell's
// job it would have stopped with ctest; stop ctest's group (us included, via
// suspend()) and continue the test when we are continued.
void Launch::test_stopped() {
    test_stopped_ = false;
    reclaim_terminal();
    if (!job_control_parent()) {
        // Nobody could continue us (orphaned group): keep the test going.
        if (::tcgetpgrp(tty_fd_) == ::getpgrp() && ::tcsetpgrp(tty_fd_, main_pid_) == 0)
            tty_handed_ = true;
        proc::signal_group(main_pid_, SIGCONT);
        return;
    }
    proc::signal_own_group(SIGTSTP);  // our group: ctest and its launchers read it, as we do below
}

// SIGTSTP reached us: stop the test with us, and continue it with us.
void Launch::suspend() {
    bool had_terminal = tty_fd_ >= 0;
    reclaim_terminal();
    if (!job_control_parent()) return;  // nobody could continue us
    proc::signal_group(main_pid_, SIGSTOP);
    proc::signal_self(SIGSTOP);  // returns when the shell continues us (fg / bg)
    if (had_terminal && ::tcgetpgrp(tty_fd_) == ::getpgrp() && ::tcsetpgrp(tty_fd_, main_pid_) == 0)
        tty_handed_ = true;
    proc::signal_group(main_pid_, SIGCONT);
}

std::vector<std::string> Launch::child_environment() const {
    std::vector<std::pair<std::string, std::string>> set = {
        {"TMPDIR", scratch_.path},
        {"TMP", scratch_.path},
        {"TEMP", scratch_.path},
        {"CORRAL_TEST_ID", scratch_.id},
        {"CORRAL_TEST_NAME", rec_.name},
        {"CORRAL_SCOPE", scratch_.path},
        {"CORRAL_SCRATCH_DIR", scratch_.path},
        {"CORRAL_TIMEOUT_MULTIPLIER", human_number(multiplier_)},
    };
    for (const auto& kv : translation_.env)
        set.push_back(kv);
    std::set<std::string> names;
    for (const auto& kv : set)
        names.insert(kv.first);
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string_view::npos && names.count(std::string(entry.substr(0, eq)))) continue;
        env.emplace_back(entry);
    }
    for (const auto& [k, v] : set)
        env.push_back(k + "=" + v);
    return env;
}

int Launch::spawn() {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        return fail(std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno));

    find_terminal();
    auto env = child_environment();
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = o_.command;
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return fail(std::string("pipe2: ") + std::strerror(errno));
    struct ChildFailure {
        int stage;  // 1 = join cgroup, 2 = exec
        int err;
    };
    pid_t parent = ::getpid();
    int procs_fd = cgroup_ ? cgroup_->procs_fd() : -1;
    int tty_fd = tty_fd_;

    started_ = Clock::now();
    rec_.start = std::chrono::system_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        ::close(report[0]);
        ::close(report[1]);
        return fail(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        ::close(report[0]);
        ::setpgid(0, 0);
        // From a terminal the test's group gets the foreground (SIGTTOU is still blocked).
        if (tty_fd >= 0) ::tcsetpgrp(tty_fd, ::getpid());
        if (procs_fd >= 0 && ::write(procs_fd, "0", 1) != 1) {
            ChildFailure f{1, errno};
            (void)!::write(report[1], &f, sizeof f);
            ::_exit(kExitLauncherFailure);
        }
        // If the launcher is killed outright, do not leave the test running.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(kExitLauncherFailure);
        // The test's world as without the launcher: signal mask and dispositions.
        ::sigaction(SIGPIPE, &old_sigpipe_, nullptr);
        ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
        ::execvpe(argv[0], argv.data(), envp.data());
        ChildFailure f{2, errno};
        (void)!::write(report[1], &f, sizeof f);
        ::_exit(f.err == ENOENT ? kExitNotFound : kExitCannotInvoke);
    }
    main_pid_ = pid;
    ::setpgid(pid, pid);  // both sides, so no signal can race the child's own call
    if (tty_fd_ >= 0) {
        if (::tcgetpgrp(tty_fd_) == ::getpgrp()) ::tcsetpgrp(tty_fd_, pid);
        tty_handed_ = true;
    }
    ::close(report[1]);
    ChildFailure f{};
    ssize_t n;
    do {
        n = ::read(report[0], &f, sizeof f);
    } while (n < 0 && errno == EINTR);
    ::close(report[0]);
    if (n == static_cast<ssize_t>(sizeof f)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        main_done_ = true;
        main_status_ = status;
        if (f.stage == 1) {
            return fail("cannot move the test into its cgroup " + cgroup_->dir() + ": " +
                        std::strerror(f.err));
        }
        int code = f.err == ENOENT ? kExitNotFound : kExitCannotInvoke;
        say("cannot run '" + o_.command[0] + "': " + std::strerror(f.err) +
            (code == kExitNotFound ? " (not found in PATH)" : ""));
        return code;
    }
    pidfd_ = proc::open_pidfd(pid);
    if (pidfd_ < 0) {
        proc::signal_group(pid, SIGKILL);
        return fail(std::string("pidfd of the test: ") + std::strerror(errno));
    }
    return 0;
}

void Launch::reap_zombies() {
    for (;;) {
        int status = 0;
        pid_t p = ::waitpid(-1, &status, WNOHANG | (tty_fd_ >= 0 ? WUNTRACED : 0));
        if (p <= 0) return;
        if (WIFSTOPPED(status)) {
            if (p == main_pid_ && tty_handed_) test_stopped_ = true;
            continue;
        }
        if (p == main_pid_ && !main_done_) {
            main_done_ = true;
            main_status_ = status;
        }
    }
}

void Launch::collect_main() {
    if (main_done_) return;
    int status = 0;
    if (::waitpid(main_pid_, &status, 0) == main_pid_) {
        main_done_ = true;
        main_status_ = status;
    }
}

void Launch::handle_signals() {
    for (;;) {
        struct signalfd_siginfo si {};
        ssize_t n = ::read(sigfd_, &si, sizeof si);
        if (n != static_cast<ssize_t>(sizeof si)) return;
        int sig = static_cast<int>(si.ssi_signo);
        if (!parent_died_ && parent_gone()) {
            note_parent_death();  // PR_SET_PDEATHSIG (SIGTERM), or any signal after it
            continue;
        }
        if (sig == SIGCHLD) continue;  // exits are collected by reap_zombies()
        if (sig == SIGTSTP) {
            if (!main_done_) suspend();
            continue;
        }
        if (!main_done_) {
            say(std::string("received SIG") + ::sigabbrev_np(sig) +
                "; forwarding it to the test, whole tree killed if still running after " +
                human_number(o_.grace_seconds) + " s");
            proc::signal_group(main_pid_, sig);
            // Whoever sent it (CTest >= 3.27 with TIMEOUT_SIGNAL_NAME, a CI cancel)
            // will SIGKILL us after its own grace period: finish the job before that.
            if (!stop_deadline_)
                stop_deadline_ = Clock::now() + std::chrono::milliseconds(ms_of(o_.grace_seconds));
        }
    }
}

void Launch::wait_for_main() {
    std::optional<Clock::time_point> deadline;
    if (timeout_)
        deadline = started_ + std::chrono::microseconds(static_cast<long long>(*timeout_ * 1e6));
    while (!main_done_) {
        int wait_ms = 1000;  // also: notice the parent's death without a signal
        for (const auto& d : {deadline, stop_deadline_}) {
            if (!d) continue;
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*d - Clock::now()).count();
            int ms = static_cast<int>(std::clamp<long long>(left + 1, 0, 1000000000));
            wait_ms = std::min(wait_ms, ms);
        }
        struct pollfd fds[2] = {{pidfd_, POLLIN, 0}, {sigfd_, POLLIN, 0}};
        int r = ::poll(fds, 2, wait_ms);
        if (r < 0 && errno != EINTR) {
            say(std::string("poll: ") + std::strerror(errno));
            break;
        }
        if (r > 0 && (fds[1].revents & POLLIN)) handle_signals();
        if (r > 0 && (fds[0].revents & POLLIN)) {
            reap_zombies();
            collect_main();
        }
        if (tty_fd_ >= 0 && !main_done_) {
            reap_zombies();  // WUNTRACED: a stop of the test's main process
            if (test_stopped_) test_stopped();
        }
        if (!parent_died_ && parent_gone()) note_parent_death();
        if (parent_died_ && !main_done_) {
            for (const auto& p : kill_tree())
                say("  killed pid " + std::to_string(p.pid) + ": " + p.command);
            collect_main();
            break;
        }
        bool timed_out = !main_done_ && deadline && Clock::now() >= *deadline;
        bool stop_overdue = !main_done_ && stop_deadline_ && Clock::now() >= *stop_deadline_;
        if (timed_out || stop_overdue) {
            if (timed_out) {
                rec_.timed_out = true;
                say("TIMEOUT: test '" + rec_.name + "' still running after " +
                    human_number(*timeout_) +
                    " s; terminating its whole process tree (TERM, KILL after " +
                    human_number(o_.grace_seconds) + " s)");
            } else {
                say("the test ignored the forwarded signal; terminating its whole process tree");
            }
            rec_.killed_on_timeout = kill_tree();
            for (const auto& p : rec_.killed_on_timeout)
                say("  killed pid " + std::to_string(p.pid) + ": " + p.command);
            reap_zombies();
            // Survived SIGKILL (uninterruptible sleep): wait, the kernel will finish it.
            collect_main();
        }
    }
}

std::vector<proc::ProcessInfo> Launch::find_leftovers() const {
    std::set<pid_t> pids;
    if (cgroup_)
        for (pid_t p : cgroup_->pids())
            pids.insert(p);
    // Descendants: as a subreaper, everything the test daemonized is re-parented here.
    std::vector<pid_t> frontier = proc::children_of(::getpid());
    while (!frontier.empty()) {
        pid_t p = frontier.back();
        frontier.pop_back();
        if (!pids.insert(p).second) continue;
        for (pid_t c : proc::children_of(p))
            frontier.push_back(c);
    }
    // The test's process group (a full scan only when the group still exists).
    if (main_pid_ > 0 && proc::signal_group(main_pid_, 0))
        for (pid_t p : proc::list_pids())
            if (auto info = proc::read_process(p); info && info->pgid == main_pid_) pids.insert(p);

    std::vector<proc::ProcessInfo> out;
    pid_t self = ::getpid();
    for (pid_t p : pids) {
        if (p == self) continue;
        auto info = proc::read_process(p);
        if (!info || info->state == 'Z' || info->state == 'X' || info->kernel_thread) continue;
        out.push_back(std::move(*info));
    }
    return out;
}

std::vector<ProcessEntry> Launch::kill_tree() {
    std::vector<ProcessEntry> killed;
    std::set<std::pair<pid_t, unsigned long long>> seen;
    // Rescan after each round: a TERM handler may start new children.
    for (int round = 0; round < 10; ++round) {
        reap_zombies();
        auto left = find_leftovers();
        if (left.empty()) break;
        std::vector<proc::ProcessRef> refs;
        for (const auto& p : left) {
            auto ref = proc::ProcessRef::open(p.pid, p.start_time);
            if (!ref) continue;  // gone meanwhile
            refs.push_back(std::move(*ref));
            if (seen.insert({p.pid, p.start_time}).second)
                killed.push_back({p.pid, p.command_line()});
        }
        auto result = proc::terminate(refs, ms_of(o_.grace_seconds));
        for (pid_t p : result.survived)
            say("WARNING: pid " + std::to_string(p) +
                " survived SIGKILL (uninterruptible sleep?); it will die when the kernel lets it");
        handle_signals();
    }
    reap_zombies();
    return killed;
}

void Launch::sweep_leaks() {
    // Processes that are exiting anyway get a short window to do so.
    auto window_end = Clock::now() + std::chrono::milliseconds(o_.leak_window_ms);
    std::vector<proc::ProcessInfo> left;
    for (;;) {
        reap_zombies();
        left = find_leftovers();
        if (left.empty() || Clock::now() >= window_end) break;
        struct pollfd p = {sigfd_, POLLIN, 0};
        if (::poll(&p, 1, 10) > 0) handle_signals();
    }
    if (left.empty()) return;
    rec_.leaked = kill_tree();
    if (o_.leak == LeakPolicy::Ignore || rec_.leaked.empty()) return;
    say("LEAK: test '" + rec_.name + "' left " + std::to_string(rec_.leaked.size()) +
        " process(es) running after its main process exited:");
    for (const auto& p : rec_.leaked)
        say("  pid " + std::to_string(p.pid) + ": " + p.command);
    // "LEAK-FAIL:" is the line CTest's FAIL_REGULAR_EXPRESSION (set by corral_setup)
    // matches, so ctest's own result line names the reason (docs/runtime.md).
    say(o_.leak == LeakPolicy::Fail
            ? "LEAK-FAIL: test '" + rec_.name +
                  "' FAILS for leaking (--leak fail); the processes were killed"
            : "killed them; --leak warn: the test's own result stands (use --leak fail to fail "
              "it)");
}

// Removes the scratch directory, or keeps it as evidence of a failure (bounded
// in count and bytes through the registry, oldest removed first).
void Launch::end_scratch(int code) {
    if (scratch_.path.empty()) return;
    bool failed = code != 0 && !parent_died_;  // a cancelled run is not a failure
    bool keep = o_.keep_scratch == KeepScratch::Always ||
                (failed && o_.keep_scratch == KeepScratch::Failed);
    auto report = [&](const scratch::TreeResult& tree) {
        for (const auto& m : tree.skipped_mounts)
            say("WARNING: left a mount inside the scratch directory alone: " + m +
                " (unmount it in the test)");
        for (const auto& e : tree.errors)
            say("WARNING: scratch cleanup: " + e);
    };
    auto tree = scratch::walk(scratch_.path, !keep);
    rec_.scratch_bytes = tree.bytes;
    if (keep && tree.bytes > o_.keep_scratch_bytes) {
        say("the scratch directory (" + human_bytes(tree.bytes) +
            ") is larger than --keep-scratch-size (" + human_bytes(o_.keep_scratch_bytes) +
            "); removed it");
        keep = false;
        tree = scratch::walk(scratch_.path, true);
    }
    report(tree);
    if (keep) {
        std::string bounds;
        if (!registry_.empty()) {
            try {
                auto k = scratch::keep(registry_, scratch_, tree.bytes, o_.keep_scratch_count,
                                       o_.keep_scratch_bytes);
                for (const auto& old : k.removed)
                    say("removed an older kept scratch directory: " + old);
                bounds = " (" + std::to_string(k.kept_count) + " kept, " +
                         human_bytes(k.kept_bytes) + "; at most " +
                         std::to_string(o_.keep_scratch_count) + " and " +
                         human_bytes(o_.keep_scratch_bytes) + ", oldest removed first)";
            } catch (const std::exception& e) {
                say(std::string("WARNING: cannot register the kept scratch directory: ") +
                    e.what());
            }
        }
        say(std::string("kept the scratch directory of the ") + (failed ? "failed" : "finished") +
            " test: " + scratch_.path + bounds);
    }
    rec_.scratch_kept = keep;
    if (!registry_.empty()) scratch::remove_owner(registry_, scratch_.id);
}

int Launch::finish(int code) {
    reclaim_terminal();
    rusage ru{};
    ::getrusage(RUSAGE_CHILDREN, &ru);
    rec_.cpu_user_seconds =
        static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
    rec_.cpu_system_seconds =
        static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
    rec_.peak_memory_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
    rec_.peak_memory_source = "ru_maxrss";
    rec_.memory_limit_bytes = o_.memory_limit_bytes;
    if (cgroup_) {
        rec_.cgroup = cgroup_->dir();
        if (auto peak = cgroup_->peak_memory()) {
            rec_.peak_memory_bytes = *peak;
            rec_.peak_memory_source = cgroup_->kind();
        }
        rec_.oom_killed = cgroup_->oom_killed();
        if (rec_.oom_killed)
            say("the test hit its memory limit (" + human_bytes(*o_.memory_limit_bytes) +
                ") and was OOM-killed");
        std::string why;
        if (!cgroup_->remove(why)) say("WARNING: cannot remove the test's cgroup: " + why);
    }

    end_scratch(code);

    rec_.launcher_exit_code = code;
    if (o_.records_file) {
        try {
            records::append_record(*o_.records_file, records::to_json(rec_).dump(), rec_.run_id);
        } catch (const std::exception& e) {
            say(std::string("cannot append the record: ") + e.what());
            if (code == 0) code = kExitLauncherFailure;
        }
    }
    if (o_.json) std::cout << records::to_json(rec_).dump() << std::endl;
    return code;
}

int Launch::run() {
    if (int code = prepare(); code != 0) return code;
    // ctest gone (SIGTERM/SIGINT/SIGKILL to ctest alone) -> SIGTERM to us, read
    // from the signalfd; checked against the parent recorded here.
    parent_pid_ = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    // A write to a closed stderr (ctest gone) must not kill the launcher.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &old_sigpipe_);

    if (!o_.locks.empty() || !o_.slots.empty()) {
        try {
            auto dir = locks::runtime_dir();
            auto t0 = Clock::now();
            held_ = locks::acquire(dir, o_.locks, o_.slots, [&](const std::string& what) {
                say("waiting for host-wide " + what + " (" + dir + ")");
            });
            rec_.lock_wait_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
            rec_.locks = held_.held();
        } catch (const std::exception& e) {
            return fail(e.what());
        }
    }

    if (int code = block_signals(); code != 0) return code;
    try {
        registry_ = locks::runtime_dir() + "/scratch";
        sweep_stale();
    } catch (const std::exception& e) {
        registry_.clear();
        say(std::string("WARNING: no scratch registry (") + e.what() +
            "): scratch of a launcher killed outright is not swept, kept ones are not bounded");
    }
    try {
        scratch_ = scratch::create(scratch_root_);
    } catch (const std::exception& e) {
        return fail(std::string(e.what()) + " (choose another root with --scratch-root)");
    }
    if (!registry_.empty()) {
        try {
            scratch::write_owner(registry_, scratch_);
        } catch (const std::exception& e) {
            say(std::string("WARNING: ") + e.what());
        }
    }
    rec_.test_id = scratch_.id;
    rec_.scratch_dir = scratch_.path;

    if (o_.cgroup != CgroupMode::Off) {
        std::string why;
        cgroup_ = cgroup::Sandbox::create(scratch_.id, o_.memory_limit_bytes, why);
        if (!cgroup_) {
            if (o_.cgroup == CgroupMode::Require)
                return finish(fail("--cgroup require: cannot create the test's cgroup: " + why));
            if (o_.memory_limit_bytes)
                say("WARNING: --memory-limit is NOT enforced: no usable cgroup (" + why + ")");
        } else if (o_.memory_limit_bytes && !cgroup_->memory_limit().enforced) {
            say("WARNING: --memory-limit is NOT enforced: " + cgroup_->memory_limit().reason);
        }
    } else if (o_.memory_limit_bytes) {
        say("WARNING: --memory-limit is NOT enforced with --cgroup off");
    }

    if (int code = spawn(); code != 0) {
        if (!main_done_ && main_pid_ > 0) kill_tree();
        rec_.end = std::chrono::system_clock::now();
        if (started_ == Clock::time_point{}) {  // failed before fork: nothing ran
            rec_.start = rec_.end;
            started_ = Clock::now();
        }
        rec_.wall_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        if (main_done_ && WIFEXITED(main_status_)) rec_.exit_code = WEXITSTATUS(main_status_);
        return finish(code);
    }
    wait_for_main();
    // Ctrl-C / Ctrl-\ reached only the test's group (it had the terminal): as a
    // shell does for a foreground job, pass it on to our own group (ctest).
    int interrupt = 0;
    if (tty_handed_ && WIFSIGNALED(main_status_) &&
        (WTERMSIG(main_status_) == SIGINT || WTERMSIG(main_status_) == SIGQUIT))
        interrupt = WTERMSIG(main_status_);
    reclaim_terminal();
    sweep_leaks();
    rec_.end = std::chrono::system_clock::now();
    rec_.wall_seconds = std::chrono::duration<double>(Clock::now() - started_).count();

    int code = 0;
    if (WIFEXITED(main_status_)) {
        rec_.exit_code = WEXITSTATUS(main_status_);
        code = *rec_.exit_code;
    } else if (WIFSIGNALED(main_status_)) {
        rec_.signal = WTERMSIG(main_status_);
        code = 128 + *rec_.signal;
    }
    if (rec_.timed_out) code = kExitTimeout;
    if (code == 0 && !rec_.leaked.empty() && o_.leak == LeakPolicy::Fail) code = kExitLeaked;
    code = finish(code);
    if (interrupt)
        proc::signal_own_group(interrupt);  // blocked here: only the rest of the group acts
    return code;
}

}  // namespace

std::vector<GrantedResource> parse_ctest_resources(const EnvLookup& getenv) {
    std::vector<GrantedResource> out;
    auto count_text = getenv("CTEST_RESOURCE_GROUP_COUNT");
    if (!count_text) return out;
    auto count = parse_u64(trim(*count_text));
    if (!count || *count > 100000)
        throw std::invalid_argument("CTEST_RESOURCE_GROUP_COUNT='" + *count_text +
                                    "': expected a whole number");
    for (uint64_t g = 0; g < *count; ++g) {
        std::string var = "CTEST_RESOURCE_GROUP_" + std::to_string(g);
        auto types = getenv(var);
        if (!types)
            throw std::invalid_argument(
                var + " is not set although CTEST_RESOURCE_GROUP_COUNT=" + *count_text);
        for (auto type_view : split(*types, ',')) {
            auto type = std::string(trim(type_view));
            if (type.empty()) continue;
            std::string tvar = var + "_" + upper(type);
            auto value = getenv(tvar);
            if (!value)
                throw std::invalid_argument(tvar + " is not set although " + var + "='" + *types +
                                            "' lists '" + type + "'");
            for (auto entry : split(*value, ';')) {
                entry = trim(entry);
                if (entry.empty()) continue;
                auto fields = split(entry, ',');
                auto bad = [&] {
                    return std::invalid_argument(tvar + "='" + *value +
                                                 "': expected id:ID,slots:N[;...], got '" +
                                                 std::string(entry) + "'");
                };
                if (fields.size() != 2 || fields[0].substr(0, 3) != "id:" ||
                    fields[1].substr(0, 6) != "slots:")
                    throw bad();
                auto slots = parse_u64(fields[1].substr(6));
                auto id = std::string(fields[0].substr(3));
                if (!slots || id.empty()) throw bad();
                out.push_back({static_cast<int>(g), type, id, static_cast<int>(*slots)});
            }
        }
    }
    return out;
}

Translation translate_grants(const std::vector<GrantedResource>& grants,
                             const std::map<std::string, std::string>& heavy_io_paths,
                             const GpuHandles* gpu_handles) {
    Translation t;
    std::vector<std::string> gpu_ids;
    uint64_t mem_mib = 0;
    bool any_mem = false;
    for (const auto& g : grants) {
        if (g.type == "heavy_io") {
            auto it = heavy_io_paths.find(g.id);
            if (it != heavy_io_paths.end() && !it->second.empty()) {
                if (!t.scratch_root) t.scratch_root = it->second;
            } else {
                t.notes.push_back("heavy_io id '" + g.id +
                                  "' was granted but no plan (--plan) names its directory; the "
                                  "scratch directory stays on the default root");
            }
        } else if (g.type == "gpus") {
            gpu_ids.push_back(g.id);
        } else if (g.type == "mem_mib") {
            any_mem = true;
            mem_mib += static_cast<uint64_t>(g.slots);
        }
    }
    if (!gpu_ids.empty()) {
        GpuHandles from_host;
        if (!gpu_handles || gpu_handles->empty()) from_host = gpu_handles_from_host();
        translate_gpu_grants(gpu_ids,
                             gpu_handles && !gpu_handles->empty() ? *gpu_handles : from_host, t.env,
                             t.notes);
    }
    if (any_mem) t.env.emplace_back("CORRAL_MEMORY_BYTES", std::to_string(mem_mib * 1024 * 1024));
    return t;
}

PlanHints load_plan_hints(const std::string& path) {
    auto text = read_file(path);
    if (!text) throw std::runtime_error(path + ": " + text.error);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::parse_error& e) {
        throw std::runtime_error(path + ": not valid JSON: " + e.what());
    }
    PlanHints h;
    if (!j.is_object()) throw std::runtime_error(path + ": expected a JSON object (corral.plan/1)");
    if (auto it = j.find("scratch_dir"); it != j.end() && it->is_string() && !it->empty())
        h.scratch_dir = it->get<std::string>();
    if (auto it = j.find("timeout_multiplier"); it != j.end()) {
        if (!it->is_number() || !(it->get<double>() > 0))
            throw std::runtime_error(path + ": \"timeout_multiplier\" must be a positive number");
        h.timeout_multiplier = it->get<double>();
    }
    if (auto it = j.find("resources"); it != j.end() && it->is_array()) {
        h.gpu_handles = gpu_handles_from_plan(*it);
        for (const auto& r : *it) {
            if (!r.is_object() || r.value("name", "") != "heavy_io") continue;
            for (const auto& id : r.value("ids", nlohmann::json::array())) {
                if (!id.is_object()) continue;
                auto name = id.value("id", "");
                auto dir = id.value("path", "");
                if (!name.empty() && !dir.empty()) h.heavy_io_paths[name] = dir;
            }
        }
    }
    return h;
}

int run(const Options& options, std::ostream& err) {
    if (options.command.empty()) {
        err << "corral run: no command given (corral run [options] -- COMMAND [ARGS...])\n";
        return kExitLauncherFailure;
    }
    Launch launch(options, err);
    return launch.run();
}

}  // namespace corral::launcher
