// Acceptance: the plan's test parallel level holds under plain `ctest -j8`.
// tests/generator/data/cpu-bound plans for 2 CPUs (corral_setup(CPUS 2)); its
// tests log when they start and end and how many of the plan's CPUs they hold.
// From those timestamps: the CPUs held at once never exceed 2 (the `cpus`
// resource every Corral test takes), on this machine's CMake and the two newer
// releases; and the control, corral_setup's CPU_BOUND off, really runs more than
// 2 at once, so the bound is what holds them back.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>

#include "generator_test_util.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::slurp;
using test::TempDir;

struct Concurrency {
    int tests = 0;  // most tests running at one instant
    int cpus = 0;   // most CPUs held at one instant
    int ended = 0;  // tests that logged their end
};

// "start|end <epoch seconds> <name> <cpus held>" lines.
Concurrency measure(const std::string& log) {
    struct Event {
        double t;
        int tests, cpus;
    };
    std::vector<Event> events;
    Concurrency c;
    std::istringstream in(log);
    std::string kind, name;
    double t = 0;
    int cpus = 0;
    while (in >> kind >> t >> name >> cpus) {
        int sign = kind == "start" ? 1 : -1;
        if (sign < 0) ++c.ended;
        events.push_back({t, sign, sign * cpus});
    }
    // Ends before starts at the same instant: touching is not overlapping.
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
        return a.t != b.t ? a.t < b.t : a.tests < b.tests;
    });
    int tests = 0, held = 0;
    for (const auto& e : events) {
        tests += e.tests;
        held += e.cpus;
        c.tests = std::max(c.tests, tests);
        c.cpus = std::max(c.cpus, held);
    }
    return c;
}

class CpuBound : public ::testing::TestWithParam<int> {};

// The CMake release the test runs on (0: this machine's), the cpu-bound
// project and Corral's build tree; nullopt when the release is not installed.
struct Release {
    std::string cmake, ctest;
    fs::path source, corral_dir;
};
std::optional<Release> release(int index) {
    auto cmakes = test::cmake_releases("cmake");
    auto ctests = test::cmake_releases("ctest");
    if (index >= static_cast<int>(cmakes.size())) return std::nullopt;
    return Release{cmakes.at(index), ctests.at(index),
                   fs::path(CORRAL_SOURCE_DIR) / "tests/generator/data/cpu-bound",
                   fs::path(CORRAL_EXE).parent_path().parent_path()};
}

TEST_P(CpuBound, CtestJ8OnATwoCpuPlanHoldsTwo) {
    auto r = release(GetParam());
    if (!r) GTEST_SKIP() << "CMake release " << GetParam() << " is not installed: run ./bootstrap";
    const auto& [cmake, ctest, source, corral_dir] = *r;
    SCOPED_TRACE(cmake);
    TempDir dir("cpu-bound");

    auto run_suite = [&](const std::string& tag, std::vector<std::string> extra) {
        auto build = dir / tag;
        std::vector<std::string> configure = {
            cmake, "-S",           source.string(),
            "-B",  build.string(), "-DCorral_DIR=" + corral_dir.string()};
        configure.insert(configure.end(), extra.begin(), extra.end());
        auto c = run(configure);
        EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
        auto t = run({ctest, "--test-dir", build.string(), "-j8", "--output-on-failure"});
        EXPECT_EQ(t.exit_code, 0) << t.out << t.err;
        return measure(slurp(build / "times.log"));
    };

    auto bound = run_suite("bound", {});
    EXPECT_EQ(bound.ended, 8);
    EXPECT_LE(bound.cpus, 2) << "ctest -j8 ran tests holding more than the plan's 2 CPUs";
    EXPECT_LE(bound.tests, 2);
    EXPECT_EQ(bound.tests, 2) << "the one-CPU tests should still run two at a time";

    // The control: without the bound, -j8 runs more than 2 at once.
    auto free = run_suite("unbound", {"-DCORRAL_CPU_BOUND=OFF"});
    EXPECT_EQ(free.ended, 8);
    EXPECT_GT(free.tests, 2) << "without the CPU bound ctest -j8 should run more than 2";
    std::cout << "ctest -j8, 2-CPU plan: at most " << bound.tests << " tests holding " << bound.cpus
              << " CPUs at once; with CPU_BOUND OFF: " << free.tests << " tests at once\n";
}

// The spec made when ctest starts can have fewer cpus slots than the
// configure-time plan (a smaller machine; here CORRAL_PARALLEL_LEVEL=1 for
// ctest alone): a test asking more (CPUS 2, CPUS 4) holds all of them and runs
// alone. Before, its cpus:2 stayed above the spec's 1 slot and ctest never ran
// it ("Not Run": "Insufficient resources").
TEST_P(CpuBound, ATestAskingMoreCpusThanTheTestTimeSpecHasRunsAlone) {
    auto r = release(GetParam());
    if (!r) GTEST_SKIP() << "CMake release " << GetParam() << " is not installed: run ./bootstrap";
    const auto& [cmake, ctest, source, corral_dir] = *r;
    SCOPED_TRACE(cmake);
    TempDir dir("cpu-fewer");
    auto build = dir / "b";
    auto c = run({cmake, "-S", source.string(), "-B", build.string(),
                  "-DCorral_DIR=" + corral_dir.string()});
    ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
    auto t = run({ctest, "--test-dir", build.string(), "-j8", "--output-on-failure"}, ".",
                 {{"CORRAL_PARALLEL_LEVEL", "1"}});
    EXPECT_EQ(t.exit_code, 0) << t.out << t.err;
    EXPECT_EQ(t.out.find("Not Run"), std::string::npos) << t.out;
    auto ran = measure(slurp(build / "times.log"));
    EXPECT_EQ(ran.ended, 8) << t.out;
    EXPECT_EQ(ran.tests, 1) << "the test-time spec has 1 cpus slot: one test at a time";
}

std::string release_name(const ::testing::TestParamInfo<int>& info) {
    static const char* names[] = {"system_cmake", "cmake_3_29", "cmake_4_3"};
    return names[info.param];
}

INSTANTIATE_TEST_SUITE_P(Releases, CpuBound, ::testing::Values(0, 1, 2), release_name);

// The spec carries the bound and the report says what ctest will do.
TEST(CpuBoundPlan, SpecAndReportCarryTheTestParallelLevel) {
    TempDir dir("cpu-plan");
    auto r = run({CORRAL_EXE, "generate", "--out", (dir / "out").string(), "--cpus", "3",
                  "--memory", "16G"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto spec = slurp(dir / "out/resources.json");
    EXPECT_NE(spec.find("\"cpus\": [\n        {\n          \"id\": \"0\",\n          \"slots\": 3"),
              std::string::npos)
        << spec;
    auto report = slurp(dir / "out/report.txt");
    EXPECT_NE(report.find("ctest -jN with this spec: at most 3 Corral tests at once"),
              std::string::npos)
        << report;
    auto plan = run({CORRAL_EXE, "plan", "--cpus", "3", "--memory", "16G"});
    EXPECT_NE(plan.out.find("at most 3 Corral tests at once"), std::string::npos) << plan.out;
    auto level = run({CORRAL_EXE, "spec", "--cpus", "3", "--memory", "16G"}, ".",
                     {{"CORRAL_PARALLEL_LEVEL", "5"}});
    EXPECT_NE(level.out.find("\"cpus\""), std::string::npos) << level.out;
    EXPECT_NE(level.out.find("\"slots\": 5"), std::string::npos)
        << "tests.parallel_level / CORRAL_PARALLEL_LEVEL sets the bound:\n"
        << level.out;
}

}  // namespace
}  // namespace corral
