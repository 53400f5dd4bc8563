// Acceptance (docs/sharding.md, "In CI"): the sharded workflows of
// `corral ci --github|--forgejo --shards 2`, run step by step by the emulated
// runner (runner_emulation.hpp) on examples/quickstart with CMake 4.3: each
// matrix entry (matrix.shard = 1, 2) on its own runner, then the merge job with
// the shards' artifacts copied into place. Together the shards run every test
// exactly once, and the merge job writes one report. Without one shard's
// artifacts the merge job fails and names the tests that ran in no shard.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "generator_test_util.hpp"
#include "runner_emulation.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::slurp;
using test::TempDir;

const std::vector<std::string> kTests = {"quickstart.disk", "quickstart.memory",
                                         "quickstart.plain"};

// Test names ctest reported as Passed.
std::vector<std::string> passed_tests(const std::string& log) {
    std::vector<std::string> out;
    static const std::regex line(R"(Test +#[0-9]+: +(\S+) \.*\s+Passed)");
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
        out.push_back((*it)[1]);
    return out;
}

const test::StepOutcome* find_step(const test::JobOutcome& job, const std::string& name) {
    for (const auto& s : job.steps)
        if (s.name == name) return &s;
    return nullptr;
}

TEST(CiShards, MatrixEntriesRunEveryTestOnceAndTheMergeJobReportsThem) {
    const fs::path cmake43 =
        fs::path(CORRAL_SOURCE_DIR) / "build/tools/node_modules/cmake-4.3/bin/cmake";
    if (!fs::exists(cmake43)) GTEST_SKIP() << "CMake 4.3 is not installed: run ./bootstrap";
    TempDir dir("ci-shards");
    // The runner's corral: an install prefix on PATH.
    auto prefix = dir / "prefix";
    auto build = fs::path(CORRAL_EXE).parent_path().parent_path();
    auto inst = run({"cmake", "--install", build.string(), "--prefix", prefix.string()});
    ASSERT_EQ(inst.exit_code, 0) << inst.out << inst.err;
    const std::string path = (prefix / "bin").string() + ":" + cmake43.parent_path().string() +
                             ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

    // The project with its committed shard files, as docs/sharding.md says to
    // make them: configure and build once, then `corral shard`.
    auto project = dir / "project";
    fs::copy(fs::path(CORRAL_SOURCE_DIR) / "examples/quickstart", project,
             fs::copy_options::recursive);
    auto tree = dir / "plan-build";
    auto cfg = run({cmake43.string(), "-S", project.string(), "-B", tree.string(), "-G", "Ninja",
                    "-DCMAKE_PREFIX_PATH=" + prefix.string()});
    ASSERT_EQ(cfg.exit_code, 0) << cfg.out << cfg.err;
    auto bld = run({cmake43.string(), "--build", tree.string()});
    ASSERT_EQ(bld.exit_code, 0) << bld.out << bld.err;
    auto shard = run({(prefix / "bin/corral").string(), "shard", "--build-dir", tree.string(),
                      "--shards", "2", "--out", (project / "ci/shards").string()});
    ASSERT_EQ(shard.exit_code, 0) << shard.out << shard.err;

    for (const char* forge : {"--github", "--forgejo"}) {
        SCOPED_TRACE(forge);
        auto wf = run({(prefix / "bin/corral").string(), "ci", forge, "--shards", "2"});
        ASSERT_EQ(wf.exit_code, 0) << wf.err;
        auto runner_for = [&](const std::string& name) {
            test::RunnerSetup r;
            auto root = dir / (std::string(forge + 2) + "-" + name);
            r.workspace = root / "workspace";
            r.scratch = root / "runner";
            fs::create_directories(root / "home");
            fs::copy(project, r.workspace, fs::copy_options::recursive);  // the checkout
            r.env = {{"PATH", path}, {"HOME", (root / "home").string()}, {"LANG", "C.UTF-8"}};
            return r;
        };
        auto merge = runner_for("report");
        std::map<std::string, int> runs;  // test -> how many shards ran it
        for (int k = 1; k <= 2; ++k) {
            SCOPED_TRACE("shard " + std::to_string(k));
            auto runner = runner_for("shard" + std::to_string(k));
            auto job = test::run_job(wf.out, runner, "test", {{"shard", std::to_string(k)}});
            ASSERT_TRUE(job.success) << job.transcript();
            const auto* step = find_step(job, "Test");
            ASSERT_NE(step, nullptr) << job.transcript();
            for (const auto& t : passed_tests(step->log))
                if (t != "corral.reap") ++runs[t];  // corral_setup's cleanup: every runner
            ASSERT_EQ(job.artifacts.size(), 1u) << job.transcript();
            EXPECT_EQ(job.artifacts[0].name, "corral-shard-" + std::to_string(k));
            EXPECT_TRUE(job.artifacts[0].missing.empty()) << job.transcript();
            // actions/download-artifact (no name): each artifact in path/<name>/.
            auto into = merge.workspace / "corral-shards" / job.artifacts[0].name;
            fs::create_directories(into);
            for (const auto& f : job.artifacts[0].files)
                fs::copy_file(f, into / f.filename());
        }
        std::map<std::string, int> once;
        for (const auto& t : kTests)
            once[t] = 1;
        EXPECT_EQ(runs, once);

        auto job = test::run_job(wf.out, merge, "report", {});
        ASSERT_TRUE(job.success) << job.transcript();
        auto out = merge.workspace / "corral-report";
        auto md = slurp(out / "summary.md");
        for (const auto& t : kTests)
            EXPECT_NE(md.find(t), std::string::npos) << md;
        EXPECT_EQ(job.step_summary, std::string(forge) == "--github" ? md : "");
        auto junit = run({"python3", "-c",
                          "import sys, xml.etree.ElementTree as E\n"
                          "r = E.parse(sys.argv[1]).getroot()\n"
                          "print(sorted(c.get('name') for c in r.iter('testcase')))",
                          (out / "junit.xml").string()});
        EXPECT_EQ(junit.out, "['quickstart.disk', 'quickstart.memory', 'quickstart.plain']\n")
            << junit.err;
        ASSERT_EQ(job.artifacts.size(), 1u);
        EXPECT_TRUE(job.artifacts[0].missing.empty()) << job.transcript();

        // One shard's artifacts missing (it did not build): the merge job fails
        // and names the tests of shards.json that ran in no shard.
        fs::remove_all(merge.workspace / "corral-report");
        fs::remove_all(merge.workspace / "corral-shards/corral-shard-2");
        merge.scratch = merge.scratch.string() + "-again";
        auto partial = test::run_job(wf.out, merge, "report", {});
        EXPECT_FALSE(partial.success);
        const auto* report = find_step(partial, "Report");
        ASSERT_NE(report, nullptr) << partial.transcript();
        EXPECT_NE(report->log.find("shard 2 left no records"), std::string::npos) << report->log;
        EXPECT_NE(report->log.find("NOT RUN in any shard"), std::string::npos) << report->log;
    }
}

}  // namespace
}  // namespace corral
