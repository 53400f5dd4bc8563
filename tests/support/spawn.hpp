// Process spawning for the end-to-end tests (tests/runtime/run_harness.hpp,
// tests/report/report_e2e_test.cpp): start a real program with a few
// environment entries, capture what it prints, wait for it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
    int code = -1;  // the exit code, or 128 + the signal
    std::string out;
    std::string err;
    double seconds = 0;
};

struct Spawned {
    pid_t pid = -1;
    int out_fd = -1;
    int err_fd = -1;
};

// Starts `args` with `env` added; stdout/stderr captured (or /dev/null).
// `before_exec` runs in the child just before the environment is set and
// exec(3) is called (a test's own world: umask, cwd, limits, signals).
Spawned spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              bool capture = true, const std::function<void()>& before_exec = {}) {
    int out[2], err[2];
    if (capture && (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)) std::abort();
    pid_t pid = ::fork();
    if (pid == 0) {
        if (capture) {
            ::dup2(out[1], 1);
            ::dup2(err[1], 2);
        } else {
            int null = ::open("/dev/null", O_RDWR);
            ::dup2(null, 1);
            ::dup2(null, 2);
        }
        if (before_exec) before_exec();
        for (const auto& [k, v] : env)
            ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> argv;
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    Spawned s;
    s.pid = pid;
    if (capture) {
        ::close(out[1]);
        ::close(err[1]);
        s.out_fd = out[0];
        s.err_fd = err[0];
    }
    return s;
}

// Reads both pipes to EOF (so a process holding them open shows), then waits.
Result finish(const Spawned& s, Clock::time_point t0) {
    Result r;
    std::vector<pollfd> fds;
    if (s.out_fd >= 0) fds.push_back({s.out_fd, POLLIN, 0});
    if (s.err_fd >= 0) fds.push_back({s.err_fd, POLLIN, 0});
    while (!fds.empty()) {
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
        for (size_t i = 0; i < fds.size();) {
            if (fds[i].revents) {
                char buf[4096];
                ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
                if (n > 0) {
                    (fds[i].fd == s.out_fd ? r.out : r.err).append(buf, static_cast<size_t>(n));
                } else {
                    ::close(fds[i].fd);
                    fds.erase(fds.begin() + static_cast<long>(i));
                    continue;
                }
            }
            ++i;
        }
    }
    int status = 0;
    ::waitpid(s.pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

[[maybe_unused]] std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `args` like spawn() with stdout and stderr written to `out_file` and
// `err_file` (no pipe a leaked grandchild could hold open: ctest under test
// may leave one), waits, and returns their contents.
[[maybe_unused]] Result run_to_files(const std::vector<std::string>& args,
                                     const std::map<std::string, std::string>& env,
                                     const fs::path& out_file, const fs::path& err_file) {
    auto t0 = Clock::now();
    auto s = spawn(args, env, /*capture=*/false, [&] {
        int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ::dup2(out, 1);
        ::dup2(err, 2);
    });
    Result r = finish(s, t0);
    r.out = slurp(out_file);
    r.err = slurp(err_file);
    return r;
}

}  // namespace
