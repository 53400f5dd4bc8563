// corral run: the sequence of one launch (launcher.hpp), and its entry point.
#include "runtime/launch.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "common/text.hpp"

namespace corral::launcher {

int Launch::run() {
    if (int code = raise_descriptor_limit(); code != 0) return code;
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
    // Exits must be waitable: a parent that ignores SIGCHLD (inherited across
    // exec) would have the kernel reap the test behind our back (wait(2) then
    // fails with ECHILD while its pidfd stays readable). The test gets the
    // disposition back before exec.
    struct sigaction deflt {};
    deflt.sa_handler = SIG_DFL;
    sigemptyset(&deflt.sa_mask);
    ::sigaction(SIGCHLD, &deflt, &old_sigchld_);

    if (!o_.locks.empty() || !o_.slots.empty()) {
        try {
            auto dir = locks::runtime_dir();
            auto t0 = Clock::now();
            held_ = locks::acquire(dir, o_.locks, o_.slots, [&](const std::string& what) {
                say("waiting for " + what + " (" + dir + ")");
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
    } catch (const locks::BadRuntimeDir& e) {
        return fail(e.what());
    } catch (const std::exception& e) {
        registry_.clear();
        say(std::string("WARNING: no scratch registry (") + e.what() +
            "): scratch of a launcher killed outright is not swept, kept ones are not bounded");
    }
    // A $TMPDIR where no directory can be made (gone, a file, not ours to
    // write, full, /proc) must not fail a test that passes without corral
    // run, which may never use $TMPDIR: /tmp stands in, once, as for a root
    // too long for sockets (check_socket_headroom).
    for (;;) {  // at most twice: the second root is /tmp
        try {
            scratch_ = scratch::create(scratch_root_);
            break;
        } catch (const std::exception& e) {
            if (!scratch_root_from_tmpdir_ || scratch_root_ == "/tmp")
                return fail(std::string(e.what()) + " (choose another root with --scratch-root)");
            say(cat({"$TMPDIR: ", e.what(),
                     "; the test's scratch directory goes under /tmp instead (--scratch-root DIR "
                     "insists on a root)"}));
            scratch_root_ = "/tmp";
        }
    }
    if (!registry_.empty()) {
        try {
            // Read once: the owner entry's start time, and the terminal's
            // foreground group (find_terminal).
            self_stat_ = proc::read_stat(::getpid());
            if (self_stat_)
                scratch::write_owner(registry_, scratch_, *self_stat_);
            else
                scratch::write_owner(registry_, scratch_);  // says why it cannot be read
        } catch (const std::system_error& e) {
            say(std::string("WARNING: ") + e.what());
            if (e.code().value() == EPERM) {  // not ours alone: nothing of it is read
                say("WARNING: scratch of a launcher killed outright is not swept, kept ones are "
                    "not bounded");
                registry_.clear();
            }
        } catch (const std::exception& e) {
            say(std::string("WARNING: ") + e.what());
        }
    }
    rec_.test_id = scratch_.id;
    rec_.scratch_dir = scratch_.path;

    // A limit, or --cgroup require, needs the cgroup from the test's first
    // instruction: made now, joined before exec. Otherwise (auto) it is made
    // only for a test still running after kCgroupJoinDelayMs (join_cgroup_late).
    int started = 0;
    if (joins_before_exec()) {
        started = open_cgroup();
    } else if (o_.memory_limit_bytes) {
        rec_.memory_limit_reason = "--cgroup off";
        say("WARNING: --memory-limit is NOT enforced with --cgroup off");
    }

    if (started == 0) started = spawn();
    if (int code = started; code != 0) {
        if (!main_done_ && main_pid_ > 0) kill_tree();
        rec_.end = std::chrono::system_clock::now();
        if (started_ == Clock::time_point{}) {  // failed before clone: nothing ran
            rec_.start = rec_.end;
            started_ = Clock::now();
            never_ran_ = true;  // its scratch is no evidence to keep
        }
        rec_.wall_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        // A child that gave up before exec has the launcher's code, not the test's.
        if (main_done_ && !never_ran_ && WIFEXITED(main_status_))
            rec_.exit_code = WEXITSTATUS(main_status_);
        return finish(code);
    }
    // Scratch of launchers killed outright is swept while the test starts (it
    // needs nothing of it), instead of delaying its exec. It overlaps a test
    // that waits (sleep, I/O) or runs on another CPU; a short busy one often
    // ends first: the clone's vfork wakes us only as the test's exec starts,
    // and a busy CPU runs us after it (bench/run_overhead/README.md, ninth
    // step). The owner entry stays before the clone: a test's first act may
    // be `corral reap --scope "$CORRAL_SCOPE"`, which needs it.
    sweep_stale();
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

    int code = decide();
    code = finish(code);
    if (interrupt)
        proc::signal_own_group(interrupt);  // blocked here: only the rest of the group acts
    return code;
}

// Creates the test's cgroup and its memory sampler. Nonzero (the exit code)
// only when --cgroup require cannot have one; otherwise a missing cgroup is
// said (with a limit) and the run goes on without it.
int Launch::open_cgroup() {
    std::string why;
    cgroup_ = cgroup::Sandbox::create(scratch_.id, o_.memory_limit_bytes, why);
    if (!cgroup_) {
        if (o_.cgroup == CgroupMode::Require)
            return fail("--cgroup require: cannot create the test's cgroup: " + why);
        if (o_.memory_limit_bytes) {
            rec_.memory_limit_reason = "no usable cgroup: " + why;
            say("WARNING: --memory-limit is NOT enforced: no usable cgroup (" + why + ")");
        }
        return 0;
    }
    if (o_.memory_limit_bytes && !cgroup_->memory_limit().enforced) {
        rec_.memory_limit_reason = cgroup_->memory_limit().reason;
        say("WARNING: --memory-limit is NOT enforced: " + cgroup_->memory_limit().reason);
    }
    if (cgroup_->has_memory())
        sampler_ = MemorySampler(cgroup_->dir(), std::string(cgroup_->kind()) == "cgroup-v2");
    return 0;
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
