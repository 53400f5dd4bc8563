// Helpers for the generator tests: a hand-built plan, unique temporary
// directories, running a real program with its output captured.
#pragma once

#include "tests/support/build_scopes.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace corral::test {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void spit(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

// A directory unique to this process and tag, removed on destruction.
class TempDir {
  public:
    explicit TempDir(const std::string& tag) {
        path_ = fs::temp_directory_path() / ("corral-g2-" + tag + "-" + std::to_string(::getpid()) +
                                             "-" + std::to_string(counter()++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        corral::test::remove_build_scopes(path_);
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

  private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    fs::path path_;
};

struct RunResult {
    int exit_code = -1;  // 128 + signal when killed
    std::string out;
    std::string err;
};

// Runs argv (no shell) in `cwd` with extra environment entries; captures
// stdout and stderr through files (no pipe deadlock on large output).
inline RunResult run(const std::vector<std::string>& argv, const fs::path& cwd = ".",
                     const std::map<std::string, std::string>& env = {}) {
    static int n = 0;
    auto base = fs::temp_directory_path() /
                ("corral-g2-run-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    auto out_path = base.string() + ".out", err_path = base.string() + ".err";
    pid_t pid = ::fork();
    if (pid == 0) {
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
        if (::chdir(cwd.c_str()) != 0) ::_exit(126);
        for (const auto& [k, v] : env)
            ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    RunResult r;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    fs::remove(out_path);
    fs::remove(err_path);
    return r;
}

// A plan as the planner would make it for a 4-CPU, 4 GiB runner.
inline Plan sample_plan() {
    Plan p;
    p.cpus = 4;
    p.cpus_source = "--cpus";
    p.memory_bytes = 4ull << 30;
    p.memory_source = "--memory";
    p.memory_budget_bytes = 3584ull << 20;
    p.memory_budget_reason = "4 GiB minus the 512 MiB reserve";
    p.test_parallel_level = 4;
    p.test_parallel_reason = "4 CPUs";
    p.build_parallel_level = 4;
    p.resources = {
        {"mem_mib", {{"0", 3584, "memory budget", "", "", ""}}, "one slot per MiB of the budget"},
        {"heavy_io", {{"tmp", 4, "/tmp (ext4)", "/tmp", "", ""}}, "4 per scratch filesystem"},
        {"gpus", {}, "no GPU found"},
    };
    p.pools = {{"compile", 1, "3.5 GiB budget / 2 GiB per compile job"},
               {"link", 1, "3.5 GiB budget / 8 GiB per link job, at least 1"}};
    p.scratch_dir = "/tmp";
    p.scratch_reason = "the only candidate";
    p.timeout_multiplier = 1.0;
    p.test_timeout_seconds = 1500;
    p.job_timeout_minutes = defaults::kJobTimeoutMinutes;
    p.env = {{"CTEST_PARALLEL_LEVEL", "4", ""},
             {"CMAKE_BUILD_PARALLEL_LEVEL", "4", ""},
             {"MAKEFLAGS", "-j4", ""},
             {"TMPDIR", "/tmp", ""}};
    p.warnings = {
        {WarningCode::memory_tight, "the 3.5 GiB budget fits 7 tests of 512 MiB, fewer than 8"}};
    return p;
}

// `tool` (cmake or ctest) of the system CMake, then of the newer releases
// ./bootstrap installs under build/tools; a release not installed is said, not tried.
inline std::vector<std::string> cmake_releases(const char* tool) {
    std::vector<std::string> found = {tool};
    auto tools = fs::path(CORRAL_SOURCE_DIR) / "build/tools/node_modules";
    for (const char* version : {"cmake-3.29", "cmake-4.3"}) {
        auto exe = tools / version / "bin" / tool;
        if (fs::exists(exe))
            found.push_back(exe.string());
        else
            std::cout << "note: " << version << " not installed (./bootstrap); not tried\n";
    }
    return found;
}

}  // namespace corral::test
