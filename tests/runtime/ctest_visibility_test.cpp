// Issue 10 item 6: what the launcher finds is in plain sight in ctest's own
// output, with default settings. A real project using find_package(Corral)
// from this build tree, configured and run by real cmake/ctest of each
// version this machine has (Debian's, and the 3.29 / 4.3 test tools): the
// result line of a leaking test and of a test the launcher timed out must
// name the reason, not just "Passed" / "***Failed".
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

struct Result {
    int code = -1;
    std::string out;
};

// Runs argv with stdout+stderr captured to a file; no shell.
Result run(const std::vector<std::string>& argv, const fs::path& log) {
    pid_t pid = ::fork();
    if (pid == 0) {
        FILE* f = std::fopen(log.c_str(), "w");
        if (!f) ::_exit(126);
        ::dup2(fileno(f), 1);
        ::dup2(fileno(f), 2);
        std::vector<char*> a;
        for (const auto& s : argv)
            a.push_back(const_cast<char*>(s.c_str()));
        a.push_back(nullptr);
        ::execv(a[0], a.data());
        ::_exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    Result r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    r.out = ss.str();
    return r;
}

// The ctest result line of one test ("N/M Test #K: name ....   Passed ...").
std::string result_line(const std::string& out, const std::string& name) {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
        if (line.find("Test #") != std::string::npos &&
            line.find(": " + name + " ") != std::string::npos)
            return line;
    return "";
}

class CtestVisibility : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-vis-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(base_, ec);
    }
    fs::path base_;
};

TEST_P(CtestVisibility, LeakAndTimeoutAreNamedInTheResultLine) {
    fs::path cmake = GetParam();
    if (cmake.is_relative()) cmake = fs::path(CORRAL_SOURCE_DIR) / cmake;
    ASSERT_TRUE(fs::exists(cmake)) << cmake << " is missing (./bootstrap installs the test tools)";
    fs::path ctest = cmake.parent_path() / "ctest";
    auto src = base_ / "src";
    fs::create_directories(src);
    // Default settings: no LEAK, no regex of our own.
    std::ofstream(src / "CMakeLists.txt")
        << "cmake_minimum_required(VERSION 3.16)\n"
        << "project(visible NONE)\nenable_testing()\n"
        << "find_package(Corral REQUIRED)\n"
        << "corral_setup(SPEC_AT_TEST_TIME OFF SCOPE_DIR \"" << (base_ / "scope").string()
        << "\" GRACE 1)\n"
        << "corral_add_test(NAME leaky COMMAND sh -c \"sleep 3600 & echo started\")\n"
        << "corral_add_test(NAME hangs TIMEOUT 1 COMMAND sleep 3600)\n"
        << "corral_add_test(NAME fine COMMAND sh -c \"exit 0\")\n"
        << "corral_add_test(NAME fails COMMAND sh -c \"exit 1\")\n";
    auto build = base_ / "b";
    auto cfg = run({cmake.string(), "-S", src.string(), "-B", build.string(),
                    "-DCorral_DIR=" + std::string(CORRAL_BUILD_DIR)},
                   base_ / "configure.log");
    ASSERT_EQ(cfg.code, 0) << cfg.out;
    auto r = run({ctest.string(), "--test-dir", build.string(), "-j", "2"}, base_ / "ctest.log");
    EXPECT_NE(r.code, 0) << r.out;

    auto leaky = result_line(r.out, "leaky");
    EXPECT_NE(leaky.find("***Failed"), std::string::npos) << r.out;
    EXPECT_NE(leaky.find("Regex=[corral run: LEAK-FAIL:]"), std::string::npos) << r.out;
    auto hangs = result_line(r.out, "hangs");
    EXPECT_NE(hangs.find("***Failed"), std::string::npos) << r.out;
    EXPECT_NE(hangs.find("Regex=[corral run: TIMEOUT:]"), std::string::npos) << r.out;
    // An ordinary failure and a pass are left as they were.
    auto fails = result_line(r.out, "fails");
    EXPECT_NE(fails.find("***Failed"), std::string::npos) << r.out;
    EXPECT_EQ(fails.find("Regex="), std::string::npos) << r.out;
    EXPECT_NE(result_line(r.out, "fine").find("Passed"), std::string::npos) << r.out;
    // The cleanup fixture accepted the scope corral_setup made (item 5).
    EXPECT_NE(result_line(r.out, "corral.reap").find("Passed"), std::string::npos) << r.out;
}

const char* const kVersionNames[] = {"Debian", "Cmake3_29", "Cmake4_3"};

std::string version_name(const ::testing::TestParamInfo<std::string>& info) {
    return kVersionNames[info.index];
}

INSTANTIATE_TEST_SUITE_P(Versions, CtestVisibility,
                         ::testing::Values(std::string(CMAKE_EXE),
                                           "build/tools/node_modules/cmake-3.29/bin/cmake",
                                           "build/tools/node_modules/cmake-4.3/bin/cmake"),
                         version_name);

}  // namespace
