// Reflink: a real FICLONE on real filesystems. XFS made with reflink=1 must
// say yes, ext4 and tmpfs must say no, and nothing may be left behind.
#include <gtest/gtest.h>
#include <sys/statfs.h>

#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "probe/probe.hpp"
#include "probe/probe_tempdir.hpp"
#include "probe/reflink.hpp"
#include "scratch_test_support.hpp"

namespace corral {
namespace {

using test::TempDir;
using test::TestMount;

TEST(ReflinkVerdict, UnsupportedErrorsMeanNoAndOthersMeanUnknown) {
    for (int err : {EOPNOTSUPP, ENOTTY, EINVAL, EXDEV}) {
        auto v = reflink_verdict_for_errno(err);
        ASSERT_TRUE(v.supported.has_value()) << err;
        EXPECT_FALSE(*v.supported);
        EXPECT_NE(v.detail.find("filesystem does not support reflink"), std::string::npos);
    }
    EXPECT_NE(reflink_verdict_for_errno(EOPNOTSUPP).detail.find("EOPNOTSUPP"), std::string::npos);
    auto rofs = reflink_verdict_for_errno(EROFS);
    EXPECT_FALSE(rofs.supported.has_value());
    EXPECT_NE(rofs.detail.find("read-only"), std::string::npos);
    auto full = reflink_verdict_for_errno(ENOSPC);
    EXPECT_FALSE(full.supported.has_value());
    EXPECT_NE(full.detail.find("no space"), std::string::npos);
    auto perm = reflink_verdict_for_errno(EACCES);
    EXPECT_FALSE(perm.supported.has_value());
    EXPECT_NE(perm.detail.find("permission"), std::string::npos);
    auto other = reflink_verdict_for_errno(EIO);
    EXPECT_FALSE(other.supported.has_value());
    EXPECT_NE(other.detail.find("EIO"), std::string::npos);
}

TEST(Reflink, MissingDirectoryIsNotTried) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    auto r = try_reflink(dir.path() + "/missing");
    EXPECT_FALSE(r.supported.has_value());
    EXPECT_NE(r.detail.find("not tried"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("ENOENT"), std::string::npos) << r.detail;
}

// Runs try_reflink(dir) as the unprivileged user "nobody" when we are root
// (root may write anywhere), else as ourselves.
ReflinkTry try_reflink_unprivileged(const std::string& dir) {
    if (::geteuid() != 0) return try_reflink(dir);
    int fds[2];
    if (::pipe(fds) != 0) return {std::nullopt, "pipe failed"};
    pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(2);
        auto r = try_reflink(dir);
        std::string out = (r.supported ? (*r.supported ? "1" : "0") : "-") + r.detail;
        if (::write(fds[1], out.data(), out.size()) < 0) ::_exit(3);
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string got;
    char buf[512];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
        got.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got.empty())
        return {std::nullopt, "child failed with status " + std::to_string(status)};
    ReflinkTry r;
    if (got[0] != '-') r.supported = got[0] == '1';
    r.detail = got.substr(1);
    return r;
}

TEST(Reflink, UnwritableDirectorySaysPermission) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    // Readable and searchable by everyone, writable by nobody but root.
    ASSERT_EQ(::chmod(dir.path().c_str(), ::geteuid() == 0 ? 0755 : 0555), 0);
    auto r = try_reflink_unprivileged(dir.path());
    ::chmod(dir.path().c_str(), 0700);
    EXPECT_FALSE(r.supported.has_value()) << r.detail;
    EXPECT_NE(r.detail.find("no permission"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("EACCES"), std::string::npos) << r.detail;
}

TEST(Reflink, ReadOnlyMountSaysReadOnly) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    TestMount ro("ro,size=1m");
    ASSERT_TRUE(ro.mounted()) << ro.error();
    auto r = try_reflink(ro.path());
    EXPECT_FALSE(r.supported.has_value());
    EXPECT_NE(r.detail.find("read-only"), std::string::npos) << r.detail;
}

// XFS with reflink=1 and ext4, each on its own loop device, probed through
// the library and through `corral probe --json --scratch`.
TEST(Reflink, RealXfsSaysYesAndExt4SaysNo) {
    if (auto why = TestMount::loop_skip_reason("mkfs.xfs"); !why.empty()) GTEST_SKIP() << why;
    if (auto why = TestMount::loop_skip_reason("mkfs.ext4"); !why.empty()) GTEST_SKIP() << why;
    // mkfs.xfs refuses filesystems under 300 MB; the image is sparse.
    TestMount xfs("300M", "mkfs.xfs -q -m reflink=1");
    ASSERT_TRUE(xfs.mounted()) << xfs.error();
    TestMount ext4("64M", "mkfs.ext4 -q -F");
    ASSERT_TRUE(ext4.mounted()) << ext4.error();

    const std::string xfs_a = xfs.path() + "/a", xfs_b = xfs.path() + "/b";
    const std::string ext4_a = ext4.path() + "/a";
    for (const auto& d : {xfs_a, xfs_b, ext4_a})
        ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;

    // The library, directly.
    auto on_xfs = try_reflink(xfs_a);
    ASSERT_TRUE(on_xfs.supported.has_value()) << on_xfs.detail;
    EXPECT_TRUE(*on_xfs.supported) << on_xfs.detail;
    auto on_ext4 = try_reflink(ext4_a);
    ASSERT_TRUE(on_ext4.supported.has_value()) << on_ext4.detail;
    EXPECT_FALSE(*on_ext4.supported);
    EXPECT_NE(on_ext4.detail.find("EOPNOTSUPP"), std::string::npos) << on_ext4.detail;

    // The program, as a user runs it.
    auto facts = test::corral_probe_json("--scratch " + test::shell_quote(xfs_a) + " --scratch " +
                                         test::shell_quote(xfs_b) + " --scratch " +
                                         test::shell_quote(ext4_a));
    auto a = test::scratch_entry(facts, xfs_a);
    auto b = test::scratch_entry(facts, xfs_b);
    auto e = test::scratch_entry(facts, ext4_a);
    EXPECT_EQ(a.value("fstype", ""), "xfs");
    EXPECT_EQ(a.value("origin", ""), "--scratch");
    EXPECT_EQ(a.value("mount_point", ""), xfs.path());
    EXPECT_EQ(a["reflink"], true) << a.dump(2);
    EXPECT_EQ(b["reflink"], true) << b.dump(2);
    EXPECT_NE(b.value("reflink_detail", "").find("[tried in " + xfs_a + "]"), std::string::npos)
        << "tried once per filesystem: " << b.dump(2);
    EXPECT_EQ(e.value("fstype", ""), "ext4");
    EXPECT_EQ(e["reflink"], false) << e.dump(2);
    EXPECT_NE(e.value("reflink_detail", "").find("EOPNOTSUPP"), std::string::npos);

    // Same filesystem <=> same id; and the id is the kernel's device number.
    EXPECT_EQ(a.value("filesystem_id", "a"), b.value("filesystem_id", "b"));
    EXPECT_NE(a.value("filesystem_id", "a"), e.value("filesystem_id", "a"));
    EXPECT_EQ(a.value("filesystem_id", ""), test::filesystem_id_of(xfs.path()));
    EXPECT_EQ(e.value("filesystem_id", ""), test::filesystem_id_of(ext4.path()));

    // free_bytes is statfs f_bavail * f_frsize, close to what df reports now.
    struct statfs sfs;
    ASSERT_EQ(::statfs(xfs_a.c_str(), &sfs), 0);
    const double now_free = static_cast<double>(sfs.f_bavail) * static_cast<double>(sfs.f_frsize);
    ASSERT_TRUE(a["free_bytes"].is_number_unsigned()) << a.dump(2);
    EXPECT_NEAR(a["free_bytes"].get<double>(), now_free, 1 << 20);
    EXPECT_GT(a["free_bytes"].get<double>(), 200.0 * (1 << 20));  // most of a 300 MB filesystem
    EXPECT_EQ(a["socket_headroom"].get<int>(), 106 - static_cast<int>(xfs_a.size()));

    // Nothing left behind by the tries.
    EXPECT_TRUE(test::entries(xfs_a).empty());
    EXPECT_TRUE(test::entries(xfs_b).empty());
    EXPECT_TRUE(test::entries(ext4_a).empty());
    EXPECT_EQ(test::entries(xfs.path()), (std::vector<std::string>{"a", "b"}));
}

TEST(Reflink, XfsWithoutReflinkSaysNo) {
    if (auto why = TestMount::loop_skip_reason("mkfs.xfs"); !why.empty()) GTEST_SKIP() << why;
    TestMount xfs("300M", "mkfs.xfs -q -m reflink=0");
    ASSERT_TRUE(xfs.mounted()) << xfs.error();
    auto r = try_reflink(xfs.path());
    ASSERT_TRUE(r.supported.has_value()) << r.detail;
    EXPECT_FALSE(*r.supported);
    EXPECT_NE(r.detail.find("EOPNOTSUPP"), std::string::npos) << r.detail;
    EXPECT_TRUE(test::entries(xfs.path()).empty());
}

// Where a filesystem has no O_TMPFILE, the files live in a private 0700
// mkdtemp directory that disappears as soon as they are open. No filesystem
// here lacks O_TMPFILE, so the fallback is forced, on XFS to clone for real.
TEST(ProbeFiles, PrivateDirectoryFallbackClonesAndLeavesNothing) {
    if (auto why = TestMount::loop_skip_reason("mkfs.xfs"); !why.empty()) GTEST_SKIP() << why;
    TestMount xfs("300M", "mkfs.xfs -q -m reflink=1");
    ASSERT_TRUE(xfs.mounted()) << xfs.error();
    ProbeFiles files(xfs.path(), /*private_directory_only=*/true);
    int a = files.open_file(O_RDWR);
    ASSERT_GE(a, 0) << std::strerror(errno);
    int b = files.open_file(O_WRONLY);
    ASSERT_GE(b, 0) << std::strerror(errno);
    EXPECT_STREQ(files.method(), "mkdtemp");
    auto during = test::entries(xfs.path());
    ASSERT_EQ(during.size(), 1u);
    EXPECT_EQ(during[0].rfind(".corral-probe-", 0), 0u) << during[0];
    struct stat st;
    ASSERT_EQ(::stat((xfs.path() + "/" + during[0]).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(test::entries(xfs.path() + "/" + during[0]).size(), 2u);
    files.remove_names();
    EXPECT_TRUE(test::entries(xfs.path()).empty());
    ASSERT_EQ(::write(a, "data\n", 5), 5);
    EXPECT_EQ(::ioctl(b, FICLONE, a), 0) << std::strerror(errno);
    ::close(a);
    ::close(b);
}

TEST(ProbeFiles, TmpfileIsTheDefaultAndNeverHasAName) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    ProbeFiles files(dir.path());
    int a = files.open_file(O_RDWR);
    ASSERT_GE(a, 0) << std::strerror(errno);
    EXPECT_STREQ(files.method(), "O_TMPFILE");
    EXPECT_TRUE(test::entries(dir.path()).empty());
    ::close(a);
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

// Issue 11 item 5: a bind mount is one filesystem through two mounts. rename(2) and
// link(2) fail with EXDEV across mounts; FICLONE works (Linux >= 5.18). The facts
// say which: the same filesystem_id, different mount_ids.
TEST(Reflink, BindMountIsOneFilesystemButAnotherMount) {
    if (auto why = TestMount::loop_skip_reason("mkfs.xfs"); !why.empty()) GTEST_SKIP() << why;
    TestMount xfs("300M", "mkfs.xfs -q -m reflink=1");
    ASSERT_TRUE(xfs.mounted()) << xfs.error();
    const std::string a = xfs.path() + "/a";
    ASSERT_EQ(::mkdir(a.c_str(), 0755), 0);
    TempDir bind_parent("/var/tmp");
    ASSERT_TRUE(bind_parent.ok());
    const std::string bind = bind_parent.path() + "/bind";
    ASSERT_EQ(::mkdir(bind.c_str(), 0755), 0);
    auto m =
        test::run_command("mount --bind " + test::shell_quote(a) + " " + test::shell_quote(bind));
    ASSERT_EQ(m.status, 0) << m.output;
    struct Unmount {
        std::string path;
        ~Unmount() {
            auto r = test::run_command("umount " + test::shell_quote(path));
            if (r.status != 0) ADD_FAILURE() << "umount " << path << ": " << r.output;
        }
    } unmount{bind};

    // What the kernel does: rename/link across the two mounts fail with EXDEV ...
    const std::string src = a + "/file", dst = bind + "/moved";
    {
        int fd = ::open(src.c_str(), O_CREAT | O_WRONLY, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, "corral", 6), 6);
        ::close(fd);
    }
    errno = 0;
    EXPECT_EQ(::rename(src.c_str(), dst.c_str()), -1);
    EXPECT_EQ(errno, EXDEV);
    errno = 0;
    EXPECT_EQ(::link(src.c_str(), dst.c_str()), -1);
    EXPECT_EQ(errno, EXDEV);
    // ... while FICLONE between them shares the extents.
    {
        int in = ::open(src.c_str(), O_RDONLY);
        int out = ::open(dst.c_str(), O_CREAT | O_WRONLY, 0644);
        ASSERT_GE(in, 0);
        ASSERT_GE(out, 0);
        EXPECT_EQ(::ioctl(out, FICLONE, in), 0) << std::strerror(errno);
        ::close(in);
        ::close(out);
    }
    ::unlink(dst.c_str());
    ::unlink(src.c_str());

    // What the probe says.
    auto facts = test::corral_probe_json("--scratch " + test::shell_quote(a) + " --scratch " +
                                         test::shell_quote(bind));
    auto fa = test::scratch_entry(facts, a);
    auto fb = test::scratch_entry(facts, bind);
    EXPECT_EQ(fa.value("filesystem_id", "a"), fb.value("filesystem_id", "b")) << facts.dump(2);
    EXPECT_FALSE(fa.value("mount_id", "").empty()) << fa.dump(2);
    EXPECT_FALSE(fb.value("mount_id", "").empty()) << fb.dump(2);
    EXPECT_NE(fa.value("mount_id", ""), fb.value("mount_id", "")) << facts.dump(2);
    EXPECT_EQ(fb.value("mount_point", ""), bind);
    EXPECT_EQ(fa["reflink"], true) << fa.dump(2);
    EXPECT_EQ(fb["reflink"], true) << fb.dump(2);
    // Free space is read once per filesystem: both report the same number.
    EXPECT_EQ(fa["free_bytes"], fb["free_bytes"]);
}

}  // namespace
}  // namespace corral
