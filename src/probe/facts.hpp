// Facts: what the probe found about the host, and where each number came from.
// The data model of stage 1 (see docs/facts-schema.md for the JSON form,
// schema "corral.facts/1"). The probe fills it; it never decides anything.
//
// Convention: a number that could not be determined is std::nullopt, and the
// matching *_source string says why ("unknown: /proc/meminfo: No such file ...").
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
    std::optional<uint64_t> swap_total_bytes;
    std::optional<uint64_t> effective_bytes;  // min(total, limit)
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
    std::string device;                  // mount source, e.g. /dev/vda
    std::string filesystem_id;           // same id <=> same filesystem (rename/reflink possible)
    std::optional<uint64_t> free_bytes;  // available to unprivileged users
    bool read_only = false;
    bool memory_backed = false;   // tmpfs/ramfs: counts against the memory budget
    std::optional<bool> reflink;  // null = not tried (e.g. read-only, recorded tree)
    std::string reflink_detail;
    int socket_headroom = 0;               // bytes left under sun_path (108) for "<path>/" + name
    std::optional<double> write_mb_per_s;  // measured with --io-bench
    std::string write_detail;
};

struct GpuFacts {
    std::string vendor;  // "nvidia" | "amd"
    int index = 0;       // index as the runtime (CUDA/HIP) numbers it
    std::string id;      // CTest resource id, matches ^[a-z0-9_]+$
    std::string name;
    std::string device;  // /dev/nvidia0, /dev/dri/renderD128
    std::string source;
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
