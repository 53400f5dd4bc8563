// kernel/dentry.hpp unlink_uncached(): a removal that leaves no negative
// dentry behind, for files, symlinks and directories, on a disk filesystem
// (a scratch root's). The control (plain unlinkat) shows the probe sees what
// it should on this kernel and filesystem. (On tmpfs, after a plain unlink,
// the probe finds nothing cached: nothing to compare there.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/text.hpp"
#include "kernel/dentry.hpp"
#include "tests/support/dentry_probe.hpp"

namespace fs = std::filesystem;
using corral::test::Cached;
using corral::test::cached;

namespace {

// Whether a plain removal under `dir` leaves its name cached as absent, as
// the probe sees it (the control); `dir` is made for it and kept when so.
bool keeps_negatives(const fs::path& dir, std::string& seen) {
    std::error_code ec;
    if (!fs::create_directories(dir, ec)) return false;
    int d = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    bool made =
        d >= 0 && ::close(::openat(d, "control", O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0;
    if (d >= 0) ::close(d);
    Cached c = made && ::unlink((dir / "control").c_str()) == 0 ? cached(dir, "control")
                                                                : Cached::Unsupported;
    seen += corral::cat({" ", dir.string(), ": ", corral::test::to_string(c), ";"});
    if (c == Cached::Negative) return true;
    fs::remove_all(dir, ec);
    return false;
}

void check_dir(const fs::path& dir) {
    int d = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(d, 0);
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
    // The first place whose filesystem keeps negative entries (tmpfs keeps
    // none the probe can see): the temporary directory, the build tree, /var/tmp.
    std::string name = "corral-dentry-" + std::to_string(::getpid());
    std::string seen;
    for (const fs::path& base :
         {fs::temp_directory_path(), fs::current_path(), fs::path("/var/tmp")})
        if (keeps_negatives(base / name, seen)) return check_dir(base / name);
    GTEST_SKIP() << "a plain unlink leaves no negative entry the probe sees in any of:" << seen
                 << " (openat2 RESOLVE_CACHED needs Linux >= 5.12; fs.dentry-negative=1 "
                    "drops them all): nothing to compare";
}
