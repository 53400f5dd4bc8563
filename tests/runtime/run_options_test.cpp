// corral run's option values (runtime/run_options.hpp) and ctest's rules for
// finding a test's program (runtime/ctest_executable.hpp), without starting a
// process. The end-to-end half (exit codes of the real program) is
// RunOptionValues in run_test.cpp.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/ctest_executable.hpp"
#include "runtime/run_options.hpp"

namespace corral::launcher {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

Getenv env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

RunArgs with_command() {
    RunArgs a;
    a.options.command = {"true"};
    return a;
}

// One row: the option, how to set it on RunArgs, and what the message must say.
struct BadValue {
    const char* option;
    const char* value;
    void (*set)(RunArgs&, const std::string&);
    const char* expected;  // a piece of the "expected ..." text
};

const BadValue kBadValues[] = {
    {"--timeout", "abc", [](RunArgs& a, const std::string& v) { a.timeout = v; },
     "seconds above 0"},
    {"--timeout", "-5", [](RunArgs& a, const std::string& v) { a.timeout = v; }, "seconds above 0"},
    {"--timeout", "0", [](RunArgs& a, const std::string& v) { a.timeout = v; }, "seconds above 0"},
    {"--timeout", "1e3", [](RunArgs& a, const std::string& v) { a.timeout = v; },
     "seconds above 0"},
    {"--timeout-multiplier", "0",
     [](RunArgs& a, const std::string& v) { a.timeout_multiplier = v; }, "a number above 0"},
    {"--timeout-multiplier", "x",
     [](RunArgs& a, const std::string& v) { a.timeout_multiplier = v; }, "a number above 0"},
    {"--grace", "-1", [](RunArgs& a, const std::string& v) { a.grace = v; }, "0 to 3600"},
    {"--grace", "3601", [](RunArgs& a, const std::string& v) { a.grace = v; }, "0 to 3600"},
    {"--grace", "1.5", [](RunArgs& a, const std::string& v) { a.grace = v; }, "0 to 3600"},
    {"--leak-window", "-1", [](RunArgs& a, const std::string& v) { a.leak_window = v; },
     "0 to 600000"},
    {"--leak-window", "abc", [](RunArgs& a, const std::string& v) { a.leak_window = v; },
     "0 to 600000"},
    {"--keep-scratch-count", "-1",
     [](RunArgs& a, const std::string& v) { a.keep_scratch_count = v; }, "0 to 100000"},
    {"--keep-scratch-size", "zz", [](RunArgs& a, const std::string& v) { a.keep_scratch_size = v; },
     "such as 512M"},
    {"--keep-scratch-size", "1GB",
     [](RunArgs& a, const std::string& v) { a.keep_scratch_size = v; }, "ambiguous"},
    {"--memory-limit", "lots", [](RunArgs& a, const std::string& v) { a.memory_limit = v; },
     "such as 512M"},
    {"--memory-limit", "-1G", [](RunArgs& a, const std::string& v) { a.memory_limit = v; },
     "such as 512M"},
    {"--memory-limit", "1K", [](RunArgs& a, const std::string& v) { a.memory_limit = v; },
     "at least 4K"},
    {"--lock", "a/b", [](RunArgs& a, const std::string& v) { a.locks = {v}; }, "1 to 100 of"},
    {"--slots", "vm", [](RunArgs& a, const std::string& v) { a.slots = {v}; }, "TYPE:N"},
    {"--slots", "vm:0", [](RunArgs& a, const std::string& v) { a.slots = {v}; }, "1 to 4096"},
};

TEST(RunOptions, EveryBadCommandLineValueIsABadOptionNamingOptionValueAndExpectation) {
    for (const auto& row : kBadValues) {
        RunArgs a = with_command();
        row.set(a, row.value);
        try {
            resolve_run_args(a, env_of({}));
            ADD_FAILURE() << row.option << " " << row.value << " was accepted";
        } catch (const BadOption& e) {
            std::string m = e.what();
            EXPECT_EQ(m.rfind(row.option, 0), 0u) << m;
            EXPECT_THAT(m, HasSubstr(row.value)) << m;
            EXPECT_THAT(m, HasSubstr(row.expected)) << m;
        }
    }
}

TEST(RunOptions, GoodValuesAreConverted) {
    RunArgs a = with_command();
    a.timeout = "2.5";
    a.timeout_multiplier = "3";
    a.grace = "0";
    a.leak_window = "250";
    a.keep_scratch_count = "0";
    a.keep_scratch_size = "512M";
    a.memory_limit = "4K";
    a.locks = {"pkgcache"};
    a.slots = {"heavy_vm:4"};
    auto o = resolve_run_args(a, env_of({}));
    EXPECT_EQ(o.timeout_seconds, 2.5);
    EXPECT_EQ(o.timeout_multiplier, 3.0);
    EXPECT_EQ(o.grace_seconds, 0);
    EXPECT_EQ(o.leak_window_ms, 250);
    EXPECT_EQ(o.keep_scratch_count, 0u);
    EXPECT_EQ(o.keep_scratch_bytes, 512ull << 20);
    EXPECT_EQ(o.memory_limit_bytes, 4096u);
    EXPECT_EQ(o.locks, std::vector<std::string>{"pkgcache"});
    ASSERT_EQ(o.slots.size(), 1u);
    EXPECT_EQ(o.slots[0].count, 4);
    // The defaults are the command line's defaults.
    auto d = resolve_run_args(with_command(), env_of({}));
    EXPECT_EQ(d.grace_seconds, defaults::kGraceSeconds);
    EXPECT_EQ(d.leak_window_ms, Options{}.leak_window_ms);
    EXPECT_EQ(d.keep_scratch_count, Options{}.keep_scratch_count);
    EXPECT_EQ(d.keep_scratch_bytes, Options{}.keep_scratch_bytes);
    EXPECT_FALSE(d.timeout_seconds);
    EXPECT_FALSE(d.memory_limit_bytes);
}

// Values from the environment: the command line was right, so exit 125 (not 2).
TEST(RunOptions, BadEnvironmentValuesAreTheLaunchersFailure) {
    RunArgs a = with_command();
    a.timeout = "600";
    a.timeout_env = "MY_TIMEOUT";
    a.memory_limit_env = "MY_LIMIT";
    a.locks_env = "MY_LOCKS";
    auto o = resolve_run_args(
        a, env_of({{"MY_TIMEOUT", "1"}, {"MY_LIMIT", "1G"}, {"MY_LOCKS", "a,,b"}}));
    EXPECT_EQ(o.timeout_seconds, 1.0);
    EXPECT_EQ(o.memory_limit_bytes, 1ull << 30);
    EXPECT_EQ(o.locks, (std::vector<std::string>{"a", "b"}));
    // Unset or empty: the option's own value.
    o = resolve_run_args(a, env_of({{"MY_TIMEOUT", ""}}));
    EXPECT_EQ(o.timeout_seconds, 600.0);

    auto error_of = [&](std::map<std::string, std::string> env) -> std::string {
        try {
            resolve_run_args(a, env_of(env));
        } catch (const BadEnvironment& e) {
            return e.what();
        }
        return "accepted";
    };
    EXPECT_THAT(error_of({{"MY_TIMEOUT", "soon"}}), HasSubstr("$MY_TIMEOUT 'soon'"));
    EXPECT_THAT(error_of({{"MY_TIMEOUT", "-1"}}), HasSubstr("above 0"));
    EXPECT_THAT(error_of({{"MY_LIMIT", "lots"}}), HasSubstr("$MY_LIMIT"));
    EXPECT_THAT(error_of({{"MY_LIMIT", "1K"}}), HasSubstr("at least 4K"));
    EXPECT_THAT(error_of({{"MY_LOCKS", "ok,a/b"}}), HasSubstr("$MY_LOCKS"));
}

// --- ctest's rules for the command word (cmCTestTestHandler::FindExecutable) ---

class CtestExecutable : public testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-ctest-exe-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        old_cwd_ = fs::current_path();
        fs::current_path(dir_);
    }
    void TearDown() override {
        fs::current_path(old_cwd_);
        fs::remove_all(dir_);
    }
    void file(const fs::path& rel) {
        fs::create_directories((dir_ / rel).parent_path());
        std::ofstream(dir_ / rel) << "#!/bin/sh\n";
    }
    std::string at(const fs::path& rel) const { return (dir_ / rel).lexically_normal().string(); }
    fs::path dir_, old_cwd_;
};

TEST_F(CtestExecutable, TheWordAsWrittenFirstThenConfigurationDirectories) {
    file("bin/t");
    file("bin/Debug/t");
    file("bin/Release/t");
    EXPECT_EQ(ctest_find_executable("bin/t", "", ""), at("bin/t"));
    fs::remove(dir_ / "bin/t");
    // No configuration: Release, Debug, MinSizeRel, RelWithDebInfo, Deployment, Development.
    EXPECT_EQ(ctest_find_executable("bin/t", "", ""), at("bin/Release/t"));
    fs::remove(dir_ / "bin/Release/t");
    EXPECT_EQ(ctest_find_executable("bin/t", "", ""), at("bin/Debug/t"));
    file("bin/Development/u");
    EXPECT_EQ(ctest_find_executable("bin/u", "", ""), at("bin/Development/u"));
    // A configuration: only <dir>/<config>/<name> and <config>/<dir>/<name>.
    EXPECT_EQ(ctest_find_executable("bin/t", "Debug", ""), at("bin/Debug/t"));
    EXPECT_EQ(ctest_find_executable("bin/u", "Debug", ""), "");
    file("Bundle/bin/v");
    EXPECT_EQ(ctest_find_executable("bin/v", "Bundle", ""), at("Bundle/bin/v"));
}

TEST_F(CtestExecutable, AnAbsoluteWordIsAlsoTriedRelativeToTheWorkingDirectory) {
    file("opt/tool/x");
    EXPECT_EQ(ctest_find_executable("/opt/tool/x", "", ""), at("opt/tool/x"));
    file("y");
    EXPECT_EQ(ctest_find_executable("/y", "", ""), at("y"));
    // An absolute word that exists wins.
    EXPECT_EQ(ctest_find_executable(at("y"), "", ""), at("y"));
}

TEST_F(CtestExecutable, ABareNameIsLookedForHereThenOnPathOnly) {
    file("p1/tool");
    file("p2/tool");
    file("p2/other");
    fs::create_directories(dir_ / "p1/other");  // a directory never matches
    const std::string path = ":" + at("p1") + "::" + at("p2");
    EXPECT_EQ(ctest_find_executable("tool", "", path), at("p1") + "/tool");
    EXPECT_EQ(ctest_find_executable("other", "", path), at("p2") + "/other");
    file("tool");
    EXPECT_EQ(ctest_find_executable("tool", "", path), at("tool"));  // the working directory first
    // A word with a directory never goes to $PATH.
    EXPECT_EQ(ctest_find_executable("sub/other", "", path), "");
    EXPECT_EQ(ctest_find_executable("missing", "", path), "");
}

}  // namespace
}  // namespace corral::launcher
