// kernel/process.hpp terminate_all(): more processes than descriptors left
// for their pidfds are still all ended (in batches), and a target that is
// gone is Vanished, not signalled.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "kernel/process.hpp"

namespace {

// In a fresh child with 16 descriptors at most: 40 children of its own to
// end, plus one that is gone. The exit code says which step disagreed.
int end_more_than_the_descriptor_limit() {
    constexpr int kChildren = 40;
    struct rlimit rl {
        16, 16
    };
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) return 90;
    std::vector<corral::proc::Target> targets;
    std::vector<pid_t> pids;
    for (int i = 0; i < kChildren; ++i) {
        pid_t pid = ::fork();
        if (pid < 0) return 91;
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a failed check leaves nothing running
            if (::getppid() == 1) ::_exit(0);
            ::pause();
            ::_exit(0);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        auto stat = corral::proc::read_stat(pid);
        if (!stat) return 92;
        targets.push_back({pid, stat->start_time});
    }
    pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    auto gone_stat = corral::proc::read_stat(gone);
    ::waitpid(gone, nullptr, 0);
    targets.push_back({gone, gone_stat ? gone_stat->start_time : 1});
    auto r = corral::proc::terminate_all(targets, 2000);
    if (r.ended.size() != targets.size()) return 1;
    for (int i = 0; i < kChildren; ++i)
        if (r.ended[static_cast<size_t>(i)] != corral::proc::Ended::Terminated) return 2;
    if (r.ended.back() != corral::proc::Ended::Vanished) return 3;
    if (r.exited_on_term.size() != static_cast<size_t>(kChildren) || !r.survived.empty()) return 4;
    for (pid_t pid : pids) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) != pid) return 5;  // still running
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM) return 6;
    }
    return 0;
}

TEST(TerminateAll, MoreProcessesThanFreeDescriptorsAreAllEnded) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(end_more_than_the_descriptor_limit());
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "1 = result size, 2 = a child not Terminated (before: taken for gone when no "
           "descriptor was left), 3 = the gone one not Vanished, 4 = the lists, 5/6 = a child "
           "still running or not ended by SIGTERM, 9x = setup";
}

}  // namespace
