// The harness of the end-to-end `corral run` tests (run_test.cpp,
// launch_test.cpp): spawn the real program, read its output, its records.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernel/process.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
    int code = -1;
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

[[maybe_unused]] std::vector<nlohmann::json> read_records(const fs::path& p) {
    std::vector<nlohmann::json> out;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line))
        out.push_back(nlohmann::json::parse(line));
    return out;
}

[[maybe_unused]] std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class Run : public testing::Test {
  protected:
    void SetUp() override {
        static int counter = 0;
        dir_ = fs::temp_directory_path() /
               ("corral-r1-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(dir_ / "scratch");
        fs::create_directories(dir_ / "runtime");
        env_ = {{"CORRAL_RUNTIME_DIR", (dir_ / "runtime").string()}};
        records_ = dir_ / "records.jsonl";
    }

    void TearDown() override {
        // Kill only what this test started: processes carrying our tokens.
        for (pid_t pid : with_tokens())
            ::kill(pid, SIGKILL);
        fs::remove_all(dir_);
    }

    // A unique `sleep` argument: identifies this test's processes.
    std::string token() {
        static int n = 0;
        std::string t = "9" + std::to_string(::getpid() % 100000) + std::to_string(100 + n++);
        tokens_.insert(t);
        return t;
    }

    std::vector<pid_t> with_tokens() const {
        std::vector<pid_t> out;
        for (pid_t p : corral::proc::list_pids()) {
            auto info = corral::proc::read_process(p);
            if (!info || info->state == 'Z') continue;
            for (const auto& a : info->argv)
                if (tokens_.count(a)) out.push_back(p);
        }
        return out;
    }

    std::vector<std::string> corral(std::vector<std::string> args) const {
        std::vector<std::string> v = {CORRAL_EXE,       "run",
                                      "--scratch-root", (dir_ / "scratch").string(),
                                      "--records",      records_.string()};
        v.insert(v.end(), args.begin(), args.end());
        return v;
    }

    Result run(std::vector<std::string> args, std::map<std::string, std::string> extra_env = {}) {
        auto env = env_;
        env.insert(extra_env.begin(), extra_env.end());
        auto t0 = Clock::now();
        return finish(spawn(corral(std::move(args)), env), t0);
    }

    nlohmann::json last_record() const {
        auto all = read_records(records_);
        if (all.empty()) return nlohmann::json::object();
        return all.back();
    }

    fs::path dir_;
    fs::path records_;
    std::map<std::string, std::string> env_;
    std::set<std::string> tokens_;
};

}  // namespace
