// Scratch removal (scratch::walk with remove = true) on trees deeper than the
// descriptors a launcher may hold: issue 12 found one descriptor held per level.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "runtime/scratch_dir.hpp"

namespace fs = std::filesystem;
using namespace corral;

namespace {

TEST(ScratchRemoval, ATreeDeeperThanTheDescriptorLimitIsRemoved) {
    auto root = fs::temp_directory_path() / ("corral-deep-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    auto dir = scratch::create(root.string());
    constexpr int kDepth = 200;
    {  // d/d/d/... 200 levels, a file in each (built through descriptors: no long paths).
        int fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        for (int i = 0; i < kDepth; ++i) {
            int f = ::openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
            ASSERT_GE(f, 0);
            ::close(f);
            ASSERT_EQ(::mkdirat(fd, "d", 0700), 0);
            int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            ASSERT_GE(next, 0);
            ::close(fd);
            fd = next;
        }
        ::close(fd);
    }
    // In a child whose descriptor limit is far below the depth.
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        struct rlimit rl {
            64, 64
        };
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::_exit(10);
        auto r = scratch::walk(dir.path, true);
        // 200 dirs + 200 files walked; nothing left; no error.
        ::_exit(r.removed && r.errors.empty() && r.entries == 2 * kDepth ? 0
                : r.errors.empty()                                       ? 2
                                                                         : 3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "2 = not all removed, 3 = errors (before the fix: open: Too many open files)";
    EXPECT_FALSE(fs::exists(dir.path));
    fs::remove_all(root);
}

}  // namespace
