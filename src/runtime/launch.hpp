// The state of one `corral run` launch, shared by the files that implement it
// (launcher.hpp lists them). Internal to src/runtime.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "kernel/process.hpp"
#include "runtime/cgroup_sandbox.hpp"
#include "runtime/launch_ancestry.hpp"
#include "runtime/launcher.hpp"
#include "runtime/memory_sampler.hpp"
#include "runtime/scratch_dir.hpp"
#include "runtime/scratch_retire.hpp"

namespace corral::launcher {

using Clock = std::chrono::steady_clock;

using records::GrantedResource;
using records::ProcessEntry;

inline int ms_of(double seconds) {
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
    int raise_descriptor_limit();
    void sweep_stale();
    void tend_pools_while_running();
    // When the test's timeout falls due (started_ + timeout_), if it has one.
    std::optional<Clock::time_point> timeout_deadline() const {
        if (!timeout_) return std::nullopt;
        return started_ + std::chrono::microseconds(static_cast<long long>(*timeout_ * 1e6));
    }
    void say_retired(const scratch::RetiredRemoval& r);
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
    int open_cgroup();
    // Creates the cgroup of a test still running after kCgroupJoinDelayMs and
    // moves its processes in (launch_process.cpp).
    void join_cgroup_late();
    void wait_for_main();
    void handle_signals();
    void reap_zombies();
    void collect_main();  // blocking wait for the main process, unless already collected
    std::vector<proc::ProcessInfo> find_leftovers() const;
    std::vector<ProcessEntry> kill_tree();
    void sweep_leaks();
    void measure();  // rusage + cgroup: once, before the outcome is decided
    int finish(int code);
    // The run's RunOutcome and its exit code (common/run_outcome.hpp).
    int decide();
    // True after SIGTERM/SIGINT/SIGHUP/SIGQUIT reached the launcher once the
    // test's main process had ended: the leak sweep stops waiting and kills.
    bool stop_requested() const { return launcher_signal_.has_value(); }
    // Memory samples are taken while the test is in its cgroup.
    bool sampling() const { return cgroup_joined_ && sampler_.usable(); }
    // A limit or --cgroup require: the cgroup is made before spawn and joined
    // before exec. Otherwise a running test joins late (join_cgroup_late).
    bool joins_before_exec() const {
        return o_.cgroup == CgroupMode::Require ||
               (o_.cgroup == CgroupMode::Auto && o_.memory_limit_bytes);
    }
    bool joined_late() const { return cgroup_joined_ && !joins_before_exec(); }

    const Options& o_;
    std::ostream& err_;
    records::RunRecord rec_;
    Ancestry ancestry_;  // walked once: the run id, then the stale sweep's own line

    double multiplier_ = 1.0;
    std::optional<double> timeout_;  // effective seconds
    std::string scratch_root_;
    bool scratch_root_from_tmpdir_ = false;  // only $TMPDIR chose it: /tmp may stand in
    Translation translation_;
    locks::HeldLocks held_;
    scratch::ScratchDir scratch_;
    std::unique_ptr<cgroup::Sandbox> cgroup_;

    Clock::time_point started_{};
    sigset_t old_mask_{};
    // RLIMIT_NOFILE as the launcher was started with, given back to the test
    // before exec; set only when raise_descriptor_limit() raised ours.
    std::optional<struct rlimit> test_nofile_;
    struct sigaction old_sigpipe_ {};
    struct sigaction old_sigchld_ {};
    pid_t parent_pid_ = 0;
    bool parent_died_ = false;
    std::string registry_;  // scratch registry (owner / kept entries); empty when unusable
    std::optional<proc::ProcessStat> self_stat_;  // our own (proc::read_stat), for the owner entry
    int tty_fd_ = -1;  // the controlling terminal, when our group had its foreground
    bool tty_handed_ = false;
    bool test_stopped_ = false;
    int sigfd_ = -1;
    int pidfd_ = -1;
    uint64_t start_rss_bytes_ = 0;  // our own ru_maxrss (bytes) just before the test was made
    pid_t main_pid_ = -1;
    bool main_done_ = false;
    // The child gave up before exec (cgroup join, exec errno): no exit code.
    bool never_ran_ = false;
    int main_status_ = 0;
    std::optional<Clock::time_point> stop_deadline_;  // set when a stop signal was forwarded
    std::optional<int> launcher_signal_;  // a stop signal received after the main process ended
    // When the test's cgroup is made and joined (docs/runtime.md "cgroup"): with
    // a limit or --cgroup require, before exec (cgroup_joined_ from the start);
    // otherwise at join_at_, only if the test is still running then.
    std::optional<Clock::time_point> join_at_;
    // When retired scratch directories are removed, if the test still runs
    // (launcher.hpp kRetireDelayMs).
    std::optional<Clock::time_point> retire_at_;
    bool cgroup_joined_ = false;
    MemorySampler sampler_;
    Clock::time_point next_sample_{};
    bool measured_ = false;
};

}  // namespace corral::launcher
