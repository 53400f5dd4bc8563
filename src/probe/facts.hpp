// Facts: what the probe found about the host, and where each number came from.
// The data model of stage 1 (see docs/facts-schema.md for the JSON form,
// schema "corral.facts/1"). The probe fills it; it never decides anything.
//
// Convention: a number that could not be determined is std::nullopt, and the
// matching *_source string says why ("unknown: <meminfo>: No such file ...").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace corral {

inline constexpr const char* kFactsSchema = "corral.facts/1";

struct CpuFacts {
    std::optional<int> online;  // CPUs the kernel has online
    std::string online_source;
    std::optional<int> affinity;  // CPUs this process may run on
    std::string affinity_source;
    std::optional<double> quota;  // strictest cgroup CPU quota, in CPUs (exact fraction)
    std::string quota_source;     // where it was found, or why there is none
    std::optional<int> cpuset;    // CPUs in the cgroup cpuset, when one restricts
    std::string cpuset_source;
    int effective = 1;  // max(1, min(affinity, ceil(quota)))
    std::string effective_source;
    std::vector<std::string> notes;  // caveats, e.g. limits outside the namespace
};

struct MemoryFacts {
    std::optional<uint64_t> total_bytes;  // MemTotal
    std::string total_source;
    std::optional<uint64_t> available_bytes;  // inside the cgroup when limited
    std::string available_source;
    std::optional<uint64_t> limit_bytes;  // strictest hard limit on the path; null = none
    std::string limit_source;
    std::optional<uint64_t> high_bytes;  // strictest v2 memory.high (throttling point)
    std::string high_source;
    // The lowest limit that throttles or kills (v2 memory.high / memory.max, v1
    // memory.limit_in_bytes / hierarchical_memory_limit) on the whole path; null = none.
    // Kernel doc: Documentation/admin-guide/cgroup-v2.rst "memory.high" / "memory.max".
    std::optional<uint64_t> ceiling_bytes;
    std::string ceiling_kind;    // "memory.high", "memory.max", "memory.limit_in_bytes",
                                 // "hierarchical_memory_limit"; "" when none
    std::string ceiling_cgroup;  // the cgroup directory it was set on; "" when none
    std::string ceiling_source;
    // v1 memory.soft_limit_in_bytes: reported, never a limit (reclaim target under
    // global pressure only, cgroup-v1/memory.rst section 7).
    std::optional<uint64_t> soft_limit_bytes;
    std::string soft_limit_source;
    std::optional<uint64_t> swap_total_bytes;
    // Strictest swap limit on the path: v2 memory.swap.max; v1 memsw.limit_in_bytes
    // minus limit_in_bytes. Swap never adds to the budget (see docs/facts-schema.md).
    std::optional<uint64_t> swap_limit_bytes;
    std::string swap_limit_source;
    // What already lives beside the tests, without reclaimable page cache: in the
    // ceiling's cgroup usage - inactive_file; on a whole host MemTotal - MemAvailable.
    std::optional<uint64_t> in_use_bytes;
    std::string in_use_source;
    std::optional<uint64_t> effective_bytes;  // min(total, ceiling)
    std::string effective_source;
    std::vector<std::string> notes;
};

struct ScratchFacts {
    std::string path;     // candidate directory as given
    std::string origin;   // "TMPDIR", "/tmp", "/var/tmp", "/dev/shm", "XDG_RUNTIME_DIR",
                          // "--scratch", "policy"
    bool usable = false;  // exists, is a directory, and was statfs'd
    std::string error;    // why not usable
    std::string mount_point;
    std::string fstype;
    std::string device;  // mount source, e.g. /dev/vda
    // Same filesystem_id <=> same filesystem (st_dev): FICLONE can share extents.
    std::string filesystem_id;
    std::optional<uint64_t> free_bytes;  // available to unprivileged users
    bool read_only = false;
    bool memory_backed = false;   // tmpfs/ramfs: counts against the memory budget
    std::optional<bool> reflink;  // null = not tried (e.g. read-only, recorded tree)
    std::string reflink_detail;
    int socket_headroom = 0;               // bytes left under sun_path (108) for "<path>/" + name
    std::optional<double> write_mb_per_s;  // measured with --io-bench
    std::string write_detail;
    // Same mount_id <=> same mount (mountinfo mount ID): rename(2)/link(2) succeed only
    // within one mount; across two mounts of one filesystem (a bind mount) they fail
    // with EXDEV (rename(2), link(2) ERRORS). "" when mountinfo has no entry.
    std::string mount_id;
};

struct GpuFacts {
    std::string vendor;  // "nvidia" | "amd"
    int index = 0;       // index as the runtime (CUDA/HIP) numbers it
    std::string id;      // CTest resource id, matches ^[a-z0-9_]+$
    std::string name;
    std::string device;  // /dev/nvidia0, /dev/dri/renderD128
    std::string source;
    // "GPU-<uuid>" / "MIG-<uuid>" (NVIDIA), "GPU-<16 hex>" (AMD unique_id); "" if unknown.
    std::string uuid;
    // What `corral run` writes into `variable` to hand exactly this device to a test:
    // the UUID when known (valid whatever the runtime's ordering), else the index the
    // runtime accepts in that variable.
    std::string visible_as;
    std::string variable;  // "CUDA_VISIBLE_DEVICES" | "ROCR_VISIBLE_DEVICES" | ...
};

struct ContextFacts {
    std::optional<std::string> ci;  // "github" | "forgejo" | "gitlab" | null
    std::string ci_source;
    bool container = false;
    std::string container_source;
    std::vector<std::string> slowdowns;  // "asan", "ubsan", "tsan", "msan", "valgrind"
    std::string slowdown_source;
    bool sudo = false;  // running under sudo (SUDO_USER set)
};

struct Facts {
    std::string schema = kFactsSchema;
    std::string corral_version;
    std::string root = "/";  // the root the probe read (not "/" in tests)
    CpuFacts cpu;
    MemoryFacts memory;
    std::vector<ScratchFacts> scratch;
    std::vector<GpuFacts> gpus;
    ContextFacts context;
};

using Environment = std::map<std::string, std::string>;
Environment current_environment();

}  // namespace corral
