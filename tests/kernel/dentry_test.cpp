// kernel/dentry.hpp unlink_uncached(): a removal that leaves no negative
// dentry behind, for files, symlinks and directories, on a disk filesystem
// (a scratch root's). The control (plain unlinkat) shows the probe sees what
// it should on this kernel and filesystem. (On tmpfs, after a plain unlink,
// the probe finds nothing cached: nothing to compare there.) And
// subdirectories(): a directory's subdirectories from its link count, on the
// filesystems that keep it (tmpfs, ext4, XFS, each mounted here), none other.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/text.hpp"
#include "kernel/dentry.hpp"
#include "tests/probe/scratch_test_support.hpp"
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

namespace {

// Three subdirectories and two files under `dir`: the count says 3 (0 before),
// or nothing where the filesystem's link count is not trusted. "" when so,
// else what went wrong.
std::string counts_subdirectories(const fs::path& dir, bool trusted) {
    fs::create_directories(dir);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return "cannot open " + dir.string();
    auto empty = corral::fs::subdirectories(fd);
    for (const char* d : {"a", "b", "c"})
        fs::create_directory(dir / d);
    for (const char* f : {"x", "y"})
        ::close(::openat(fd, f, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    fs::create_directory(dir / "a" / "nested");  // not the dir's own
    auto three = corral::fs::subdirectories(fd);
    ::close(fd);
    auto said = [](const std::optional<std::size_t>& n) {
        return n ? std::to_string(*n) : std::string("nothing");
    };
    std::string want_empty = trusted ? "0" : "nothing", want_three = trusted ? "3" : "nothing";
    if (said(empty) != want_empty || said(three) != want_three)
        return corral::cat({dir.string(), ": ", said(empty), " then ", said(three), ", expected ",
                            want_empty, " then ", want_three});
    return "";
}

}  // namespace

TEST(Subdirectories, CountedFromTheLinkCountWhereTheFilesystemKeepsIt) {
    using corral::test::TestMount;
    if (auto why = TestMount::loop_skip_reason("mkfs.xfs"); !why.empty()) GTEST_SKIP() << why;
    TestMount tmpfs("size=4m");
    TestMount ext4("64M", "mkfs.ext4 -q -F");
    TestMount xfs("320M", "mkfs.xfs -q -f");
    for (const auto* m : {&tmpfs, &ext4, &xfs})
        ASSERT_TRUE(m->mounted()) << m->error();
    EXPECT_EQ(counts_subdirectories(fs::path(tmpfs.path()) / "d", true), "");
    EXPECT_EQ(counts_subdirectories(fs::path(ext4.path()) / "d", true), "");
    EXPECT_EQ(counts_subdirectories(fs::path(xfs.path()) / "d", true), "");
    // ramfs keeps link counts too, but is not on the list: nothing is said.
    fs::path ramfs = fs::path(tmpfs.path()) / "ramfs";
    fs::create_directories(ramfs);
    auto q = corral::test::shell_quote(ramfs.string());
    auto mounted = corral::test::run_command("mount -t ramfs corral-ramfs " + q);
    ASSERT_EQ(mounted.status, 0) << mounted.output;
    EXPECT_EQ(counts_subdirectories(ramfs / "d", false), "");
    auto unmounted = corral::test::run_command("umount " + q);
    EXPECT_EQ(unmounted.status, 0) << unmounted.output;
    // Not a directory: nothing.
    int file = ::open((fs::path(tmpfs.path()) / "d" / "x").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(file, 0);
    EXPECT_EQ(corral::fs::subdirectories(file), std::nullopt);
    ::close(file);
}
