// A per-test cgroup: every process of the test, however it daemonizes, stays
// listed in it; it gives the true peak memory of the whole test and, when
// asked, an enforced memory limit. Created beside or below the launcher's own
// cgroup (so every limit above still applies), removed when the test is over.
//
// Preference: cgroup v2 with the memory controller (already enabled for our
// children, or delegated: see create()), then the v1 memory hierarchy, then v2
// without controllers (tracking only). The launcher's cgroup directory comes
// from kernel/cgroup_path.hpp (mount-root translation), never from a
// hard-coded mount point.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/host.hpp"

namespace corral::cgroup {

// Which hierarchies create() may use: Auto in the preference order above;
// the others pin one, so each path can be exercised where the host has it.
enum class Hierarchy { Auto, V2Memory, V1Memory, V2Tracking };

// The operations create() makes on cgroupfs. Live: the syscalls; tests give a
// temp dir laid out like cgroupfs and an emulation of the kernel's rules.
// Each returns 0 or an errno.
class FsOps {
  public:
    virtual ~FsOps() = default;
    virtual int make_dir(const std::string& path) const;
    virtual int remove_dir(const std::string& path) const;
    // open(O_WRONLY) + one write(2) of the whole value.
    virtual int write(const std::string& path, const std::string& value) const;
    virtual Read<std::string> read(const std::string& path) const;
    // access(2) W_OK: may we write it (a delegated cgroup is owned by us)?
    virtual int can_write(const std::string& path) const;
};
const FsOps& live_fs_ops();

// Where the cgroup filesystem is: the process tables are read through `host`
// (its cgroup and mountinfo files), and cgroupfs paths are used under
// `fs_root` ("" on the live host; a temp dir laid out like cgroupfs in tests).
struct Where {
    const Host* host = &live_host();
    std::filesystem::path fs_root;
    const FsOps* ops = &live_fs_ops();
};

// What became of --memory-limit: recorded as memory_limit_enforced /
// memory_limit_reason (docs/records.md).
struct MemoryLimit {
    std::optional<uint64_t> bytes;  // asked for; nullopt when not asked
    bool enforced = false;          // memory.max (v2) / memory.limit_in_bytes (v1) written,
                                    // and swap held to it too
    std::string reason;             // why not enforced; "" when enforced or not asked
};

class Sandbox {
  public:
    // Creates the cgroup "corral-<name>" or returns nullptr with `why_not` set.
    //
    // cgroup v2 delegation (Documentation/admin-guide/cgroup-v2.rst, "No
    // Internal Process Constraint", "Delegation"): memory can be enabled in a
    // cgroup's cgroup.subtree_control only while it holds no processes. When a
    // limit is asked, our cgroup lists memory in cgroup.controllers but not in
    // subtree_control, is writable and holds no process but us, create() moves
    // us into a leaf "corral-launcher-<pid>", writes "+memory" and makes the
    // test's cgroup a sibling leaf. Otherwise it says precisely why not (e.g.
    // the cgroup also holds ctest) and falls back to the v1 hierarchy or to
    // tracking without a limit, reported in memory_limit().
    static std::unique_ptr<Sandbox> create(const std::string& name,
                                           std::optional<uint64_t> memory_limit,
                                           std::string& why_not, Hierarchy only = Hierarchy::Auto,
                                           const Where& where = {});
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    const std::string& dir() const { return dir_; }  // cgroupfs path (under Where::fs_root)
    // An O_WRONLY|O_CLOEXEC fd of cgroup.procs: the child writes "0" to join
    // before exec, so nothing it starts can be outside.
    int procs_fd() const { return procs_fd_; }
    // "cgroup-v1" or "cgroup-v2"
    const char* kind() const { return v2_ ? "cgroup-v2" : "cgroup-v1"; }
    bool has_memory() const { return memory_; }
    const MemoryLimit& memory_limit() const { return limit_; }

    // Moves a running process in (a write of its pid to cgroup.procs; on v1
    // it waits for an RCU grace period when none is in progress:
    // bench/run_overhead/README.md). True when moved or already gone (ESRCH);
    // false with errno set otherwise.
    bool add(pid_t pid) const;
    std::vector<pid_t> pids() const;
    std::optional<uint64_t> peak_memory() const;
    bool oom_killed() const;
    // rmdir, retrying briefly while exiting processes drain; false + reason.
    bool remove(std::string& why);

  private:
    Sandbox() = default;
    std::string dir_;
    const FsOps* ops_ = &live_fs_ops();
    int procs_fd_ = -1;
    bool v2_ = false;
    bool memory_ = false;
    bool removed_ = false;
    MemoryLimit limit_;
};

}  // namespace corral::cgroup
