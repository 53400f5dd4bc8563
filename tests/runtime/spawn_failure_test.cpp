// corral run when the test cannot even be started: a failure before the test's
// process exists (here its clone, refused by a pids cgroup) must record the time it happened and no
// wall time, not start 1970-01-01 and the machine's uptime (issue 12).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/spawn.hpp"

namespace fs = std::filesystem;

namespace {

TEST(SpawnFailure, ARunThatNeverStartedRecordsNowAndNoWallTime) {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer runtime starts threads of its own (LSan at exit), which a
    // pids.max of 1 refuses: a failure of the runtime, not of the launcher.
    GTEST_SKIP() << "a pids.max of 1 conflicts with the sanitizer runtime's own threads; "
                    "this test runs in the default (unsanitized) build";
#endif
    // The clone that would make the test's process fails: the launcher runs
    // alone in a cgroup v1 `pids` group with pids.max 1 (EAGAIN). Root only.
    const fs::path pids_root = "/sys/fs/cgroup/pids";
    if (::access((pids_root / "cgroup.procs").c_str(), W_OK) != 0)
        GTEST_SKIP() << "needs a writable cgroup v1 pids hierarchy at " << pids_root
                     << " (root); CI has one";
    auto root = fs::temp_directory_path() / ("corral-spawnfail-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    const fs::path group = pids_root / ("corral-spawnfail-" + std::to_string(::getpid()));
    ::rmdir(group.c_str());
    ASSERT_EQ(::mkdir(group.c_str(), 0755), 0) << std::strerror(errno);
    std::ofstream(group / "pids.max") << "1\n";
    int out_pipe[2];
    ASSERT_EQ(::pipe2(out_pipe, O_CLOEXEC), 0);
    const std::string err_path = (root / "err").string();
    const std::string procs = (group / "cgroup.procs").string();
    const double before =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (e < 0 || ::dup2(e, 2) < 0 || ::dup2(out_pipe[1], 1) < 0) ::_exit(90);
        int p = ::open(procs.c_str(), O_WRONLY);
        if (p < 0 || ::write(p, "0", 1) != 1) ::_exit(91);
        ::close(p);
        ::execl(CORRAL_EXE, CORRAL_EXE, "run", "--cgroup", "off", "--scratch-root", root.c_str(),
                "--json", "--", "/bin/true", static_cast<char*>(nullptr));
        ::_exit(93);
    }
    ::close(out_pipe[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(out_pipe[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    ::close(out_pipe[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_EQ(::rmdir(group.c_str()), 0) << std::strerror(errno);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string err;
    if (FILE* e = std::fopen(err_path.c_str(), "r")) {
        while (size_t n = std::fread(buf, 1, sizeof buf, e))
            err.append(buf, n);
        std::fclose(e);
    }
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 125) << err;
    ASSERT_NE(err.find("clone: Resource temporarily unavailable"), std::string::npos)
        << "not the pre-start path: " << err;
    auto rec = nlohmann::json::parse(out);
    EXPECT_GE(rec.at("start_unix").get<double>(), before - 1) << rec.at("start");
    EXPECT_LE(rec.at("start_unix").get<double>(), rec.at("end_unix").get<double>());
    EXPECT_LE(rec.at("wall_seconds").get<double>(), elapsed) << "the uptime, not a wall time";
    fs::remove_all(root);
}

// A parent that ignores SIGCHLD (inherited across exec) must not make the
// launcher lose its test: with SIG_IGN the kernel reaps children itself, the
// test's pidfd turns readable and wait(2) says ECHILD, and the launcher spun
// at 100 % CPU forever. It must end with the test's own exit code, and the
// test must see SIGCHLD ignored as it would without the launcher.
TEST(SpawnFailure, AParentThatIgnoresSigchldStillGetsTheTestsExitCode) {
    auto root = fs::temp_directory_path() / ("corral-sigchld-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    // grep itself, not through sh: a shell sets SIGCHLD back to default.
    auto s = spawn({CORRAL_EXE, "run", "--scratch-root", root.string(), "--", "grep", "^SigIgn",
                    "/proc/self/status"},
                   {}, /*capture=*/true, [] { ::signal(SIGCHLD, SIG_IGN); });
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 200 && done == 0; ++i) {  // 20 s at most: the bug never ended
        done = ::waitpid(s.pid, &status, WNOHANG);
        if (done == 0) ::usleep(100 * 1000);
    }
    if (done == 0) {
        ::kill(s.pid, SIGKILL);
        ::waitpid(s.pid, &status, 0);
        FAIL() << "corral run did not end in 20 s with SIGCHLD ignored by its parent";
    }
    char buf[256] = {};
    const ssize_t n = ::read(s.out_fd, buf, sizeof buf - 1);  // the child has ended: no wait
    ::close(s.out_fd);
    ::close(s.err_fd);
    fs::remove_all(root);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    // SigIgn is a hex mask; SIGCHLD (17) is bit 16: 0x10000.
    const std::string line(buf, n > 0 ? static_cast<size_t>(n) : 0);
    ASSERT_NE(line.find("SigIgn:"), std::string::npos) << line;
    const auto mask = std::stoull(line.substr(line.find_first_of("0123456789abcdef")), nullptr, 16);
    EXPECT_TRUE(mask & (1ull << (SIGCHLD - 1)))
        << "the test does not see SIGCHLD ignored: " << line;
}

// A timeout too long for a steady_clock deadline (int64 nanoseconds) overflowed
// and fired at once: --timeout 9300000000 killed `sleep` after 0.02 s.
TEST(SpawnFailure, AHugeTimeoutNeverFiresInsteadOfFiringAtOnce) {
    auto r = finish(spawn({CORRAL_EXE, "run", "--cgroup", "off", "--json", "--timeout",
                           "9300000000", "--", "sleep", "0.3"},
                          {}),
                    Clock::now());
    ASSERT_EQ(r.code, 0) << r.err;
    auto rec = nlohmann::json::parse(r.out);
    EXPECT_FALSE(rec.at("timed_out").get<bool>());
    EXPECT_GE(rec.at("wall_seconds").get<double>(), 0.3);
}

}  // namespace
