// The per-test cgroup through each hierarchy this host has (cgroup v1 memory
// and a v2 hierarchy without controllers on this hybrid CI host): a process
// that joins stays listed however it daemonizes, and the cgroup goes away.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "common/read_file.hpp"
#include "common/text.hpp"
#include "runtime/cgroup_sandbox.hpp"

namespace corral {
namespace {

using cgroup::Hierarchy;

// Forks a child that joins the sandbox and leaves a setsid grandchild behind
// (the daemon a test leaks); returns the grandchild's pid.
pid_t leave_daemon_in(const cgroup::Sandbox& sandbox) {
    int report[2];
    if (::pipe(report) != 0) return -1;
    pid_t child = ::fork();
    if (child == 0) {
        if (::write(sandbox.procs_fd(), "0", 1) != 1) ::_exit(2);
        pid_t daemon = ::fork();
        if (daemon == 0) {
            ::setsid();
            ::execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ssize_t n = ::write(report[1], &daemon, sizeof daemon);
        ::_exit(n == sizeof daemon ? 0 : 3);
    }
    ::close(report[1]);
    pid_t daemon = -1;
    ssize_t n = ::read(report[0], &daemon, sizeof daemon);
    ::close(report[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (n != sizeof daemon || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    return daemon;
}

// The v1 memory hierarchy for real (this CI host has it writable): the
// limit and memory+swap are both written, the cgroup sits under our own
// cgroup as the mount-root-translated path says, and it is removed.
TEST(SandboxV1, EnforcesTheLimitWithSwapAndLivesUnderOurCgroup) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups (CI runs as root)";
    std::string why;
    auto sandbox = cgroup::Sandbox::create("v1limit-" + std::to_string(::getpid()), 64ull << 20,
                                           why, Hierarchy::V1Memory);
    ASSERT_TRUE(sandbox) << why;
    EXPECT_TRUE(sandbox->memory_limit().enforced) << sandbox->memory_limit().reason;
    auto value = [&](const char* f) {
        auto r = read_file(sandbox->dir() + "/" + f);
        return r ? std::string(*r) : r.error;
    };
    EXPECT_EQ(value("memory.limit_in_bytes"), "67108864\n");
    EXPECT_EQ(value("memory.memsw.limit_in_bytes"), "67108864\n");
    auto own = read_file("/proc/self/cgroup");
    ASSERT_TRUE(own);
    std::string mem_path;
    for (auto line : split_lines(*own))
        if (auto at = line.find(":memory:"); at != std::string_view::npos)
            mem_path = std::string(line.substr(at + 8));
    const std::string parent = sandbox->dir().substr(0, sandbox->dir().rfind('/'));
    EXPECT_TRUE(parent.size() >= mem_path.size() &&
                parent.compare(parent.size() - mem_path.size(), mem_path.size(), mem_path) == 0)
        << parent << " vs " << mem_path;
    const std::string dir = sandbox->dir();
    std::string rm_why;
    EXPECT_TRUE(sandbox->remove(rm_why)) << rm_why;
    EXPECT_FALSE(std::filesystem::exists(dir));
}

class SandboxOn : public ::testing::TestWithParam<Hierarchy> {};

TEST_P(SandboxOn, KeepsADaemonListedAndIsRemovedAfterIt) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups (CI runs as root)";
    std::string why;
    auto sandbox = cgroup::Sandbox::create("unit-" + std::to_string(::getpid()), std::nullopt, why,
                                           GetParam());
    ASSERT_TRUE(sandbox) << why;
    const std::string dir = sandbox->dir();
    EXPECT_STREQ(sandbox->kind(), GetParam() == Hierarchy::V1Memory ? "cgroup-v1" : "cgroup-v2");
    EXPECT_EQ(sandbox->has_memory(), GetParam() == Hierarchy::V1Memory);

    pid_t daemon = leave_daemon_in(*sandbox);
    ASSERT_GT(daemon, 0);
    auto pids = sandbox->pids();
    EXPECT_NE(std::find(pids.begin(), pids.end(), daemon), pids.end())
        << "the re-parented daemon " << daemon << " is not listed in " << dir;
    if (sandbox->has_memory()) {
        auto peak = sandbox->peak_memory();
        ASSERT_TRUE(peak);
        EXPECT_GT(*peak, 0u);
    }

    // A cgroup with a live process cannot be removed; once it is gone, it can.
    ::kill(daemon, SIGKILL);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
        pids = sandbox->pids();
        gone = std::find(pids.begin(), pids.end(), daemon) == pids.end();
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(gone) << "pid " << daemon << " still in " << dir;
    EXPECT_TRUE(sandbox->remove(why)) << why;
    EXPECT_FALSE(std::filesystem::exists(dir));
}

INSTANTIATE_TEST_SUITE_P(ThisHost, SandboxOn,
                         ::testing::Values(Hierarchy::V1Memory, Hierarchy::V2Tracking),
                         [](const auto& info) {
                             return info.param == Hierarchy::V1Memory ? std::string("V1Memory")
                                                                      : std::string("V2Tracking");
                         });

}  // namespace
}  // namespace corral

namespace corral {
namespace {

long negative_dentries() {
    auto text = read_file("/proc/sys/fs/dentry-state");
    long v[5] = {};
    if (!text ||
        std::sscanf(text->c_str(), "%ld %ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5)
        return -1;
    return v[4];
}

// In a child as nobody: how many negative dentries `tries` refused mkdirs of
// fresh names under `parent` leave, plain (mkdir(2)) or through FsOps. -1 on
// a setup failure.
long left_by(const std::string& parent, int tries, bool plain) {
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        long out = -1;
        if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
            cgroup::FsOps ops;
            long before = negative_dentries();
            for (int i = 0; i < tries; ++i) {
                std::string dir = parent + "/corral-negtest-" + std::to_string(::getpid()) + "-" +
                                  std::to_string(i) + (plain ? "p" : "o");
                if (plain ? ::mkdir(dir.c_str(), 0755) == 0 : ops.make_dir(dir) == 0) _exit(3);
            }
            out = negative_dentries() - before;
        }
        (void)!::write(fds[1], &out, sizeof out);
        _exit(0);
    }
    ::close(fds[1]);
    long out = -1;
    if (::read(fds[0], &out, sizeof out) != static_cast<ssize_t>(sizeof out)) out = -1;
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : -1;
}

}  // namespace

// An unprivileged launcher cannot make its test's cgroup: the refusal comes
// from the parent's permission, checked first, so no mkdir(2) looks the new
// name up and leaves it cached as absent. Before, every launch of a test
// running 50 ms left two such entries in cgroupfs (a fresh tester's count:
// +200 per 100 launches). Counted host-wide (openat2's RESOLVE_CACHED cannot
// see cgroupfs entries), against a plain mkdir as the control.
TEST(FsOps, ARefusedCgroupLeavesNoNegativeDentry) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as nobody (setuid)";
    std::string parent;
    for (const char* p : {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
        if (::access(p, F_OK) == 0 && std::filesystem::is_directory(p)) {
            parent = p;
            break;
        }
    if (parent.empty()) GTEST_SKIP() << "no cgroupfs mounted under /sys/fs/cgroup";
    const int tries = 400;
    long control = left_by(parent, tries, true);
    ASSERT_GE(control, 0) << "the child could not count (setuid, or mkdir as nobody succeeded)";
    if (control < tries / 2)
        GTEST_SKIP() << "a refused mkdir left " << control << " negative dentries for " << tries
                     << " here: nothing to compare";
    long ours = left_by(parent, tries, false);
    ASSERT_GE(ours, 0);
    EXPECT_LT(ours, tries / 4) << "control: " << control;
}

}  // namespace corral
