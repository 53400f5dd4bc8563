// corral run: launch one test bounded and isolated, and leave nothing behind.
//
//   locks/slots -> scratch dir + env -> cgroup -> fork (own process group,
//   joins the cgroup, exec) -> wait (forward signals, enforce the timeout)
//   -> leak sweep (group, reparented descendants, cgroup) -> kill leftovers
//   -> measure + remove scratch -> record -> exit code
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
#include "runtime/gpu_grant.hpp"
#include "runtime/host_lock.hpp"
#include "runtime/records.hpp"

namespace corral::launcher {

// Exit codes of `corral run` (docs/exit-codes.md). Otherwise: the test's own
// exit code, or 128+N when a signal N ended it (as a shell reports it).
inline constexpr int kExitLeaked = 122;           // test passed but leaked, with --leak fail
inline constexpr int kExitTimeout = 124;          // --timeout fired (like timeout(1))
inline constexpr int kExitLauncherFailure = 125;  // corral run itself failed / bad option value
inline constexpr int kExitCannotInvoke = 126;     // command found but not executable
inline constexpr int kExitNotFound = 127;         // command not found

enum class LeakPolicy { Fail, Warn, Ignore };
enum class CgroupMode { Auto, Off, Require };
// When the scratch directory is kept instead of removed. A run cancelled
// because its parent (ctest) died never keeps it.
enum class KeepScratch { Never, Failed, Always };

// --- CTest resource allocation -------------------------------------------

// CTEST_RESOURCE_GROUP_COUNT=N, CTEST_RESOURCE_GROUP_<g>=type,type,
// CTEST_RESOURCE_GROUP_<g>_<TYPE>=id:X,slots:Y;id:Z,slots:W (TYPE upper-cased).
// Throws std::invalid_argument naming the variable and what was expected.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::vector<records::GrantedResource> parse_ctest_resources(const EnvLookup& getenv);

struct Translation {
    std::optional<std::string> scratch_root;               // from a granted heavy_io id
    std::vector<std::pair<std::string, std::string>> env;  // variables to export
    std::vector<std::string> notes;                        // human: what could not be mapped
};
// heavy_io id -> its scratch directory (from the plan); gpus ids -> the
// visibility variables (gpu_grant.hpp: the plan's handles, else this host's,
// else the id's index); mem_mib slots -> CORRAL_MEMORY_BYTES.
Translation translate_grants(const std::vector<records::GrantedResource>& grants,
                             const std::map<std::string, std::string>& heavy_io_paths,
                             const GpuHandles* gpu_handles = nullptr);

// What --plan contributes (plan.json, schema corral.plan/1).
struct PlanHints {
    std::optional<std::string> scratch_dir;
    std::optional<double> timeout_multiplier;
    std::map<std::string, std::string> heavy_io_paths;  // id -> path
    GpuHandles gpu_handles;                             // gpus id -> variable and value
};
// Throws std::runtime_error "FILE: ..." (with line/column for bad JSON).
PlanHints load_plan_hints(const std::string& path);

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
