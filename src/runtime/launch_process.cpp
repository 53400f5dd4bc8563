// The process lifecycle: spawn (own group, cgroup, exec), wait (signals,
// timeout, parent death, memory samples), the leak sweep and the tree kill.
#include "runtime/launch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/text.hpp"
#include "kernel/spawn.hpp"
#include "runtime/launch_render.hpp"

namespace corral::launcher {

namespace {

// What the test's process needs between clone and exec, prepared by the
// launcher beforehand: the child may not allocate (kernel/spawn.hpp).
struct ChildPlan {
    char* const* argv;
    char* const* envp;
    pid_t parent;
    int tty_fd;    // give the test's group the terminal's foreground, or -1
    int procs_fd;  // cgroup.procs of a cgroup to join before exec, or -1
    const struct sigaction* sigpipe;
    const struct sigaction* sigchld;
    const sigset_t* mask;
    const struct rlimit* nofile;  // RLIMIT_NOFILE to give back, or nullptr
    // Written by the child when it cannot go on; read by the launcher once
    // spawn_shared has returned (the memory is shared until exec).
    int failed_stage = 0;  // 1 = join cgroup, 2 = exec
    int failed_errno = 0;
};

int start_test(void* arg) {
    // Only async-signal-safe calls until exec; nothing that allocates.
    auto* plan = static_cast<ChildPlan*>(arg);
    ::setpgid(0, 0);
    // From a terminal the test's group gets the foreground (SIGTTOU is still blocked).
    if (plan->tty_fd >= 0) ::tcsetpgrp(plan->tty_fd, ::getpid());
    if (plan->procs_fd >= 0 && ::write(plan->procs_fd, "0", 1) != 1) {
        plan->failed_errno = errno;
        plan->failed_stage = 1;
        ::_exit(kExitLauncherFailure);
    }
    // If the launcher is killed outright, do not leave the test running.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != plan->parent) ::_exit(kExitLauncherFailure);
    // The test's world as without the launcher: signal mask and dispositions.
    ::sigaction(SIGPIPE, plan->sigpipe, nullptr);
    ::sigaction(SIGCHLD, plan->sigchld, nullptr);
    ::sigprocmask(SIG_SETMASK, plan->mask, nullptr);
    if (plan->nofile) ::setrlimit(RLIMIT_NOFILE, plan->nofile);
    ::execvpe(plan->argv[0], plan->argv, plan->envp);
    plan->failed_errno = errno;
    plan->failed_stage = 2;
    ::_exit(plan->failed_errno == ENOENT ? kExitNotFound : kExitCannotInvoke);
}

}  // namespace

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

    // A cgroup made before spawn (a limit, --cgroup require) must hold from the
    // test's first instruction: the child joins before exec. Otherwise the test
    // gets one only if it is still running at join_at_ (launch.hpp).
    ChildPlan plan{argv.data(),
                   envp.data(),
                   ::getpid(),
                   tty_fd_,
                   cgroup_ ? cgroup_->procs_fd() : -1,
                   &old_sigpipe_,
                   &old_sigchld_,
                   &old_mask_,
                   test_nofile_ ? &*test_nofile_ : nullptr};

    started_ = Clock::now();
    rec_.start = std::chrono::system_clock::now();
    {
        // The test starts in our memory map: its ru_maxrss will start from our
        // peak, made our current size here (best effort; measure() bounds it).
        proc::reset_peak_rss();
        rusage self{};  // the size the test starts as (launch_outcome.cpp: measure)
        if (::getrusage(RUSAGE_SELF, &self) == 0)
            start_rss_bytes_ = static_cast<uint64_t>(self.ru_maxrss) * 1024;
    }
    // Returns once the child has exec'ed or given up: its own setpgid and
    // terminal hand-over are done by then, so no signal can race them.
    int pidfd = -1;
    pid_t pid = proc::spawn_shared(start_test, &plan, argv.size(), &pidfd);
    if (pid < 0) {
        started_ = {};  // nothing ran: Launch::run records now and no wall time
        return fail(std::string("clone: ") + std::strerror(errno));
    }
    main_pid_ = pid;
    pidfd_ = pidfd;
    if (tty_fd_ >= 0) {
        if (::tcgetpgrp(tty_fd_) == ::getpgrp()) ::tcsetpgrp(tty_fd_, pid);
        tty_handed_ = true;
    }
    if (plan.failed_stage != 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        main_done_ = true;
        main_status_ = status;
        never_ran_ = true;
        if (plan.failed_stage == 1) {
            return fail("cannot move the test into its cgroup " + cgroup_->dir() + ": " +
                        std::strerror(plan.failed_errno));
        }
        int code = plan.failed_errno == ENOENT ? kExitNotFound : kExitCannotInvoke;
        say("cannot run '" + o_.command[0] + "': " + std::strerror(plan.failed_errno) +
            // execvp(3) searches PATH only for a word without a slash.
            (code == kExitNotFound && o_.command[0].find('/') == std::string::npos
                 ? " (not found in PATH)"
                 : ""));
        return code;
    }
    if (cgroup_) {
        cgroup_joined_ = true;
        next_sample_ = started_ + std::chrono::milliseconds(kMemorySampleMs);
    } else if (o_.cgroup == CgroupMode::Auto && !joins_before_exec()) {
        join_at_ = started_ + std::chrono::milliseconds(kCgroupJoinDelayMs);
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
        // The main process may have ended with its SIGCHLD still queued behind
        // this signal (or while we were busy, e.g. joining its cgroup): learn
        // that first, or the signal is forwarded to a group that is gone and
        // the sweep never hears of it.
        if (!main_done_) reap_zombies();
        if (main_done_) {
            // The leak sweep: honour it (the sweep stops waiting, what is left is
            // killed now, the record is written, the launcher exits 128+N).
            if (!launcher_signal_) {
                launcher_signal_ = sig;
                say(render::stop_during_sweep(sig));
            }
            continue;
        }
        {
            say(render::forwarding(sig, o_.grace_seconds));
            proc::signal_group(main_pid_, sig);
            // A stopped process acts on it only once continued (as a shell does
            // for a stopped job; proc::terminate does the same).
            proc::signal_group(main_pid_, SIGCONT);
            // Whoever sent it (CTest >= 3.27 with TIMEOUT_SIGNAL_NAME, a CI cancel)
            // will SIGKILL us after its own grace period: finish the job before that.
            if (!stop_deadline_)
                stop_deadline_ = Clock::now() + std::chrono::milliseconds(ms_of(o_.grace_seconds));
        }
    }
}

void Launch::wait_for_main() {
    const std::optional<Clock::time_point> deadline = timeout_deadline();
    while (!main_done_) {
        int wait_ms = 1000;  // also: notice the parent's death without a signal
        for (const auto& d : {deadline, stop_deadline_}) {
            if (!d) continue;
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*d - Clock::now()).count();
            int ms = static_cast<int>(std::clamp<long long>(left + 1, 0, 1000000000));
            wait_ms = std::min(wait_ms, ms);
        }
        for (const auto& d :
             {sampling() ? std::optional(next_sample_) : std::nullopt, join_at_, retire_at_}) {
            if (!d) continue;
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*d - Clock::now()).count();
            wait_ms = std::min(wait_ms, static_cast<int>(std::clamp<long long>(left + 1, 0, 1000)));
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
        if (join_at_ && !main_done_ && Clock::now() >= *join_at_) {
            join_at_.reset();
            join_cgroup_late();
        }
        if (retire_at_ && !main_done_ && Clock::now() >= *retire_at_) {
            retire_at_.reset();
            tend_pools_while_running();
        }
        if (sampling() && !main_done_ && Clock::now() >= next_sample_) {
            sampler_.sample();
            next_sample_ = Clock::now() + std::chrono::milliseconds(kMemorySampleMs);
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
                say(render::timeout(rec_.name, *timeout_, o_.grace_seconds));
            } else {
                say("the test ignored the forwarded signal; terminating its whole process tree");
            }
            rec_.killed_on_timeout = kill_tree();
            for (const auto& p : rec_.killed_on_timeout)
                say("  killed pid " + std::to_string(p.pid) + ": " + p.command);
            reap_zombies();
            // The main process not ended (its pidfd could not be had, EMFILE):
            // its group by pgid needs no descriptor, and its pid cannot be
            // reused before we wait for it.
            if (!main_done_) proc::signal_group(main_pid_, SIGKILL);
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
    // Descendants: as a subreaper, everything the test daemonized is re-parented
    // here; with no child at all there is none (no /proc walk).
    if (proc::has_children()) pids.merge(proc::descendants(::getpid()));
    // The test's process group (a full scan only when the group still exists).
    if (main_pid_ > 0 && proc::signal_group(main_pid_, 0))
        for (pid_t p : proc::list_pids())
            if (auto info = proc::read_stat(p); info && info->pgid == main_pid_) pids.insert(p);

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
        std::vector<proc::Target> targets;
        for (const auto& p : left)
            targets.push_back({p.pid, p.start_time});
        // After a stop signal in the leak sweep, whoever sent it waits for us: no grace.
        auto result = proc::terminate_all(targets, stop_requested() ? 0 : ms_of(o_.grace_seconds));
        for (size_t i = 0; i < left.size(); ++i)
            if (result.ended[i] != proc::Ended::Vanished &&
                seen.insert({left[i].pid, left[i].start_time}).second)
                killed.push_back({left[i].pid, left[i].command_line()});
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
        if (left.empty() || Clock::now() >= window_end || stop_requested()) break;
        struct pollfd p = {sigfd_, POLLIN, 0};
        if (::poll(&p, 1, 10) > 0) handle_signals();
    }
    if (left.empty()) return;
    rec_.leaked = kill_tree();
    if (o_.leak == LeakPolicy::Ignore || rec_.leaked.empty()) return;
    for (const auto& line : render::leak(rec_.name, rec_.leaked, o_.leak))
        say(line);
}

// Makes the cgroup of a test still running at join_at_ and moves it in, then
// the processes it started before the move (a fork inherits the cgroup only
// after its parent moved): once the first write has paid the grace period, the
// next ones are fast. Memory charged before the move stays with the
// launcher's cgroup (v1 no longer moves charges: move_charge_at_immigrate is
// gone), so the tree's resident non-reclaimable memory at the move is taken
// from /proc and added to every later sample (an upper bound: as if held to
// the end); ru_maxrss counts the largest process's earlier peak
// (docs/runtime.md "Records").
void Launch::join_cgroup_late() {
    if (open_cgroup() != 0 || !cgroup_) return;
    if (!cgroup_->add(main_pid_)) {
        say("WARNING: cannot move the test into its cgroup " + cgroup_->dir() + ": " +
            std::strerror(errno) + " (its memory is measured by ru_maxrss only)");
        return;
    }
    cgroup_joined_ = true;
    std::set<pid_t> tree = {main_pid_};
    for (int pass = 0; pass < 3; ++pass) {
        bool any = false;
        for (pid_t p : proc::descendants(main_pid_))
            if (tree.insert(p).second) {
                cgroup_->add(p);
                any = true;
            }
        if (!any) break;
    }
    uint64_t resident = 0;
    for (pid_t p : tree)
        resident += proc::read_resident_nonreclaimable(p).value_or(0);
    sampler_.charged_elsewhere(resident);
    next_sample_ = Clock::now() + std::chrono::milliseconds(kMemorySampleMs);
}

}  // namespace corral::launcher
