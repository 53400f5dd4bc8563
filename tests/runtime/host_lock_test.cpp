// Host locks and slots (src/runtime/host_lock.cpp): the findings of issue 12 —
// a type named twice, callers disagreeing on a type's count, and descriptors
// left open when a lock file cannot be opened.
#include "runtime/host_lock.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

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

}  // namespace
