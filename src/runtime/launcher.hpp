// corral run: launch one test bounded and isolated, and leave nothing behind.
//
//   locks/slots -> scratch dir + env -> cgroup -> fork (own process group,
//   joins the cgroup, exec) -> wait (forward signals, enforce the timeout)
//   -> leak sweep (group, reparented descendants, cgroup) -> kill leftovers
//   -> measure + remove scratch -> record -> exit code
//
// Files: launcher.cpp (the sequence above), launch.hpp (the Launch state),
// launch_setup.cpp (options, scratch, environment), launch_process.cpp (spawn,
// wait, signals, leak sweep), launch_terminal.cpp (job control),
// launch_outcome.cpp (measure, decide the RunOutcome, the record),
// launch_render.cpp (the "corral run:" lines), memory_sampler.cpp (the
// non-reclaimable peak), ctest_grants.cpp, plan_hints.cpp.
//
// The launcher is a child subreaper, so whatever the test daemonizes is
// re-parented to it, not to init, and can be found and killed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/defaults.hpp"
#include "common/run_outcome.hpp"
#include "runtime/ctest_grants.hpp"
#include "runtime/host_lock.hpp"
#include "runtime/plan_hints.hpp"
#include "runtime/records.hpp"

namespace corral::launcher {

// Exit codes of `corral run`: the one table is common/run_outcome.hpp
// (docs/exit-codes.md). Otherwise: the test's own exit code, or 128+N when a
// signal N ended it (as a shell reports it).
using corral::kExitCannotInvoke;
using corral::kExitLauncherFailure;
using corral::kExitLeaked;
using corral::kExitNotFound;
using corral::kExitTimeout;

enum class LeakPolicy { Fail, Warn, Ignore };
enum class CgroupMode { Auto, Off, Require };
// Without a limit, a test gets its cgroup only when it is still running this
// long after fork. Moving a process into a cgroup waits for an RCU grace period
// (10-15 ms on this host's v1 hierarchy: bench/run_overhead/README.md), paid as
// latency only when the test ends within that wait; shorter tests pay nothing
// and are measured by ru_maxrss. 50 ms bounds the worst case to ~30 % of a
// test that ends just after its move.
inline constexpr int kCgroupJoinDelayMs = 50;
// Retired scratch directories (scratch_retire.hpp) are removed while a test
// that has run this long still runs, one at a time until it ends (at most
// kRetiredPerLaunch). A removal can wait for the device (on ext4 without a
// journal mounted `discard`, 0.2-0.4 ms and a wakeup each: docs/runtime.md),
// which a test that ends sooner would wait for too; one that has run 2 ms
// most likely outlasts it. Only a pool of kRetiredBacklog or more, left by
// tests that all ended sooner, is trimmed at once, while the test starts, by
// empty directories only (launch_setup.cpp sweep_stale).
inline constexpr int kRetireDelayMs = 2;
inline constexpr size_t kRetiredPerLaunch = 8;
inline constexpr size_t kRetiredBacklog = 16;
// Spare scratch directories (scratch_retire.hpp) made in that same time, at
// most this many a launch, before the retired ones are removed: a launch uses
// at most one, so the pool stays full while half the tests run 2 ms or more.
inline constexpr size_t kSparesPerLaunch = 2;
// When the scratch directory is kept instead of removed. A run cancelled
// because its parent (ctest) died never keeps it.
enum class KeepScratch { Never, Failed, Always };

// --- the launch ------------------------------------------------------------

struct Options {
    std::string name;  // default: basename of the command
    std::vector<std::string> command;
    std::optional<double> timeout_seconds;  // before the multiplier
    double grace_seconds = defaults::kGraceSeconds;
    std::optional<std::string> scratch_root;
    std::optional<std::string> plan_file;
    std::optional<double> timeout_multiplier;  // overrides the plan / environment
    std::optional<std::string> records_file;
    std::vector<std::string> locks;
    std::vector<locks::SlotRequest> slots;
    LeakPolicy leak = LeakPolicy::Warn;
    int leak_window_ms = 100;
    CgroupMode cgroup = CgroupMode::Auto;
    std::optional<uint64_t> memory_limit_bytes;
    KeepScratch keep_scratch = KeepScratch::Failed;
    size_t keep_scratch_count = 10;               // kept directories at most (oldest go)
    uint64_t keep_scratch_bytes = 1024ull << 20;  // their total size at most (oldest go)
    bool json = false;                            // print the record on stdout at the end
};

// Runs the test; returns the exit code for `corral run`. Diagnostics go to
// `err` (the test's own stderr), each line prefixed "corral run: ".
int run(const Options& options, std::ostream& err);

}  // namespace corral::launcher
