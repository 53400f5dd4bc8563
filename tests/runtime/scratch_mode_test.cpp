// The scratch directory's permission bits and group: the root's, whatever the
// umask, a default ACL or the caller's groups (scratch::create; docs/runtime.md).
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "runtime/scratch_dir.hpp"
#include "runtime/scratch_retire.hpp"

namespace fs = std::filesystem;
using namespace corral;

namespace {

// Under a set-group-ID root the scratch directory keeps the bit, as mkdir(2)
// gives it (files the test makes get the root's group, as without corral).
TEST(ScratchDir, UnderASetgidRootTheScratchKeepsTheBit) {
    auto root = fs::temp_directory_path() / ("corral-setgid-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    ASSERT_EQ(::chmod(root.c_str(), 02775), 0);
    auto d = scratch::create(root.string());
    struct stat st {};
    ASSERT_EQ(::stat(d.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 02775u);
    fs::remove_all(root);
}

// The same for a user outside the root's group (a shared setgid project
// directory): the bit is given at mkdir, not by a chmod after it, which the
// kernel makes clear S_ISGID for a non-member; and no spare is taken, since a
// spare gets its bits by chmod. Before, $TMPDIR lost the bit for such a user,
// with or without spares (which were made there and never taken).
TEST(ScratchDir, UnderASetgidRootOfAnotherGroupTheScratchKeepsTheBit) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as a user outside the group (setuid)";
    auto root = fs::temp_directory_path() / ("corral-setgid-other-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    ASSERT_EQ(::chown(root.c_str(), 0, 0), 0);
    ASSERT_EQ(::chmod(root.c_str(), 03777), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(10);
        ::umask(077);  // the bits are the root's, not the umask's
        auto fresh = scratch::create(root.string());
        // No spare is made (or taken) under such a root.
        if (scratch::make_spares(root.string(), 2, {}) != 0) ::_exit(11);
        if (fs::exists(scratch::spare_pool(root.string()))) ::_exit(12);
        auto after_spares = scratch::create(root.string());
        int bad = 0;
        for (const auto* d : {&fresh, &after_spares}) {
            struct stat st {};
            ++bad;
            if (::stat(d->path.c_str(), &st) != 0 || (st.st_mode & 07777) != 03777 ||
                st.st_gid != 0)
                ::_exit(bad);
        }
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "1 = the new directory's mode or group, 2 = with spares there, 1x = setup";
    fs::remove_all(root);
}

// A root with a default ACL that gives others nothing (a root 1777 as $TMPDIR
// on a host that sets one): the scratch directory still has the root's bits,
// made by mkdir or taken from the spares alike. mkdir(2) alone gives the ACL's
// (1770): a harness that hands a directory under $TMPDIR to another user then
// failed, and only when no spare was there.
TEST(ScratchDir, UnderARootWithADefaultAclTheScratchHasTheRootsBits) {
    auto root = fs::temp_directory_path() / ("corral-acl-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    ASSERT_EQ(::chmod(root.c_str(), 01777), 0);
    // system.posix_acl_default: version 2, then user::rwx group::rwx other::---
    // (tag, permissions, id; include/uapi/linux/posix_acl_xattr.h).
    std::string acl;
    auto put = [&](uint32_t v, int bytes) {
        for (int i = 0; i < bytes; ++i)
            acl += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    put(2, 4);
    for (auto [tag, perm] : {std::pair{1u, 7u}, {4u, 7u}, {0x20u, 0u}}) {
        put(tag, 2);
        put(perm, 2);
        put(0xffffffffu, 4);
    }
    if (::setxattr(root.c_str(), "system.posix_acl_default", acl.data(), acl.size(), 0) != 0) {
        int e = errno;
        fs::remove_all(root);
        GTEST_SKIP() << "cannot set a default ACL under " << fs::temp_directory_path() << ": "
                     << std::strerror(e);
    }
    auto made = scratch::create(root.string());
    EXPECT_FALSE(made.from_spare);
    ASSERT_EQ(scratch::make_spares(root.string(), 1, {}), 1u);
    auto spare = scratch::create(root.string());
    EXPECT_TRUE(spare.from_spare);
    for (const auto* d : {&made, &spare}) {
        struct stat st {};
        ASSERT_EQ(::stat(d->path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 01777u) << (d->from_spare ? "spare" : "made");
    }
    fs::remove_all(root);
}

}  // namespace
