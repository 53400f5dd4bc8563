// A per-test cgroup: every process of the test, however it daemonizes, stays
// listed in it; it gives the true peak memory of the whole test and, when
// asked, an enforced memory limit. Created as a child of the launcher's own
// cgroup (so every limit above still applies), removed when the test is over.
//
// Preference: cgroup v2 with the memory controller delegated, then the v1
// memory hierarchy, then v2 without controllers (tracking only).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace corral::cgroup {

// Which hierarchies create() may use: Auto in the preference order above;
// the others pin one, so each path can be exercised where the host has it.
enum class Hierarchy { Auto, V2Memory, V1Memory, V2Tracking };

class Sandbox {
  public:
    // Creates the cgroup "corral-<name>" or returns nullptr with `why_not` set.
    static std::unique_ptr<Sandbox> create(const std::string& name,
                                           std::optional<uint64_t> memory_limit,
                                           std::string& why_not, Hierarchy only = Hierarchy::Auto);
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    const std::string& dir() const { return dir_; }
    // An O_WRONLY|O_CLOEXEC fd of cgroup.procs: the child writes "0" to join
    // before exec, so nothing it starts can be outside.
    int procs_fd() const { return procs_fd_; }
    // "cgroup-v1" or "cgroup-v2"
    const char* kind() const { return v2_ ? "cgroup-v2" : "cgroup-v1"; }
    bool has_memory() const { return memory_; }

    std::vector<pid_t> pids() const;
    std::optional<uint64_t> peak_memory() const;
    bool oom_killed() const;
    // rmdir, retrying briefly while exiting processes drain; false + reason.
    bool remove(std::string& why);

  private:
    Sandbox() = default;
    std::string dir_;
    int procs_fd_ = -1;
    bool v2_ = false;
    bool memory_ = false;
    bool removed_ = false;
};

}  // namespace corral::cgroup
