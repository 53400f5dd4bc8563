// kernel/dentry.hpp unlink_uncached(): a removal that leaves no negative
// dentry behind, for files, symlinks and directories, under the temporary
// directory (a scratch root's filesystem). The control (plain unlinkat) shows
// the probe sees what it should on this kernel and filesystem. (On tmpfs,
// after a plain unlink, the probe finds nothing cached: nothing to compare.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "kernel/dentry.hpp"
#include "tests/support/dentry_probe.hpp"

namespace fs = std::filesystem;
using corral::test::Cached;
using corral::test::cached;

namespace {

void check_dir(const fs::path& dir) {
    ASSERT_TRUE(fs::create_directories(dir)) << dir;
    int d = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(d, 0);
    // The control: a plain removal leaves its name cached as absent.
    ::close(::openat(d, "control", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    ASSERT_EQ(::unlinkat(d, "control", 0), 0);
    Cached control = cached(dir, "control");
    if (control != Cached::Negative) {
        ::close(d);
        fs::remove_all(dir);
        GTEST_SKIP() << "a plain unlink leaves " << corral::test::to_string(control)
                     << " here (openat2 RESOLVE_CACHED needs Linux >= 5.12; "
                        "fs.dentry-negative=1 drops them all): nothing to compare";
    }

    ::close(::openat(d, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    ASSERT_EQ(::symlinkat("12345 678 /somewhere/c-abc", d, "link.owner"), 0);
    ASSERT_EQ(::mkdirat(d, "r-dir", 0700), 0);
    EXPECT_EQ(corral::fs::unlink_uncached(d, "file", 0), 0);
    EXPECT_EQ(corral::fs::unlink_uncached(d, "link.owner", 0), 0);
    EXPECT_EQ(corral::fs::unlink_uncached(d, "r-dir", AT_REMOVEDIR), 0);
    // Probed before anything looks the names up again (a failed lookup
    // caches a negative entry of its own).
    for (const char* name : {"file", "link.owner", "r-dir"}) {
        Cached c = cached(dir, name);
        EXPECT_EQ(c, Cached::NotCached) << name << ": " << corral::test::to_string(c);
        EXPECT_FALSE(fs::exists(fs::symlink_status(dir / name))) << name;
    }
    // unlinkat's contract: -1 with its errno, for a name that is not there or
    // a directory removed without AT_REMOVEDIR.
    errno = 0;
    EXPECT_EQ(corral::fs::unlink_uncached(d, "never-was", 0), -1);
    EXPECT_EQ(errno, ENOENT);
    ASSERT_EQ(::mkdirat(d, "still-here", 0700), 0);
    errno = 0;
    EXPECT_EQ(corral::fs::unlink_uncached(d, "still-here", 0), -1);
    EXPECT_EQ(errno, EISDIR);
    EXPECT_TRUE(fs::is_directory(dir / "still-here"));
    ::close(d);
    fs::remove_all(dir);
}

}  // namespace

TEST(Dentry, ARemovalLeavesNoNegativeEntry) {
    check_dir(fs::temp_directory_path() / ("corral-dentry-" + std::to_string(::getpid())));
}
