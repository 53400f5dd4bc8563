// The live host's passwd lookups go through getent(1): the corral program is
// linked statically, and a static program cannot load NSS modules (a
// getpwent(3) in it crashed in libnss_systemd). Checked against /etc/passwd,
// which every nsswitch.conf "passwd:" line reads ("files").
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "kernel/command.hpp"
#include "kernel/host.hpp"
#include "kernel/process.hpp"

namespace corral {
namespace {

struct Entry {
    std::string name, uid, home;
};

std::vector<Entry> etc_passwd() {
    std::ifstream in("/etc/passwd");
    std::vector<Entry> out;
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string x; std::getline(ss, x, ':');)
            f.push_back(x);
        if (f.size() >= 6) out.push_back({f[0], f[2], f[5]});
    }
    return out;
}

TEST(LivePasswd, EveryFilesEntryIsFoundByEnumerationUidAndName) {
    auto files = etc_passwd();
    ASSERT_FALSE(files.empty()) << "/etc/passwd has no entries";
    const Host& host = live_host();
    auto all = host.all_homes();
    for (const auto& e : files) {
        EXPECT_NE(std::find(all.begin(), all.end(), e.home), all.end()) << e.name << " " << e.home;
        EXPECT_EQ(host.home_of_name(e.name).value_or("(none)"), e.home) << e.name;
    }
    const auto& root =
        *std::find_if(files.begin(), files.end(), [](const Entry& e) { return e.uid == "0"; });
    EXPECT_EQ(host.home_of_uid(0).value_or("(none)"), root.home);
}

TEST(LivePasswd, AnUnknownUserHasNoHome) {
    const Host& host = live_host();
    EXPECT_EQ(host.home_of_name("corral-no-such-user-7f3a"), std::nullopt);
    EXPECT_EQ(host.home_of_uid(4000000123u), std::nullopt);
}

// No getent to run (here: /usr/bin/getent covered by /dev/null in a private
// mount namespace, none on PATH): /etc/passwd itself gives the homes.
TEST(LivePasswd, WithoutGetentEtcPasswdStillGivesTheHomes) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
    auto files = etc_passwd();
    ASSERT_FALSE(files.empty());
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0) ::_exit(10);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(11);
        if (::mount("/dev/null", "/usr/bin/getent", nullptr, MS_BIND, nullptr) != 0) ::_exit(12);
        ::setenv("PATH", "/nonexistent", 1);
        const Host& host = live_host();
        auto all = host.all_homes();
        for (const auto& e : files)
            if (std::find(all.begin(), all.end(), e.home) == all.end()) ::_exit(1);
        if (host.home_of_name(files.front().name) != files.front().home) ::_exit(2);
        if (host.home_of_uid(0) == std::nullopt) ::_exit(3);
        if (host.home_of_name("corral-no-such-user-7f3a")) ::_exit(4);
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_LT(WEXITSTATUS(status), 10)
        << "could not set up the namespace (step " << WEXITSTATUS(status) - 10 << ")";
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "1: a home missing from the enumeration, 2: by name, 3: by uid, 4: an unknown user";
}

// The passwd lookups under an inherited SIGCHLD = SIG_IGN (the kernel would
// reap getent before waitpid: ECHILD, no entries, and the scope refusal lost
// every home), and a helper that outlives its time limit.
TEST(Capture, WorksWithSigchldIgnoredAndEndsAHelperAtItsTimeLimit) {
    struct sigaction ign {
    }, old{};
    ign.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGCHLD, &ign, &old), 0);
    auto c = proc::capture({"/bin/echo", "hello"});
    auto root_home = live_host().home_of_uid(0);
    struct sigaction now {};
    ::sigaction(SIGCHLD, nullptr, &now);
    ::sigaction(SIGCHLD, &old, nullptr);
    EXPECT_EQ(c.status, 0);
    EXPECT_EQ(c.out, "hello\n");
    EXPECT_EQ(now.sa_handler, SIG_IGN) << "the caller's disposition was not put back";
    auto files = etc_passwd();
    auto root =
        std::find_if(files.begin(), files.end(), [](const Entry& e) { return e.uid == "0"; });
    ASSERT_NE(root, files.end());
    EXPECT_EQ(root_home.value_or("(none)"), root->home);

    // What the helper started ends with it (its own process group).
    auto slow = proc::capture({"/bin/sh", "-c", "sleep 31 & echo $!; exec sleep 30"}, {}, 300);
    EXPECT_TRUE(slow.timed_out);
    EXPECT_EQ(slow.status, 128 + SIGKILL);
    pid_t grandchild = static_cast<pid_t>(std::atoi(slow.out.c_str()));
    ASSERT_GT(grandchild, 0) << slow.out;
    bool ended = false;
    for (int i = 0; i < 100 && !ended; ++i) {  // bounded wait for init to reap it
        auto st = proc::read_stat(grandchild);
        ended = !st || st->state == 'Z' || st->comm != "sleep";
        if (!ended) ::usleep(50000);
    }
    if (!ended) ::kill(grandchild, SIGKILL);
    EXPECT_TRUE(ended) << "the helper's child outlived its time limit";

    // Output past the bound ends the helper (a getent that never stops printing).
    auto flood = proc::capture({"/usr/bin/yes"}, {}, 0, std::size_t{1} << 20);
    EXPECT_TRUE(flood.too_much);
    EXPECT_GT(flood.out.size(), std::size_t{1} << 20);
    EXPECT_LT(flood.out.size(), std::size_t{2} << 20);
}

}  // namespace
}  // namespace corral
