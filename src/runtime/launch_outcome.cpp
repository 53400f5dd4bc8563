// After the test: what it used (rusage, the cgroup, the memory samples), its
// RunOutcome and exit code, the record.
#include "runtime/launch.hpp"

#include <sys/resource.h>
#include <sys/wait.h>

#include <iostream>

#include "common/text.hpp"
#include "runtime/launch_render.hpp"

namespace corral::launcher {

// Idempotent: finish() calls it for the runs that end early.
void Launch::measure() {
    if (measured_) return;
    measured_ = true;
    rusage ru{};
    ::getrusage(RUSAGE_CHILDREN, &ru);
    rec_.cpu_user_seconds =
        static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
    rec_.cpu_system_seconds =
        static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
    // ru_maxrss (getrusage(2)): KiB, the largest RSS of any one waited-for
    // descendant, exact for a single-process test.
    uint64_t max_rss = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
    rec_.peak_memory_bytes = max_rss;
    rec_.peak_memory_source = "ru_maxrss";
    rec_.declared_memory_bytes = declared_memory_bytes(rec_.resources);
    rec_.processors = granted_processors(rec_.resources);
    rec_.memory_limit_bytes = o_.memory_limit_bytes;
    // The kernel keeps the largest RSS across execve (exec_mmap folds the old
    // mm's high-water mark into the process's maxrss), and the test starts in
    // the launcher's memory map (kernel/spawn.hpp), its peak reset to its size
    // just before (proc::reset_peak_rss): the test's ru_maxrss is never below
    // that size. A figure not more than 1 MiB above it (the child's stack and
    // the pages it touched before exec land in the shared map afterwards) may
    // be the launcher's, not the test's: it counts only when nothing better
    // was measured.
    constexpr uint64_t kLauncherSlackBytes = 1 << 20;
    const bool rss_is_the_tests = max_rss > start_rss_bytes_ + kLauncherSlackBytes;
    if (main_pid_ > 0) {
        rec_.peak_nonreclaimable_bytes = max_rss;
        rec_.peak_nonreclaimable_source =
            rss_is_the_tests ? "ru_maxrss" : "ru_maxrss (upper bound: the launcher's size at fork)";
    }
    // The samples: the whole tree at once, page cache excluded.
    rec_.memory_samples = sampler_.samples();
    if (auto sampled = sampler_.peak()) {
        const std::string sampled_source =
            std::string(joined_late() ? "proc+" : "") + cgroup_->kind();
        if (rss_is_the_tests || max_rss <= *sampled) {
            // Never below either: memory the test touched before it joined its
            // cgroup (a late join, launch.hpp join_at_) is in ru_maxrss and in
            // the tree's resident memory at the move ("proc") only.
            rec_.peak_nonreclaimable_bytes = std::max(max_rss, *sampled);
            rec_.peak_nonreclaimable_source = "ru_maxrss+" + sampled_source;
        } else {
            // ru_maxrss is no more than the launcher's memory map the test
            // started in: it says nothing of the test, the samples do (a peak
            // of the test's first 50 ms below the launcher's size can be
            // missed; ~5 MiB for the release launcher, ~150 MiB under ASan).
            rec_.peak_nonreclaimable_bytes = *sampled;
            rec_.peak_nonreclaimable_source = sampled_source;
        }
    }
    if (cgroup_) {
        rec_.cgroup = cgroup_->dir();
        // A cgroup joined late (launch.hpp, join_at_) missed what was charged
        // before the move: its peak counts when it is not below ru_maxrss.
        if (auto peak = cgroup_->peak_memory();
            peak && cgroup_joined_ && (!joined_late() || *peak >= max_rss)) {
            rec_.peak_memory_bytes = *peak;
            rec_.peak_memory_source = cgroup_->kind();
        }
        rec_.oom_killed = cgroup_->oom_killed();
        if (rec_.oom_killed) say(render::oom(rec_));
        std::string why;
        if (!cgroup_->remove(why)) say("WARNING: cannot remove the test's cgroup: " + why);
    }
    if (never_ran_ || main_pid_ <= 0) {
        // Nothing of the test ran: what ru_maxrss holds is the launcher's own size.
        rec_.peak_memory_bytes = 0;
        rec_.peak_memory_source = "none";
        rec_.peak_nonreclaimable_bytes.reset();
        rec_.peak_nonreclaimable_source.clear();
    }
    // What the sandbox really wrote (memory.max / memory.limit_in_bytes and the swap limit).
    rec_.memory_limit_enforced =
        o_.memory_limit_bytes && cgroup_ && cgroup_->memory_limit().enforced;
}

int Launch::decide() {
    measure();
    RunFacts f;
    if (WIFEXITED(main_status_)) {
        rec_.exit_code = WEXITSTATUS(main_status_);
        f.exit_code = rec_.exit_code;
    } else if (WIFSIGNALED(main_status_)) {
        rec_.signal = WTERMSIG(main_status_);
        f.signal = rec_.signal;
    }
    rec_.launcher_signal = launcher_signal_;
    f.launcher_signal = launcher_signal_;
    f.timed_out = rec_.timed_out;
    f.oom_killed = rec_.oom_killed;
    f.leaked = !rec_.leaked.empty();
    f.leak_fails = o_.leak == LeakPolicy::Fail;
    return exit_code_of(decide_outcome(f), f);
}

int Launch::finish(int code) {
    reclaim_terminal();
    measure();

    end_scratch(code);

    rec_.launcher_exit_code = code;
    // --json first: a line that never arrived is the launcher's failure (125),
    // and the record below must say the code CTest will see.
    if (o_.json) {
        std::cout << records::to_json(rec_).dump() << '\n';
        if (!std::cout.flush()) {
            say("cannot write the --json record to standard output");
            if (code == 0) code = kExitLauncherFailure;
            rec_.launcher_exit_code = code;
        }
    }
    if (o_.records_file) {
        try {
            records::append_record(*o_.records_file, records::to_json(rec_).dump(), rec_.run_id);
        } catch (const std::exception& e) {
            say(std::string("cannot append the record: ") + e.what());
            if (code == 0) code = kExitLauncherFailure;
        }
    }
    return code;
}

}  // namespace corral::launcher
