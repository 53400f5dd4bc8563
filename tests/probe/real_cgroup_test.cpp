// `corral probe --json` inside REAL cgroups created on this machine: a v1 cpu
// cgroup with a 1.5-CPU quota and a v1 memory cgroup with a 3 GiB limit, each a
// child of the cgroup this test already runs in; and a nested case where the
// parent is stricter than the leaf. Only the forked child is moved; the
// cgroups are removed afterwards, also when an assertion fails.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kernel/host.hpp"
#include "probe/cgroup.hpp"

namespace corral {
namespace {

// A cgroup directory this test made; removed (after its processes are gone) on scope exit.
class TestCgroup {
  public:
    explicit TestCgroup(std::string path) : path_(std::move(path)) {
        if (::mkdir(path_.c_str(), 0755) == 0)
            created_ = true;
        else
            error_ = "mkdir " + path_ + ": " + std::strerror(errno);
    }
    ~TestCgroup() {
        if (!created_) return;
        // An exited, reaped process can linger in the cgroup for a moment.
        for (int attempt = 0; attempt < 100; ++attempt) {
            if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ADD_FAILURE() << "could not remove test cgroup " << path_ << ": " << std::strerror(errno);
    }
    TestCgroup(const TestCgroup&) = delete;
    TestCgroup& operator=(const TestCgroup&) = delete;

    bool ok() const { return created_; }
    const std::string& error() const { return error_; }
    const std::string& path() const { return path_; }

    // Writes one control file; the error names the file and errno.
    std::string write(const std::string& file, const std::string& value) const {
        const auto p = path_ + "/" + file;
        int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return "open " + p + ": " + std::strerror(errno);
        ssize_t n = ::write(fd, value.data(), value.size());
        int err = errno;
        ::close(fd);
        if (n != static_cast<ssize_t>(value.size()))
            return "write '" + value + "' to " + p + ": " + std::strerror(err);
        return {};
    }

  private:
    std::string path_;
    bool created_ = false;
    std::string error_;
};

// Our own cgroup directory for a v1 controller, or why this test cannot run here.
Read<std::string> own_v1_cgroup(const char* controller) {
    auto tables = read_cgroup_tables(live_host());
    auto loc = locate_cgroup(tables, controller);
    if (!loc) return Read<std::string>::fail(loc.error);
    if ((*loc).version != 1)
        return Read<std::string>::fail(std::string("the ") + controller +
                                       " controller is on cgroup v2 here; this test creates v1 "
                                       "cgroups (the CI host is hybrid v1)");
    if (!(*loc).translated)
        return Read<std::string>::fail("own cgroup path cannot be mapped to a directory");
    return Read<std::string>::ok((*loc).levels.front());
}

struct ChildRun {
    int exit_code = -1;
    std::string out;
    std::string error;  // setup problem (fork, pipe)
};

// Forks a child that joins `cgroup_procs` files and execs corral probe --json.
// Only this child (and nothing else) is moved into the test cgroups.
ChildRun run_probe_in(const std::vector<std::string>& cgroup_procs) {
    ChildRun run;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        run.error = std::string("pipe2: ") + std::strerror(errno);
        return run;
    }
    const char* argv[] = {CORRAL_EXE, "probe", "--json", nullptr};
    pid_t pid = ::fork();
    if (pid < 0) {
        run.error = std::string("fork: ") + std::strerror(errno);
        ::close(fds[0]);
        ::close(fds[1]);
        return run;
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        char buf[32];
        int len = 0;
        for (pid_t p = ::getpid(); p > 0; p /= 10)
            buf[len++] = static_cast<char>('0' + p % 10);
        for (int i = 0; i < len / 2; ++i)
            std::swap(buf[i], buf[len - 1 - i]);
        for (const auto& procs : cgroup_procs) {
            int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ::write(fd, buf, static_cast<size_t>(len)) != len) ::_exit(126);
            ::close(fd);
        }
        ::dup2(fds[1], 1);
        ::execv(argv[0], const_cast<char* const*>(argv));
        ::_exit(127);
    }
    ::close(fds[1]);
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        run.out.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    return run;
}

class ProbeRealCgroup : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root to create cgroups (euid " << ::geteuid() << ")";
        auto cpu = own_v1_cgroup("cpu");
        if (!cpu) GTEST_SKIP() << "no writable v1 cpu hierarchy: " << cpu.error;
        auto memory = own_v1_cgroup("memory");
        if (!memory) GTEST_SKIP() << "no writable v1 memory hierarchy: " << memory.error;
        cpu_base_ = *cpu;
        memory_base_ = *memory;
        suffix_ = "corral-test-" + std::to_string(::getpid());
    }
    std::string cpu_base_, memory_base_, suffix_;
};

TEST_F(ProbeRealCgroup, QuotaOneAndAHalfAndThreeGiB) {
    TestCgroup cpu(cpu_base_ + "/" + suffix_ + "-flat");
    if (!cpu.ok()) GTEST_SKIP() << "cpu hierarchy not writable: " << cpu.error();
    TestCgroup memory(memory_base_ + "/" + suffix_ + "-flat");
    if (!memory.ok()) GTEST_SKIP() << "memory hierarchy not writable: " << memory.error();
    ASSERT_EQ(cpu.write("cpu.cfs_period_us", "100000"), "");
    ASSERT_EQ(cpu.write("cpu.cfs_quota_us", "150000"), "");
    ASSERT_EQ(memory.write("memory.limit_in_bytes", "3221225472"), "");

    auto run = run_probe_in({cpu.path() + "/cgroup.procs", memory.path() + "/cgroup.procs"});
    ASSERT_EQ(run.error, "");
    ASSERT_EQ(run.exit_code, 0) << run.out;
    auto facts = nlohmann::json::parse(run.out);
    const auto& c = facts.at("cpu");
    const auto& m = facts.at("memory");
    EXPECT_EQ(c.at("quota"), 1.5) << c.dump(2);
    const int affinity = c.at("affinity").get<int>();
    EXPECT_EQ(c.at("effective"), std::min(2, affinity)) << c.dump(2);
    EXPECT_NE(c.at("quota_source").get<std::string>().find(cpu.path() + " (leaf)"),
              std::string::npos)
        << c.dump(2);
    EXPECT_EQ(m.at("limit_bytes"), 3221225472ull) << m.dump(2);
    EXPECT_EQ(m.at("effective_bytes"), 3221225472ull) << m.dump(2);
    EXPECT_NE(m.at("limit_source").get<std::string>().find(memory.path() + " (leaf)"),
              std::string::npos)
        << m.dump(2);
    // Available inside the cgroup: the child used little, so close to the limit, never above.
    ASSERT_TRUE(m.at("available_bytes").is_number()) << m.dump(2);
    EXPECT_LE(m.at("available_bytes").get<uint64_t>(), 3221225472ull);
    EXPECT_GT(m.at("available_bytes").get<uint64_t>(), 2ull << 30) << m.dump(2);
}

// The parent is stricter than the leaf: what reading only the leaf gets wrong.
TEST_F(ProbeRealCgroup, NestedParentStricterThanLeaf) {
    TestCgroup cpu_parent(cpu_base_ + "/" + suffix_ + "-nested");
    if (!cpu_parent.ok()) GTEST_SKIP() << "cpu hierarchy not writable: " << cpu_parent.error();
    TestCgroup memory_parent(memory_base_ + "/" + suffix_ + "-nested");
    if (!memory_parent.ok())
        GTEST_SKIP() << "memory hierarchy not writable: " << memory_parent.error();
    // v1 CFS refuses a child quota above its parent's, so the leaf has none (-1).
    ASSERT_EQ(cpu_parent.write("cpu.cfs_period_us", "100000"), "");
    ASSERT_EQ(cpu_parent.write("cpu.cfs_quota_us", "50000"), "");
    ASSERT_EQ(memory_parent.write("memory.limit_in_bytes", "1073741824"), "");
    TestCgroup cpu_leaf(cpu_parent.path() + "/leaf");
    ASSERT_TRUE(cpu_leaf.ok()) << cpu_leaf.error();
    TestCgroup memory_leaf(memory_parent.path() + "/leaf");
    ASSERT_TRUE(memory_leaf.ok()) << memory_leaf.error();
    ASSERT_EQ(memory_leaf.write("memory.limit_in_bytes", "3221225472"), "");

    auto run =
        run_probe_in({cpu_leaf.path() + "/cgroup.procs", memory_leaf.path() + "/cgroup.procs"});
    ASSERT_EQ(run.error, "");
    ASSERT_EQ(run.exit_code, 0) << run.out;
    auto facts = nlohmann::json::parse(run.out);
    const auto& c = facts.at("cpu");
    const auto& m = facts.at("memory");
    EXPECT_EQ(c.at("quota"), 0.5) << c.dump(2);
    EXPECT_EQ(c.at("effective"), 1) << c.dump(2);
    EXPECT_NE(c.at("quota_source").get<std::string>().find(cpu_parent.path() + " (parent)"),
              std::string::npos)
        << c.dump(2);
    EXPECT_EQ(m.at("limit_bytes"), 1073741824ull) << m.dump(2);
    EXPECT_EQ(m.at("effective_bytes"), 1073741824ull) << m.dump(2);
    EXPECT_NE(m.at("limit_source").get<std::string>().find(memory_parent.path() + " (parent)"),
              std::string::npos)
        << m.dump(2);
}

}  // namespace
}  // namespace corral
