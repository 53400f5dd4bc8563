// kernel/spawn.hpp: the shared-memory spawn the launcher starts every test with.
#include "kernel/spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Shared {
    pid_t seen_pid = 0;
    int exec_errno = 0;
    char* const* argv = nullptr;
};

int write_and_exit(void* arg) {
    auto* s = static_cast<Shared*>(arg);
    s->seen_pid = ::getpid();
    ::_exit(7);
}

int exec_or_report(void* arg) {
    auto* s = static_cast<Shared*>(arg);
    ::execv(s->argv[0], s->argv);
    s->exec_errno = errno;
    ::_exit(127);
}

// Waits through the pidfd first: it becomes readable when the child ends.
int wait_status(pid_t pid, int pidfd) {
    EXPECT_GE(pidfd, 0);
    struct pollfd p {
        pidfd, POLLIN, 0
    };
    EXPECT_EQ(::poll(&p, 1, 10000), 1) << "the pidfd did not report the exit";
    ::close(pidfd);
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid) << std::strerror(errno);
    return status;
}

// The child runs in the caller's memory (CLONE_VM): what it writes is there
// when spawn_shared returns. A fork(2) would write into a copy and lose it.
TEST(SpawnShared, TheChildWritesIntoTheCallersMemoryBeforeTheCallerGoesOn) {
    Shared s;
    int pidfd = -1;
    pid_t pid = corral::proc::spawn_shared(write_and_exit, &s, 0, &pidfd);
    ASSERT_GT(pid, 0) << std::strerror(errno);
    EXPECT_EQ(s.seen_pid, pid);  // written before the caller resumed (CLONE_VFORK)
    int status = wait_status(pid, pidfd);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(SpawnShared, AnExecedChildIsItsOwnProgram) {
    std::string sh = "/bin/sh", c = "-c", script = "exit 5";
    std::vector<char*> argv{sh.data(), c.data(), script.data(), nullptr};
    Shared s;
    s.argv = argv.data();
    int pidfd = -1;
    pid_t pid = corral::proc::spawn_shared(exec_or_report, &s, argv.size(), &pidfd);
    ASSERT_GT(pid, 0) << std::strerror(errno);
    EXPECT_EQ(s.exec_errno, 0);
    int status = wait_status(pid, pidfd);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 5);
}

TEST(SpawnShared, AFailedExecReportsItsErrnoThroughTheSharedMemory) {
    std::string missing = "/nonexistent/corral-spawn-test";
    std::vector<char*> argv{missing.data(), nullptr};
    Shared s;
    s.argv = argv.data();
    int pidfd = -1;
    pid_t pid = corral::proc::spawn_shared(exec_or_report, &s, argv.size(), &pidfd);
    ASSERT_GT(pid, 0) << std::strerror(errno);
    EXPECT_EQ(s.exec_errno, ENOENT);
    int status = wait_status(pid, pidfd);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 127);
}

int execvpe_or_report(void* arg) {
    auto* s = static_cast<Shared*>(arg);
    char* const envp[] = {nullptr};
    ::execvpe(s->argv[0], s->argv, envp);
    s->exec_errno = errno;
    ::_exit(127);
}

// A script without "#!" makes execvpe(3) run /bin/sh with a copy of the
// arguments on the child's stack (glibc posix/execvpe.c, maybe_script_execute):
// 20000 of them need 160 KiB, which fits only because the stack grows with
// argv_words.
TEST(SpawnShared, ManyArgumentsFitOnTheChildsStack) {
    char dir_template[] = "/tmp/corral-spawn-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr) << std::strerror(errno);
    std::string script = std::string(dir_template) + "/count";
    {
        FILE* f = std::fopen(script.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("exit $(($# % 256))\n", f);
        std::fclose(f);
        ASSERT_EQ(::chmod(script.c_str(), 0700), 0);
    }
    std::vector<std::string> words(20000, "word");
    std::vector<char*> argv{script.data()};
    for (auto& w : words)
        argv.push_back(w.data());
    argv.push_back(nullptr);
    Shared s;
    s.argv = argv.data();
    int pidfd = -1;
    pid_t pid = corral::proc::spawn_shared(execvpe_or_report, &s, argv.size(), &pidfd);
    ASSERT_GT(pid, 0) << std::strerror(errno);
    int status = wait_status(pid, pidfd);
    ::unlink(script.c_str());
    ::rmdir(dir_template);
    EXPECT_EQ(s.exec_errno, 0) << std::strerror(s.exec_errno);
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 20000 % 256);
}

// The child's stack is a frame of the caller's own when it fits: a child
// that uses nearly all of it (40 KiB of its 48) leaves the caller's frames
// above, and what they hold, as they were.
int fill_stack(void* arg) {
    volatile unsigned char deep[40 * 1024];
    for (std::size_t i = 0; i < sizeof deep; ++i)
        deep[i] = 0xA5;
    static_cast<Shared*>(arg)->seen_pid = ::getpid() + deep[100] - 0xA5;
    ::_exit(0);
}

TEST(SpawnShared, AChildUsingItsWholeStackLeavesTheCallersFramesIntact) {
    volatile unsigned char canary[4096];
    for (std::size_t i = 0; i < sizeof canary; ++i)
        canary[i] = static_cast<unsigned char>(i * 7);
    Shared s;
    int pidfd = -1;
    pid_t pid = corral::proc::spawn_shared(fill_stack, &s, 3, &pidfd);
    ASSERT_GT(pid, 0) << std::strerror(errno);
    int status = wait_status(pid, pidfd);
    EXPECT_EQ(s.seen_pid, pid);
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    std::size_t changed = 0;
    for (std::size_t i = 0; i < sizeof canary; ++i)
        changed += canary[i] != static_cast<unsigned char>(i * 7);
    EXPECT_EQ(changed, 0u);
}

// The pidfd is made with the process (CLONE_PIDFD): without a free
// descriptor nothing starts, and the caller learns it from spawn_shared.
TEST(SpawnShared, WithoutAFreeDescriptorNoProcessIsMade) {
    int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // not dup(0): stdin may be closed
    ASSERT_GE(lowest_free, 0) << std::strerror(errno);
    ::close(lowest_free);
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
    rlimit tight = old;
    tight.rlim_cur = static_cast<rlim_t>(lowest_free);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
    Shared s;
    int pidfd = -1;
    pid_t pid = corral::proc::spawn_shared(write_and_exit, &s, 0, &pidfd);
    const int err = errno;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
    EXPECT_EQ(pid, -1);
    EXPECT_EQ(err, EMFILE) << std::strerror(err);
    EXPECT_EQ(s.seen_pid, 0) << "the child ran";
    if (pid > 0) wait_status(pid, pidfd);
}

}  // namespace
