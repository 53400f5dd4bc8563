// Scratch removal (scratch::walk with remove = true) on trees deeper than the
// descriptors a launcher may hold: issue 12 found one descriptor held per level.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "kernel/process.hpp"
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

// Out of descriptors while registering the scratch directory, the error says
// so (EMFILE), not "/proc/self/stat: No such file or directory".
TEST(ScratchRegistry, AnOwnerEntryWrittenWithoutDescriptorsSaysWhy) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "with no descriptor free, UBSan's vptr check of the caught exception fails "
                    "(its memory probe needs a pipe); runs in the default build";
#endif
    auto root = fs::temp_directory_path() / ("corral-emfile-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "registry");
    auto dir = scratch::create(root.string());
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        struct rlimit rl {
            32, 32
        };
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::_exit(10);
        while (::open("/", O_PATH | O_CLOEXEC) >= 0) {
        }
        try {
            scratch::write_owner((root / "registry").string(), dir);
        } catch (const std::system_error& e) {
            ::_exit(e.code().value() == EMFILE ? 0 : 2);
        }
        ::_exit(3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2 = another errno (before: ENOENT), 3 = no error";
    fs::remove_all(root);
}

// The common end of a test, an empty scratch directory, is one rmdir(2): no
// walk, so nothing measured. What is not an empty directory still takes the
// walk: a symlink put in its place is removed as a link, never followed
// (rmdir fails with ENOTDIR, the walk's O_NOFOLLOW open with ELOOP, then
// unlink: replaced_by "a symlink", its target untouched); a
// full one is emptied and measured.
TEST(ScratchRemoval, AnEmptyDirectoryIsOneRmdirAndASymlinkInItsPlaceIsRemovedAsALink) {
    auto root = fs::temp_directory_path() / ("corral-empty-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    auto empty = scratch::create(root.string());
    auto r = scratch::walk(empty.path, true);
    EXPECT_TRUE(r.removed);
    EXPECT_TRUE(r.errors.empty());
    EXPECT_EQ(r.entries, 0u);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_FALSE(fs::exists(empty.path));

    auto target = root / "target";
    fs::create_directories(target);
    std::ofstream(target / "keep.txt") << "precious";
    auto swapped = scratch::create(root.string());
    fs::remove(swapped.path);
    fs::create_directory_symlink(target, swapped.path);
    auto m = scratch::walk(swapped.path, false);
    EXPECT_EQ(m.replaced_by, "a symlink");
    EXPECT_FALSE(m.removed);
    EXPECT_TRUE(fs::is_symlink(swapped.path)) << "measuring removed it";
    auto s = scratch::walk(swapped.path, true);
    EXPECT_TRUE(s.removed);
    EXPECT_TRUE(s.errors.empty()) << s.errors.front();
    EXPECT_EQ(s.replaced_by, "a symlink");
    EXPECT_FALSE(fs::exists(fs::symlink_status(swapped.path))) << "the symlink was left behind";
    EXPECT_TRUE(fs::is_directory(target)) << "the symlink's target was removed";
    EXPECT_TRUE(fs::exists(target / "keep.txt")) << "the symlink was followed";

    auto full = scratch::create(root.string());
    {
        std::FILE* f = std::fopen((full.path + "/f").c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("x", f);
        std::fclose(f);
    }
    auto w = scratch::walk(full.path, true);
    EXPECT_TRUE(w.removed);
    EXPECT_EQ(w.entries, 1u);
    EXPECT_GT(w.bytes, 0u);
    EXPECT_FALSE(fs::exists(full.path));
    fs::remove_all(root);
}

// The owner entry is one symlink(2) (its target is the text); an entry an
// older corral wrote as a regular file still registers and is still swept.
TEST(ScratchRegistry, OwnerEntriesAreSymlinksAndOlderFilesStillCount) {
    auto root = fs::temp_directory_path() / ("corral-owner-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "registry");
    std::string registry = (root / "registry").string();
    auto ours = scratch::create(root.string());
    scratch::write_owner(registry, ours);
    auto entry = root / "registry" / (ours.id + ".owner");
    EXPECT_TRUE(fs::is_symlink(entry));
    EXPECT_TRUE(scratch::is_registered(registry, ours.path));
    EXPECT_TRUE(scratch::claim_stale(registry).empty()) << "we are alive: not stale";
    scratch::remove_owner(registry, ours.id);
    EXPECT_FALSE(fs::exists(fs::symlink_status(entry)));

    // An older launcher's regular file, its process gone.
    pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ::waitpid(gone, nullptr, 0);
    auto old = scratch::create(root.string());
    std::ofstream(root / "registry" / (old.id + ".owner")) << gone << " 12345 " << old.path << "\n";
    EXPECT_TRUE(scratch::is_registered(registry, old.path));
    auto stale = scratch::claim_stale(registry);
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].path, old.path);
    EXPECT_EQ(stale[0].pid, gone);
    scratch::release_claim(stale[0]);
    fs::remove_all(root);
}

// The launcher's sweep passes its own id: its own entry (alive by definition)
// is neither read nor claimed, whatever it says; any other stale one is.
TEST(ScratchRegistry, TheCallersOwnEntryIsNeverClaimed) {
    auto root = fs::temp_directory_path() / ("corral-own-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "registry");
    std::string registry = (root / "registry").string();
    pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ::waitpid(gone, nullptr, 0);
    // Written as a dead launcher's: only the caller's id keeps it from the sweep.
    auto ours = scratch::create(root.string());
    fs::create_symlink(std::to_string(gone) + " 1 " + ours.path,
                       root / "registry" / (ours.id + ".owner"));
    EXPECT_TRUE(scratch::claim_stale(registry, ours.id).empty());
    EXPECT_TRUE(fs::is_symlink(root / "registry" / (ours.id + ".owner")));
    auto stale = scratch::claim_stale(registry);
    ASSERT_EQ(stale.size(), 1u) << "any other caller sees it stale";
    EXPECT_EQ(stale[0].id, ours.id);
    scratch::release_claim(stale[0]);
    fs::remove_all(root);
}

// A test that made its scratch directory itself unreadable (chmod 000) as an
// unprivileged user: the launcher (the same user) makes it its own again and
// removes it. Before, "open: Permission denied" and the directory stayed.
TEST(ScratchRemoval, AScratchTheTestMadeUnreadableIsStillRemoved) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as an unprivileged user (setuid)";
    auto root = fs::temp_directory_path() / ("corral-unreadable-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    ::chmod(root.c_str(), 01777);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
        auto d = scratch::create(root.string());
        std::ofstream(d.path + "/f") << "x";
        if (::chmod(d.path.c_str(), 0) != 0) ::_exit(11);
        auto r = scratch::walk(d.path, true);
        ::_exit(r.removed && r.errors.empty() && !fs::exists(d.path) ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1 = not removed, 1x = setup";
    fs::remove_all(root);
}

// The owner entry's path is the rest of its text: a root with a newline
// registers (before, the path was cut at the newline and never matched).
TEST(ScratchRegistry, ARootWithANewlineIsRegistered) {
    auto base = fs::temp_directory_path() / ("corral-nl-" + std::to_string(::getpid()));
    fs::remove_all(base);
    auto root = base / "with\nnewline and  spaces";
    fs::create_directories(root);
    fs::create_directories(base / "registry");
    auto d = scratch::create(root.string());
    scratch::write_owner((base / "registry").string(), d);
    EXPECT_TRUE(scratch::is_registered((base / "registry").string(), d.path));
    fs::remove_all(base);
}

// Kept scratch under a root with a newline stays bounded: the .kept entry's
// path is the rest of its text too (before, it was cut, the entry dropped as
// "not ours", and every kept directory stayed forever).
TEST(ScratchRegistry, KeptDirectoriesUnderARootWithANewlineStayBounded) {
    auto base = fs::temp_directory_path() / ("corral-nlkeep-" + std::to_string(::getpid()));
    fs::remove_all(base);
    auto root = base / "a b\nc";
    fs::create_directories(root);
    fs::create_directories(base / "registry");
    std::vector<scratch::ScratchDir> kept;
    for (int i = 0; i < 3; ++i) {
        kept.push_back(scratch::create(root.string()));
        std::ofstream(kept.back().path + "/f") << "evidence";
        auto k = scratch::keep((base / "registry").string(), kept.back(), 4096, 1, 1u << 30);
        EXPECT_EQ(k.kept_count, 1u);
    }
    EXPECT_FALSE(fs::exists(kept[0].path)) << "the oldest is removed to stay within 1";
    EXPECT_FALSE(fs::exists(kept[1].path));
    EXPECT_TRUE(fs::exists(kept[2].path));
    fs::remove_all(base);
}

// A pid means something only in its own PID namespace: an owner entry says
// which, and an owner in another namespace (a container sharing the runtime
// directory) is never taken for gone. Before, an entry naming pid 1 of a
// container was judged by this namespace's pid 1 and its test killed.
TEST(ScratchRegistry, AnOwnerInAnotherPidNamespaceIsNeverJudgedGone) {
    auto root = fs::temp_directory_path() / ("corral-pidns-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "registry");
    std::string registry = (root / "registry").string();
    auto ours = scratch::create(root.string());
    scratch::write_owner(registry, ours);
    auto own_ns = proc::own_pid_namespace();
    ASSERT_TRUE(own_ns) << "no PID namespace to read";
    auto text = fs::read_symlink(root / "registry" / (ours.id + ".owner")).string();
    EXPECT_EQ(text, std::to_string(::getpid()) + ":" + std::to_string(*own_ns) +
                        text.substr(text.find(' ')))
        << "the entry names the pid with its namespace";
    scratch::remove_owner(registry, ours.id);

    pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ::waitpid(gone, nullptr, 0);
    auto elsewhere = scratch::create(root.string());
    fs::create_symlink(
        std::to_string(gone) + ":" + std::to_string(*own_ns + 1) + " 1 " + elsewhere.path,
        root / "registry" / (elsewhere.id + ".owner"));
    EXPECT_TRUE(scratch::claim_stale(registry).empty()) << "judged in the wrong namespace";
    EXPECT_TRUE(scratch::is_registered(registry, elsewhere.path));
    fs::remove(root / "registry" / (elsewhere.id + ".owner"));
    fs::create_symlink(
        std::to_string(gone) + ":" + std::to_string(*own_ns) + " 1 " + elsewhere.path,
        root / "registry" / (elsewhere.id + ".owner"));
    auto stale = scratch::claim_stale(registry);
    ASSERT_EQ(stale.size(), 1u) << "gone in our own namespace";
    scratch::release_claim(stale[0]);
    fs::remove_all(root);
}

// A registry others can write to is never read: an entry planted there would
// name a directory for the next launcher to remove (or a scope for reap).
TEST(ScratchRegistry, ARegistryOthersCanWriteToIsNeverRead) {
    auto root = fs::temp_directory_path() / ("corral-planted-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "registry");
    ::chmod((root / "registry").c_str(), 0777);
    std::string registry = (root / "registry").string();
    fs::create_directories(root / "victim" / "c-abcdefgh");
    std::string victim = (root / "victim" / "c-abcdefgh").string();
    fs::create_symlink("999999 1 " + victim, root / "registry" / "abcdefgh.owner");
    EXPECT_TRUE(scratch::claim_stale(registry).empty()) << "a planted entry was claimed";
    EXPECT_FALSE(scratch::is_registered(registry, victim));
    auto ours = scratch::create(root.string());
    try {
        scratch::write_owner(registry, ours);
        ADD_FAILURE() << "an owner entry written into a registry others can write to";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EPERM) << e.what();
    }
    ::chmod((root / "registry").c_str(), 0700);
    EXPECT_EQ(scratch::claim_stale(registry).size(), 1u) << "private again: read";
    fs::remove_all(root);
}

}  // namespace
