// The kernel's process-information files, named once. Code outside src/kernel
// names them through these constants (the style test kernel_layer rejects the
// literal spelling elsewhere), so every reader of the process table is findable
// from here.
#pragma once

namespace corral::kpath {

inline constexpr char kProc[] = "/proc";                           // proc(5)
inline constexpr char kMeminfo[] = "/proc/meminfo";                // proc_meminfo(5)
inline constexpr char kSelfCgroup[] = "/proc/self/cgroup";         // cgroups(7)
inline constexpr char kSelfMountinfo[] = "/proc/self/mountinfo";   // proc_pid_mountinfo(5)
inline constexpr char kSelfStatus[] = "/proc/self/status";         // proc_pid_status(5)
inline constexpr char kSelfStat[] = "/proc/self/stat";             // proc_pid_stat(5)
inline constexpr char kSelfClearRefs[] = "/proc/self/clear_refs";  // proc_pid_clear_refs(5)
inline constexpr char kSelfPidNamespace[] = "/proc/self/ns/pid";   // pid_namespaces(7)
inline constexpr char kInitCgroup[] = "/proc/1/cgroup";            // pid 1's cgroups
// NVIDIA driver (open-gpu-kernel-modules: nv-procfs.c, nv-caps.c).
inline constexpr char kNvidiaGpus[] = "/proc/driver/nvidia/gpus";
inline constexpr char kNvidiaCapabilities[] = "/proc/driver/nvidia/capabilities";
inline constexpr char kNvidiaMigMinors[] = "/proc/driver/nvidia-caps/mig-minors";

}  // namespace corral::kpath
