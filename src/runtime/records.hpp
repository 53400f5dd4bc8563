// One record per test run: the launcher's outcome as one JSON line
// (schema "corral.record/1") appended to a records file that many launchers
// share. `corral profile` and people read these lines.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_fields.hpp"
#include "kernel/host.hpp"
#include "kernel/process.hpp"

namespace corral::records {

inline constexpr const char* kRecordSchema = json_fields::kRecordSchema;

struct ProcessEntry {
    pid_t pid = 0;
    std::string command;
};

struct GrantedResource {  // one id CTest granted to one resource group
    int group = 0;
    std::string type;
    std::string id;
    int slots = 0;
};

struct RunRecord {
    std::string run_id;  // one per ctest invocation: current_run_id()
    std::string name;
    std::vector<std::string> command;
    std::string test_id;
    std::string scratch_dir;
    std::string working_directory;  // the launcher's cwd (the test's WORKING_DIRECTORY under CTest)
    std::chrono::system_clock::time_point start{};
    std::chrono::system_clock::time_point end{};
    double wall_seconds = 0;
    std::optional<int> exit_code;  // the test's own exit status, when it exited
    std::optional<int> signal;     // the signal that ended it, when one did
    bool timed_out = false;
    bool parent_died = false;    // the launcher's parent (ctest) went away; the tree was ended
    double timeout_seconds = 0;  // effective (after the multiplier); 0 = none
    int launcher_exit_code = 0;  // what `corral run` returned
    double cpu_user_seconds = 0;
    double cpu_system_seconds = 0;
    uint64_t peak_memory_bytes = 0;
    std::string peak_memory_source;  // "cgroup-v1", "cgroup-v2" or "ru_maxrss"
    // What the test's processes really held at most: anonymous + shmem +
    // unreclaimable kernel memory, not page cache (docs/runtime.md "Records").
    std::optional<uint64_t> peak_nonreclaimable_bytes;
    std::string
        peak_nonreclaimable_source;  // "ru_maxrss", "ru_maxrss+cgroup-v1", "ru_maxrss+cgroup-v2"
    uint64_t memory_samples = 0;     // memory.stat reads behind it
    std::optional<uint64_t> declared_memory_bytes;  // mem_mib grant in bytes; nullopt: none
    std::optional<uint64_t> memory_limit_bytes;
    bool memory_limit_enforced = false;  // the limit is set on the test's own cgroup
    std::string memory_limit_reason;     // why not enforced; "" when enforced or not asked
    std::optional<int> processors;       // cpus slots CTest granted (PROCESSORS); nullopt: none
    // A stop signal (SIGTERM, SIGINT, ...) the launcher received after the test's
    // main process ended (during the leak sweep); the launcher exits 128+N.
    std::optional<int> launcher_signal;
    bool oom_killed = false;
    std::string cgroup;                           // the per-test cgroup directory, empty when none
    std::vector<ProcessEntry> leaked;             // alive after the test's main process exited
    std::vector<ProcessEntry> killed_on_timeout;  // the tree killed when the timeout fired
    uint64_t scratch_bytes = 0;
    bool scratch_kept = false;
    std::vector<GrantedResource> resources;
    std::vector<std::string> locks;  // "lock:NAME", "slot:TYPE.I"
    double lock_wait_seconds = 0;
};

// "2026-11-22T04:50:01.123Z"
std::string iso8601_utc(std::chrono::system_clock::time_point t);

nlohmann::json to_json(const RunRecord& r);

// Appends `line` + '\n' to `path` (created 0644) with ONE write() on an
// O_APPEND descriptor under flock(LOCK_EX), so concurrent launchers never
// interleave or tear lines. Throws std::system_error naming the path.
void append_line(const std::string& path, const std::string& line);

// The run a launcher belongs to: one id per `ctest` invocation. CTest starts
// every test as a direct child of its own process (no shell), but a wrapper in
// between (a shell, env, a TEST_LAUNCHER script) must not split the run: the
// launcher's nearest ancestor whose comm is "ctest" (at most kRunIdDepth up)
// identifies it: "ctest-<pid>-<start time in clock ticks after boot>"
// (proc_pid_stat(5), field 22; pid and start time together survive pid reuse).
// Without a ctest ancestor the parent stands in: "<comm>-<pid>-<start>"
// (launches from one shell or script share it). "unknown" if /proc cannot be read.
inline constexpr int kRunIdDepth = 16;

// The ancestors the run id needs, parent first, read from `host`'s /proc with
// one stat read each (proc::ancestors): up to and including the nearest ctest,
// else kRunIdDepth of them. Empty when we or our parent cannot be read.
std::vector<proc::ProcessStat> run_ancestors(const Host& host = live_host());
// The run id of a chain as run_ancestors() gives it (rules above); "unknown" when empty.
std::string run_id_of(const std::vector<proc::ProcessStat>& ancestors);
// run_id_of(run_ancestors(host)).
std::string current_run_id(const Host& host = live_host());

// Records files are bounded by rotation at run boundaries: when `path` has
// grown to `rotate_bytes` or more and its last record belongs to another run
// than `run_id`, it is renamed to `path`.1 (replacing the older one) and a new
// file is started. A run is never split across the two files; the newest run
// is always in `path`. Appends as append_line does (flock + one write); a
// launcher that opened the file just before another renamed it notices (the
// inode changed) and reopens. Throws std::system_error naming the path.
inline constexpr uint64_t kRotateBytes = 32ull << 20;  // 32 MiB
void append_record(const std::string& path, const std::string& line, const std::string& run_id,
                   uint64_t rotate_bytes = kRotateBytes);

}  // namespace corral::records
