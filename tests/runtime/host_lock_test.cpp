// Host locks and slots (src/runtime/host_lock.cpp): the findings of issue 12 —
// a type named twice, callers disagreeing on a type's count, and descriptors
// left open when a lock file cannot be opened; and where the runtime directory
// (locks and the scratch registry) goes.
#include "runtime/host_lock.hpp"

#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using namespace corral;

namespace {

fs::path fresh_dir(const std::string& tag) {
    auto d =
        fs::temp_directory_path() / ("corral-hostlock-" + tag + "-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

size_t open_fds() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

TEST(HostLocks, ATypeNamedTwiceIsOneSlot) {
    auto dir = fresh_dir("twice");
    // In a child with an alarm: before the fix this waited forever on the slot
    // the same run already held.
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::alarm(20);
        try {
            auto held = locks::acquire(dir, {}, {{"vm", 1}, {"vm", 1}});
            ::_exit(held.held().size() == 1 && held.held()[0] == "slot:vm.0" ? 0 : 3);
        } catch (...) {
            ::_exit(4);
        }
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status)
                                   << " (SIGALRM = waited on its own slot)";
    EXPECT_EQ(WEXITSTATUS(status), 0);
    fs::remove_all(dir);
}

TEST(HostLocks, OneRunNamingTwoCountsIsRefused) {
    auto dir = fresh_dir("two-counts");
    try {
        locks::acquire(dir, {}, {{"vm", 1}, {"vm", 2}});
        ADD_FAILURE() << "accepted vm:1 and vm:2";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("a type has one count"), std::string::npos)
            << e.what();
    }
    fs::remove_all(dir);
}

TEST(HostLocks, ConcurrentHoldersMustAgreeOnTheCount) {
    auto dir = fresh_dir("agree");
    {
        auto first = locks::acquire(dir, {}, {{"vm", 2}});
        try {
            // A second holder (its own descriptors, as another launcher would
            // have) naming a different count while the first holds a slot.
            locks::acquire(dir, {}, {{"vm", 4}});
            ADD_FAILURE() << "vm:4 accepted while a vm:2 holder runs";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("say it has 2 slots"), std::string::npos)
                << e.what();
        }
        auto same = locks::acquire(dir, {}, {{"vm", 2}});  // the other slot
        EXPECT_EQ(same.held().size(), 1u);
    }
    // Nobody holds a vm slot now: a new count takes over.
    auto later = locks::acquire(dir, {}, {{"vm", 4}});
    EXPECT_EQ(later.held().size(), 1u);
    fs::remove_all(dir);
}

TEST(HostLocks, NoDescriptorLeaksWhenALockFileCannotBeOpened) {
    auto dir = fresh_dir("leak");
    // slot.vm.1 is a symlink: the O_NOFOLLOW open fails after slot.vm.0 opened.
    fs::create_symlink("/dev/null", dir / "slot.vm.1");
    fs::create_symlink("/dev/null", dir / "lock.b");
    const size_t before = open_fds();
    EXPECT_THROW(locks::acquire(dir, {}, {{"vm", 3}}), std::system_error);
    EXPECT_EQ(open_fds(), before) << "slot files";
    EXPECT_THROW(locks::acquire(dir, {"a", "b"}, {}), std::system_error);
    EXPECT_EQ(open_fds(), before) << "lock files";
    fs::remove_all(dir);
}

// What a run says while it waits reads as a sentence: "waiting for the
// host-wide lock db", "waiting for a host-wide slot of vm" (it said "waiting
// for host-wide a slot of vm").
TEST(HostLocks, TheWaitIsNamedInWords) {
    auto dir = fresh_dir("words");
    auto held = locks::acquire(dir, {"db"}, {{"vm", 1}});
    for (const auto& [lock_names, slot] :
         {std::pair<std::vector<std::string>, std::vector<locks::SlotRequest>>{{"db"}, {}},
          {{}, {{"vm", 1}}}}) {
        auto said = dir / "said";
        fs::remove(said);
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::alarm(20);
            locks::acquire(dir, lock_names, slot, [&](const std::string& what) {
                std::FILE* f = std::fopen(said.c_str(), "w");
                if (f) std::fputs(what.c_str(), f);
                if (f) std::fclose(f);
                ::_exit(0);  // it would wait here
            });
            ::_exit(3);  // acquired: the lock was not held
        }
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        std::FILE* f = std::fopen(said.c_str(), "r");
        ASSERT_NE(f, nullptr);
        char buf[128] = {};
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        EXPECT_EQ(std::string(buf, n),
                  lock_names.empty() ? "a host-wide slot of vm" : "the host-wide lock db");
    }
    fs::remove_all(dir);
}

bool on_tmpfs(const std::string& dir) {
    struct statfs s {};
    return ::statfs(dir.c_str(), &s) == 0 && s.f_type == TMPFS_MAGIC;
}

// locks::runtime_dir() as a launcher without $CORRAL_RUNTIME_DIR or
// $XDG_RUNTIME_DIR finds it, in a child after `setup` (which returns 0, or the
// number of the step that failed: the result is then "setup failed at N").
std::string runtime_dir_in_child(const std::function<int()>& setup = [] { return 0; }) {
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    pid_t pid = ::fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        ::close(fds[0]);
        ::unsetenv("CORRAL_RUNTIME_DIR");
        ::unsetenv("XDG_RUNTIME_DIR");
        std::string out;
        if (int step = setup(); step != 0) {
            out = "setup failed at " + std::to_string(step);
        } else {
            try {
                out = locks::runtime_dir();
            } catch (const std::exception& e) {
                out = std::string("threw: ") + e.what();
            }
        }
        ssize_t n = ::write(fds[1], out.data(), out.size());
        ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 1);
    }
    ::close(fds[1]);
    std::string got;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        got.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return got;
}

// In a private mount namespace (the host's mounts are untouched): `dir` on a
// new tmpfs, or on a bind of `disk` (a directory on a disk filesystem).
int private_namespace() {
    if (::unshare(CLONE_NEWNS) != 0) return 1;
    return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 ? 0 : 2;
}
int tmpfs_on(const char* dir) {
    return ::mount("corral-test", dir, "tmpfs", 0, "mode=1777") == 0 ? 0 : 3;
}
int disk_on(const char* dir, const fs::path& disk) {
    return ::mount(disk.c_str(), dir, nullptr, MS_BIND, nullptr) == 0 ? 0 : 4;
}

const std::string kUid = std::to_string(::geteuid());

// The scratch registry takes one entry per launch, made and removed: on a
// directory of a disk filesystem that is an inode allocated and freed each
// time. A host whose /run is on disk (a container) but has a /dev/shm on
// tmpfs, as this one, got /run/corral-<uid> before.
TEST(RuntimeDir, IsOnATmpfsWhenTheHostHasOne) {
    const bool run_tmpfs = ::access("/run", W_OK) == 0 && on_tmpfs("/run");
    const bool shm_tmpfs = ::access("/dev/shm", W_OK) == 0 && on_tmpfs("/dev/shm");
    if (!run_tmpfs && !shm_tmpfs)
        GTEST_SKIP() << "neither /run nor /dev/shm is a writable tmpfs here";
    auto dir = runtime_dir_in_child();
    EXPECT_TRUE(on_tmpfs(dir)) << dir;
    EXPECT_EQ(dir, (run_tmpfs ? "/run/corral-" : "/dev/shm/corral-") + kUid);
}

// The order, each case in a private mount namespace: a tmpfs /run first, a
// tmpfs /dev/shm before a /run on disk, a /run on disk before /tmp.
TEST(RuntimeDir, ATmpfsComesFirstThenRunThenTmp) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
    const fs::path disk = fs::path("/var/tmp") / ("corral-rtdir-" + std::to_string(::getpid()));
    fs::create_directories(disk / "run");
    fs::create_directories(disk / "shm");
    if (on_tmpfs(disk)) GTEST_SKIP() << disk << " is a tmpfs here: no disk directory to bind";
    EXPECT_EQ(runtime_dir_in_child([&] {
                  if (int e = private_namespace()) return e;
                  if (int e = disk_on("/dev/shm", disk / "shm")) return e;
                  return tmpfs_on("/run");
              }),
              "/run/corral-" + kUid);
    EXPECT_EQ(runtime_dir_in_child([&] {
                  if (int e = private_namespace()) return e;
                  if (int e = disk_on("/run", disk / "run")) return e;
                  return tmpfs_on("/dev/shm");
              }),
              "/dev/shm/corral-" + kUid);
    EXPECT_EQ(runtime_dir_in_child([&] {
                  if (int e = private_namespace()) return e;
                  if (int e = disk_on("/run", disk / "run")) return e;
                  return disk_on("/dev/shm", disk / "shm");
              }),
              "/run/corral-" + kUid);
    // Neither writable as this user: a /run made read-only, a /dev/shm on disk.
    EXPECT_EQ(
        runtime_dir_in_child([&] {
            if (int e = private_namespace()) return e;
            if (int e = disk_on("/run", disk / "run")) return e;
            if (::mount(nullptr, "/run", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
                return 5;
            return disk_on("/dev/shm", disk / "shm");
        }),
        "/tmp/corral-" + kUid);
    // One another user made, or one others can write to, in the chosen place:
    // an error naming it, never another directory (two launches would hold
    // their locks in two places once it is gone).
    auto squatted = [&](mode_t mode, uid_t owner) {
        return runtime_dir_in_child([&] {
            if (int e = private_namespace()) return e;
            if (int e = disk_on("/run", disk / "run")) return e;
            if (int e = tmpfs_on("/dev/shm")) return e;
            std::string dir = "/dev/shm/corral-" + kUid;
            if (::mkdir(dir.c_str(), mode) != 0 || ::chmod(dir.c_str(), mode) != 0 ||
                ::chown(dir.c_str(), owner, owner) != 0)
                return 6;
            return 0;
        });
    };
    auto other = squatted(0700, 12345);
    EXPECT_EQ(other.rfind("threw: ", 0), 0u) << other;
    EXPECT_NE(other.find("/dev/shm/corral-" + kUid), std::string::npos) << other;
    EXPECT_NE(other.find("uid 12345 made it"), std::string::npos) << other;
    auto open_to_all = squatted(0777, ::geteuid());
    EXPECT_EQ(open_to_all.rfind("threw: ", 0), 0u) << open_to_all;
    EXPECT_NE(open_to_all.find("writable by group or others (mode 0777"), std::string::npos)
        << open_to_all;
    fs::remove_all(disk);
}

}  // namespace
