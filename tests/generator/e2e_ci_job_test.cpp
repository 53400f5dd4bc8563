// Acceptance: every generated CI job (GitHub and Forgejo; printed by `corral ci`
// and written by `corral generate`) runs the project's tests when a runner runs
// it step by step (runner_emulation.hpp): on examples/quickstart (corral_setup,
// spec made when ctest starts), examples/cmake-3.16 (SPEC_AT_TEST_TIME OFF) and a
// project that does not use Corral's CMake package, with this machine's CMake and
// the two newer releases ./bootstrap installs. The runner has corral installed
// (an install prefix whose bin/ is on PATH, as /usr would be) and nothing else.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "generator_test_util.hpp"
#include "runner_emulation.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::slurp;
using test::TempDir;

struct Project {
    const char* name;
    fs::path source;
    std::set<std::string> tests;  // every test the job must run and pass
    bool corral;                  // uses find_package(Corral) + corral_setup()
};

std::vector<Project> projects() {
    fs::path src = CORRAL_SOURCE_DIR;
    return {
        {"quickstart",
         src / "examples/quickstart",
         {"quickstart.plain", "quickstart.memory", "quickstart.disk", "corral.reap"},
         true},
        {"cmake316",
         src / "examples/cmake-3.16",
         {"c316.granted", "c316.default", "c316.elsewhere", "corral.reap"},
         true},
        {"no_corral",
         src / "tests/generator/data/no-corral",
         {"plain.echo", "plain_old_signature", "plain.granted", "sub.echo"},
         false},
    };
}

// The names ctest reported as Passed ("  1/4 Test #1: name ....   Passed  0.01 sec").
std::set<std::string> passed_tests(const std::string& log) {
    std::set<std::string> out;
    static const std::regex line(R"(Test +#[0-9]+: +(\S+) \.*\s+Passed)");
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
        out.insert((*it)[1]);
    return out;
}

const test::StepOutcome* find_step(const test::JobOutcome& job, const std::string& name) {
    for (const auto& s : job.steps)
        if (s.name == name) return &s;
    return nullptr;
}

// The Report step ran; the artifact corral-report holds summary.md, junit.xml
// (one testcase per test, parsed by Python's xml.etree) and report.html; on
// GitHub the Markdown table reached $GITHUB_STEP_SUMMARY. A project without
// corral_setup() has no records: the step says so and the artifact is empty.
// corral.reap (corral_setup's cleanup) is `corral reap` itself, not run under
// `corral run`: it leaves no record and is not in the report.
void check_report(const test::JobOutcome& job, const test::RunnerSetup& runner,
                  std::set<std::string> tests, bool github, bool corral) {
    tests.erase("corral.reap");
    const auto* report = find_step(job, "Report");
    ASSERT_NE(report, nullptr) << job.transcript();
    ASSERT_EQ(job.artifacts.size(), 1u) << job.transcript();
    const auto& artifact = job.artifacts[0];
    EXPECT_EQ(artifact.name, "corral-report");
    if (!corral) {
        EXPECT_NE(report->log.find("no report"), std::string::npos) << report->log;
        EXPECT_TRUE(artifact.files.empty());
        return;
    }
    EXPECT_EQ(artifact.files.size(), 3u) << job.transcript();
    EXPECT_TRUE(artifact.missing.empty()) << job.transcript();
    auto dir = runner.workspace / "build/corral-report";
    auto md = slurp(dir / "summary.md");
    EXPECT_NE(md.find("|---"), std::string::npos) << md;
    for (const auto& t : tests)
        EXPECT_NE(md.find(t), std::string::npos) << t << " not in\n" << md;
    if (github)
        EXPECT_EQ(job.step_summary, md);
    else
        EXPECT_EQ(job.step_summary, "");  // Forgejo shows no step summary: not written
    auto junit = run({"python3", "-c",
                      "import sys, xml.etree.ElementTree as E\n"
                      "r = E.parse(sys.argv[1]).getroot()\n"
                      "print(sorted(c.get('name') for c in r.iter('testcase')))",
                      (dir / "junit.xml").string()});
    ASSERT_EQ(junit.exit_code, 0) << junit.err;
    std::string expected = "[";
    for (const auto& t : tests)
        expected += (expected.size() > 1 ? ", '" : "'") + t + "'";
    EXPECT_EQ(junit.out, expected + "]\n");
    EXPECT_TRUE(fs::exists(dir / "report.html"));
}

class CiJob : public ::testing::TestWithParam<std::tuple<int, int>> {
  protected:
    // One installed corral for all cases: the runner's /usr.
    static void SetUpTestSuite() {
        prefix_ = new TempDir("ci-job-prefix");
        auto build = fs::path(CORRAL_EXE).parent_path().parent_path();
        auto r = run({"cmake", "--install", build.string(), "--prefix", prefix_->path().string()});
        install_error_ = r.exit_code == 0 ? "" : r.out + r.err;
    }
    static void TearDownTestSuite() {
        delete prefix_;
        prefix_ = nullptr;
    }
    static TempDir* prefix_;
    static std::string install_error_;
};
TempDir* CiJob::prefix_ = nullptr;
std::string CiJob::install_error_;

TEST_P(CiJob, EveryGeneratedJobRunsTheTestsUnderOneSpec) {
    ASSERT_EQ(install_error_, "");
    const auto [project_index, cmake_index] = GetParam();
    const Project project = projects().at(project_index);
    auto cmakes = test::cmake_releases("cmake");
    if (cmake_index >= static_cast<int>(cmakes.size()))
        GTEST_SKIP() << "CMake release " << cmake_index << " is not installed: run ./bootstrap";
    const fs::path cmake = cmakes.at(cmake_index);
    auto version = run({cmake.string(), "--version"}).out;
    version = version.substr(0, version.find('\n'));
    SCOPED_TRACE(std::string(project.name) + " with " + version);

    TempDir dir("ci-job");
    const auto corral = (prefix_->path() / "bin/corral").string();
    // The four generated jobs: printed by `corral ci`, written by `corral generate`.
    std::vector<std::pair<std::string, std::string>> jobs;
    for (const char* forge : {"--github", "--forgejo"}) {
        auto r = run({corral, "ci", forge});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        jobs.emplace_back(std::string("corral ci ") + forge, r.out);
    }
    auto gen = run({corral, "generate", "--out", (dir / "generated").string()});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    for (const char* file : {"github-workflow.yml", "forgejo-workflow.yml"})
        jobs.emplace_back(std::string("corral generate: ") + file, slurp(dir / "generated" / file));

    std::string path = (prefix_->path() / "bin").string() + ":";
    if (cmake.has_parent_path()) path += cmake.parent_path().string() + ":";
    path += "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    int n = 0;
    for (const auto& [source, text] : jobs) {
        SCOPED_TRACE(source);
        auto root = dir / ("run" + std::to_string(n++));
        test::RunnerSetup runner;
        runner.workspace = root / "workspace";
        runner.scratch = root / "runner";
        fs::create_directories(root / "home");
        runner.env = {{"PATH", path},
                      {"HOME", (root / "home").string()},
                      {"LANG", "C.UTF-8"},
                      {"CI", "true"},
                      {"GITHUB_ACTIONS", "true"}};
        // actions/checkout: the project's files in the workspace.
        fs::copy(project.source, runner.workspace, fs::copy_options::recursive);

        auto job = test::run_job(text, runner);
        ASSERT_TRUE(job.success) << job.transcript();
        const auto* test_step_ptr = find_step(job, "Test");
        ASSERT_NE(test_step_ptr, nullptr) << job.transcript();
        const auto& test_step = *test_step_ptr;
        EXPECT_EQ(passed_tests(test_step.log), project.tests) << test_step.log;
        EXPECT_NE(test_step.log.find("100% tests passed, 0 tests failed out of " +
                                     std::to_string(project.tests.size())),
                  std::string::npos)
            << test_step.log;
        auto build = runner.workspace / "build";
        EXPECT_EQ(fs::exists(build / "CorralResourceSpec.txt"), project.corral);
        check_report(job, runner, project.tests, source.find("forgejo") == std::string::npos,
                     project.corral);
        if (project.name == std::string("quickstart")) {
            // Each test was granted its group: ctest had a spec and the tests declare cpus.
            auto last = slurp(build / "Testing/Temporary/LastTest.log");
            EXPECT_NE(last.find("CTEST_RESOURCE_GROUP_COUNT=1"), std::string::npos) << last;
            EXPECT_EQ(last.find("CTEST_RESOURCE_GROUP_COUNT=(unset)"), std::string::npos) << last;
        }
    }
}

std::string case_name(const ::testing::TestParamInfo<CiJob::ParamType>& info) {
    static const char* cmake[] = {"system_cmake", "cmake_3_29", "cmake_4_3"};
    return std::string(projects().at(std::get<0>(info.param)).name) + "_" +
           cmake[std::get<1>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(Runner, CiJob,
                         ::testing::Combine(::testing::Values(0, 1, 2), ::testing::Values(0, 1, 2)),
                         case_name);

// A job that runs no test fails (--no-tests=error), instead of a green CI that
// tested nothing.
TEST(CiJobNoTests, AJobThatRunsNoTestFails) {
    TempDir dir("ci-job-empty");
    auto r = run({CORRAL_EXE, "ci", "--github"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    test::RunnerSetup runner;
    runner.workspace = dir / "workspace";
    runner.scratch = dir / "runner";
    fs::create_directories(runner.workspace);
    fs::create_directories(dir / "home");
    test::spit(runner.workspace / "CMakeLists.txt",
               "cmake_minimum_required(VERSION 3.16)\nproject(empty NONE)\nenable_testing()\n");
    runner.env = {
        {"PATH", fs::path(CORRAL_EXE).parent_path().string() + ":/usr/local/bin:/usr/bin:/bin"},
        {"HOME", (dir / "home").string()},
        {"LANG", "C.UTF-8"}};
    auto job = test::run_job(r.out, runner);
    EXPECT_FALSE(job.success) << job.transcript();
    const auto* test_step = find_step(job, "Test");
    ASSERT_NE(test_step, nullptr) << job.transcript();
    EXPECT_NE(test_step->exit_code, 0);
    EXPECT_NE(test_step->log.find("No tests were found"), std::string::npos) << job.transcript();
}

// A failing test: the job fails, and the Report step still runs after it (its
// `if: !cancelled()`), names the failing test in the step summary and the
// JUnit file, and the report is kept as an artifact.
TEST(CiJobFailingTest, TheReportRunsAlsoWhenATestFails) {
    TempDir dir("ci-job-fail");
    auto prefix = dir / "prefix";
    auto build = fs::path(CORRAL_EXE).parent_path().parent_path();
    auto inst = run({"cmake", "--install", build.string(), "--prefix", prefix.string()});
    ASSERT_EQ(inst.exit_code, 0) << inst.out << inst.err;
    auto r = run({CORRAL_EXE, "ci", "--github"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    test::RunnerSetup runner;
    runner.workspace = dir / "workspace";
    runner.scratch = dir / "runner";
    fs::copy(fs::path(CORRAL_SOURCE_DIR) / "examples/quickstart", runner.workspace,
             fs::copy_options::recursive);
    {
        std::ofstream cm(runner.workspace / "CMakeLists.txt", std::ios::app);
        cm << "corral_add_test(NAME quickstart.fails COMMAND ${CMAKE_COMMAND} -E false)\n";
    }
    fs::create_directories(dir / "home");
    runner.env = {{"PATH", (prefix / "bin").string() + ":/usr/local/bin:/usr/bin:/bin"},
                  {"HOME", (dir / "home").string()},
                  {"LANG", "C.UTF-8"}};
    auto job = test::run_job(r.out, runner);
    EXPECT_FALSE(job.success) << job.transcript();
    const auto* test_step = find_step(job, "Test");
    ASSERT_NE(test_step, nullptr) << job.transcript();
    EXPECT_NE(test_step->exit_code, 0) << job.transcript();
    const auto* report = find_step(job, "Report");
    ASSERT_NE(report, nullptr) << "the report did not run after the failing tests\n"
                               << job.transcript();
    EXPECT_EQ(report->exit_code, 1) << job.transcript();  // the run failed
    EXPECT_NE(job.step_summary.find("quickstart.fails"), std::string::npos) << job.step_summary;
    ASSERT_EQ(job.artifacts.size(), 1u) << job.transcript();
    EXPECT_TRUE(job.artifacts[0].missing.empty()) << job.transcript();
    auto junit = slurp(runner.workspace / "build/corral-report/junit.xml");
    EXPECT_NE(junit.find("name=\"quickstart.fails\""), std::string::npos) << junit;
    EXPECT_NE(junit.find("<failure"), std::string::npos) << junit;
}

// The emulation itself: $GITHUB_ENV (both forms) and the job env reach later
// steps, working-directory holds, and a failing step stops the job.
TEST(RunnerEmulation, CarriesEnvironmentAndStopsAtTheFirstFailure) {
    TempDir dir("runner");
    test::RunnerSetup runner;
    runner.workspace = dir / "ws";
    runner.scratch = dir / "scratch";
    fs::create_directories(runner.workspace / "sub");
    runner.env = {{"PATH", "/usr/bin:/bin"}};
    const std::string workflow = R"yaml(jobs:
  j:
    runs-on: x
    env:
      JOB: job-value
    steps:
      - uses: actions/checkout@v4
      - name: set
        run: |
          echo "A=one" >> "$GITHUB_ENV"
          printf 'B<<EOF\nline1\nline2\nEOF\n' >> "$GITHUB_ENV"
      - name: see
        working-directory: sub
        run: |
          test "$A" = one && test "$JOB" = job-value
          test "$B" = "$(printf 'line1\nline2')"
          test "$(basename "$PWD")" = sub
          false
          echo not reached
      - name: never
        run: echo never
)yaml";
    auto job = test::run_job(workflow, runner);
    EXPECT_FALSE(job.success);
    ASSERT_EQ(job.steps.size(), 2u) << job.transcript();
    EXPECT_EQ(job.steps[0].exit_code, 0) << job.transcript();
    EXPECT_EQ(job.steps[1].exit_code, 1) << job.transcript();
    EXPECT_EQ(job.steps[1].log.find("not reached"), std::string::npos);
    EXPECT_THROW(test::run_job("jobs:\n  j:\n    steps:\n      - uses: other/action@v1\n", runner),
                 std::runtime_error);
    EXPECT_THROW(test::run_job("jobs:\n  j:\n    steps:\n      - run: echo ${{ x }}\n", runner),
                 std::runtime_error);
}

}  // namespace
}  // namespace corral
