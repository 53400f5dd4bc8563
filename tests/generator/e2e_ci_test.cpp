// Acceptance: the generated GitHub and Forgejo workflows pass the real
// validator (@action-validator/cli, installed by ./bootstrap) and round-trip
// through yaml-cpp with the plan's values.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "generator_test_util.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::slurp;
using test::spit;
using test::TempDir;

fs::path validator() {
    return fs::path(CORRAL_SOURCE_DIR) / "build/tools/node_modules/.bin/action-validator";
}

YAML::Node test_step(const YAML::Node& job) {
    for (const auto& step : job["steps"])
        if (step["name"] && step["name"].as<std::string>() == "Test") return step;
    return YAML::Node();
}

class Workflows : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(validator()))
            GTEST_SKIP() << validator() << " is missing: run ./bootstrap to install it";
    }
    void expect_valid(const fs::path& file) {
        auto r = run({validator().string(), file.string()});
        EXPECT_EQ(r.exit_code, 0) << file << " rejected:\n" << r.out << r.err;
    }
    TempDir dir_{"ci"};
};

TEST_F(Workflows, ValidatorRejectsABrokenWorkflow) {
    // The control: a workflow the validator must refuse, so passing means something.
    auto r = run({CORRAL_EXE, "ci", "--github", "--cpus", "4", "--memory", "4G"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string broken = r.out;
    auto at = broken.find("timeout-minutes: ");
    ASSERT_NE(at, std::string::npos);
    broken.replace(at, std::string("timeout-minutes: ").size(), "timeout-minutes: soon #");
    spit(dir_ / "broken.yml", broken);
    EXPECT_NE(run({validator().string(), (dir_ / "broken.yml").string()}).exit_code, 0);
}

// `corral ci --shards N`: both forges validate; the matrix lists 1..N and the
// merge job needs it and runs also when shards failed.
TEST_F(Workflows, ShardedWorkflowsAreValid) {
    for (const char* forge : {"--github", "--forgejo"}) {
        SCOPED_TRACE(forge);
        auto r = run({CORRAL_EXE, "ci", forge, "--shards", "3", "--cpus", "4", "--memory", "4G"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        auto file = dir_ / (std::string(forge + 2) + "-sharded.yml");
        spit(file, r.out);
        expect_valid(file);
        auto jobs = YAML::Load(r.out)["jobs"];
        auto matrix = jobs["test"]["strategy"]["matrix"]["shard"];
        ASSERT_EQ(matrix.size(), 3u);
        EXPECT_EQ(matrix[2].as<int>(), 3);
        EXPECT_EQ(jobs["report"]["needs"].as<std::string>(), "test");
        EXPECT_EQ(jobs["report"]["if"].as<std::string>(), "${{ always() }}");
    }
    EXPECT_NE(run({CORRAL_EXE, "ci", "--github", "--shards", "0"}).exit_code, 0);
}

TEST_F(Workflows, GeneratedWorkflowsAreValidAndCarryThePlan) {
    auto out = dir_ / "corral";
    auto gen =
        run({CORRAL_EXE, "generate", "--out", out.string(), "--cpus", "4", "--memory", "4G"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    auto plan = nlohmann::json::parse(slurp(out / "plan.json"));
    for (const char* name : {"github-workflow.yml", "forgejo-workflow.yml"}) {
        SCOPED_TRACE(name);
        expect_valid(out / name);
        auto job = YAML::LoadFile((out / name).string())["jobs"]["test"];
        EXPECT_EQ(job["timeout-minutes"].as<int>(), plan.at("job_timeout_minutes").get<int>());
        auto run_line = test_step(job)["run"].as<std::string>();
        const std::string last =
            "\nctest --resource-spec-file \"$spec\" --no-tests=error --timeout " +
            std::to_string(plan.at("test_timeout_seconds").get<int>()) + " --output-on-failure\n";
        ASSERT_GT(run_line.size(), last.size());
        EXPECT_EQ(run_line.substr(run_line.size() - last.size()), last) << run_line;
        // The spec: the build tree's own when corral_setup() named one, else the job's.
        EXPECT_NE(run_line.find("spec=\"$PWD/../corral/resources.json\"\n"), std::string::npos)
            << run_line;
        EXPECT_NE(run_line.find("spec=$(cat CorralResourceSpec.txt)"), std::string::npos)
            << run_line;
    }
    // `corral ci` prints the same bytes `generate` wrote.
    auto gh = run({CORRAL_EXE, "ci", "--github", "--cpus", "4", "--memory", "4G"});
    ASSERT_EQ(gh.exit_code, 0) << gh.err;
    EXPECT_EQ(gh.out, slurp(out / "github-workflow.yml"));
    auto fj = run({CORRAL_EXE, "ci", "--forgejo", "--cpus", "4", "--memory", "4G"});
    ASSERT_EQ(fj.exit_code, 0) << fj.err;
    EXPECT_EQ(fj.out, slurp(out / "forgejo-workflow.yml"));
}

TEST_F(Workflows, PolicyCiOptionsAreValidToo) {
    spit(dir_ / "corral.yaml",
         "ci:\n  stop_on_failure: true\n  repeat_after_timeout: 2\n"
         "  tests_run_under_sudo: true\n  job_timeout_minutes: 90\n");
    for (const char* forge : {"--github", "--forgejo"}) {
        SCOPED_TRACE(forge);
        auto file = dir_ / (std::string(forge + 2) + ".yml");
        auto r = run({CORRAL_EXE, "ci", forge, "--config", (dir_ / "corral.yaml").string(),
                      "--cpus", "4", "--memory", "4G", "-o", file.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, "");
        expect_valid(file);
        auto job = YAML::LoadFile(file.string())["jobs"]["test"];
        EXPECT_EQ(job["timeout-minutes"].as<int>(), 90);
        auto line = test_step(job)["run"].as<std::string>();
        EXPECT_NE(line.find("\nsudo --preserve-env="), std::string::npos) << line;
        for (const char* var : {"CTEST_PARALLEL_LEVEL", "TMPDIR"})
            EXPECT_NE(line.find(var), std::string::npos) << var << " not kept by sudo: " << line;
        EXPECT_NE(line.find(" --stop-on-failure"), std::string::npos) << line;
        EXPECT_NE(line.find(" --repeat after-timeout:2"), std::string::npos) << line;
    }
}

TEST(CiCommand, NeedsExactlyOneForge) {
    EXPECT_EQ(run({CORRAL_EXE, "ci"}).exit_code, 2);
    EXPECT_EQ(run({CORRAL_EXE, "ci", "--github", "--forgejo"}).exit_code, 2);
    EXPECT_EQ(run({CORRAL_EXE, "pools"}).exit_code, 2);
    EXPECT_EQ(run({CORRAL_EXE, "env", "--format", "fish"}).exit_code, 2);
}

}  // namespace
}  // namespace corral
