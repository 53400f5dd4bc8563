// The harness of the end-to-end `corral run` tests (run_test.cpp,
// launch_test.cpp): spawn the real program (tests/support/spawn.hpp), read its
// output, its records.
#pragma once

#include "tests/support/build_scopes.hpp"

#include <signal.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "kernel/process.hpp"
#include "tests/support/spawn.hpp"

namespace {

[[maybe_unused]] std::vector<nlohmann::json> read_records(const fs::path& p) {
    std::vector<nlohmann::json> out;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line))
        out.push_back(nlohmann::json::parse(line));
    return out;
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
        corral::test::remove_build_scopes(dir_);
        fs::remove_all(dir_);
    }

    // A unique `sleep` argument: identifies this test's processes.
    std::string token() {
        static int n = 0;
        std::string t =
            corral::cat({"9", std::to_string(::getpid() % 100000), std::to_string(100 + n++)});
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
