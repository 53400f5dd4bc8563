// kernel/process.hpp has_children(): the launcher's leak sweep skips its /proc
// walk when it says false, so a false "no child" would hide a leak.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kernel/process.hpp"

namespace {

// Runs in a fresh child (the test binary may have children of its own): the
// exit code says which step disagreed.
int check_children() {
    if (corral::proc::has_children()) return 1;  // a new process has none
    pid_t running = ::fork();
    if (running < 0) return 90;
    if (running == 0) {
        ::pause();
        ::_exit(0);
    }
    if (!corral::proc::has_children()) return 2;  // running
    ::kill(running, SIGKILL);
    // A zombie not yet waited for is a child too, and asking reaps nothing (WNOWAIT).
    siginfo_t info{};
    if (::waitid(P_PID, running, &info, WEXITED | WNOWAIT) != 0) return 91;
    if (!corral::proc::has_children()) return 3;
    if (::waitpid(running, nullptr, WNOHANG) != running) return 4;  // still there to reap
    if (corral::proc::has_children()) return 5;                     // reaped: none left
    return 0;
}

TEST(HasChildren, SeesRunningAndZombieChildrenAndReapsNothing) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(check_children());
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "1 none at start, 2 running, 3 zombie, 4 reaped by the question, 5 none after";
}

}  // namespace
