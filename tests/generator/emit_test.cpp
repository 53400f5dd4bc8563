// The emitters on hand-built plans. Quoting is checked by the real consumer:
// env.sh by /bin/sh, plan.cmake and pools.cmake by cmake -P, workflows by
// yaml-cpp; the CTest spec by nlohmann/json here and by ctest in the e2e tests.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "generator/emit.hpp"
#include "generator/templates.hpp"
#include "generator_test_util.hpp"

namespace corral {
namespace {

using test::run;
using test::sample_plan;
using test::slurp;
using test::spit;
using test::TempDir;

// Values that break naive quoting in sh, CMake, YAML or GITHUB_ENV.
const std::vector<std::string> kNastyValues = {
    "",
    "plain",
    "two words",
    "it's",
    "'",
    "\"double\"",
    "$HOME ${HOME} $(id) `id`",
    "back\\slash\\",
    "semi;colon",
    "]]=]]==]",
    "[=[",
    "ends in ]",
    "ends in ]=",
    "\nleading newline",
    "multi\nline\nvalue\n",
    "CORRAL_EOF",
    "tab\there",
    "#not a comment",
};

TEST(ResourceSpec, HasTheCTestShape) {
    auto spec = nlohmann::json::parse(emit_resource_spec(sample_plan()));
    EXPECT_EQ(spec["version"], (nlohmann::json{{"major", 1}, {"minor", 0}}));
    ASSERT_TRUE(spec["local"].is_array());
    ASSERT_EQ(spec["local"].size(), 1u);
    const auto& local = spec["local"][0];
    EXPECT_EQ(local["mem_mib"], nlohmann::json::parse(R"([{"id":"0","slots":3584}])"));
    EXPECT_EQ(local["heavy_io"], nlohmann::json::parse(R"([{"id":"tmp","slots":4}])"));
    EXPECT_EQ(local["gpus"], nlohmann::json::array());
    // Ids are strings even when they look like numbers.
    EXPECT_TRUE(local["mem_mib"][0]["id"].is_string());
}

TEST(ResourceSpec, IsDeterministic) {
    EXPECT_EQ(emit_resource_spec(sample_plan()), emit_resource_spec(sample_plan()));
}

TEST(ResourceSpec, RejectsWhatCTestWouldReject) {
    struct Case {
        const char* what;
        std::function<void(Plan&)> spoil;
        const char* message;
    };
    std::vector<Case> cases = {
        {"upper-case type", [](Plan& p) { p.resources[0].name = "Mem"; }, "\"Mem\""},
        {"type starting with a digit", [](Plan& p) { p.resources[0].name = "0mem"; },
         "^[a-z_][a-z0-9_]*$"},
        {"dash in id", [](Plan& p) { p.resources[1].ids[0].id = "dev-sda"; }, "^[a-z0-9_]+$"},
        {"empty id", [](Plan& p) { p.resources[1].ids[0].id = ""; }, "^[a-z0-9_]+$"},
        {"duplicate id", [](Plan& p) { p.resources[1].ids.push_back(p.resources[1].ids[0]); },
         "twice"},
        {"duplicate type", [](Plan& p) { p.resources.push_back(p.resources[0]); }, "twice"},
        {"zero slots", [](Plan& p) { p.resources[0].ids[0].slots = 0; }, "at least 1"},
    };
    for (const auto& c : cases) {
        Plan p = sample_plan();
        c.spoil(p);
        try {
            emit_resource_spec(p);
            ADD_FAILURE() << c.what << ": no error";
        } catch (const EmitError& e) {
            EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
                << c.what << ": " << e.what();
        }
    }
}

TEST(EnvSh, EveryValueSurvivesARealShell) {
    Plan p = sample_plan();
    p.env.clear();
    for (size_t i = 0; i < kNastyValues.size(); ++i)
        p.env.push_back({cat({"V", std::to_string(i)}), kNastyValues[i], ""});
    TempDir dir("envsh");
    spit(dir / "env.sh", emit_env_sh(p));
    for (size_t i = 0; i < kNastyValues.size(); ++i) {
        auto r = run({"/bin/sh", "-c", ". ./env.sh && printf %s \"$V" + std::to_string(i) + "\""},
                     dir.path());
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, kNastyValues[i]) << "value " << i;
    }
    // Exported, so child processes (ctest, the tests) see them.
    auto r = run({"/bin/sh", "-c", ". ./env.sh && /usr/bin/env"}, dir.path());
    EXPECT_NE(r.out.find("V2=two words\n"), std::string::npos);
}

TEST(EnvSh, RejectsNamesAShellCannotExport) {
    for (std::string bad : {"1ABC", "A-B", "", "A B", "A=B"}) {
        Plan p = sample_plan();
        p.env.push_back({bad, "x", ""});
        EXPECT_THROW(emit_env_sh(p), EmitError) << bad;
        EXPECT_THROW(emit_github_env(p), EmitError) << bad;
    }
    Plan dup = sample_plan();
    dup.env.push_back(dup.env[0]);
    EXPECT_THROW(emit_env_sh(dup), EmitError);
    Plan nul = sample_plan();
    nul.env.push_back({"X", std::string("a\0b", 3), ""});
    EXPECT_THROW(emit_env_sh(nul), EmitError);
}

// $GITHUB_ENV as the runner reads it (actions/runner SetEnvFileCommand):
// NAME=value lines, or NAME<<DELIM, lines, DELIM; the delimiter must not
// occur in the value.
std::map<std::string, std::string> parse_github_env(const std::string& text) {
    std::map<std::string, std::string> vars;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto heredoc = line.find("<<");
        auto eq = line.find('=');
        if (heredoc != std::string::npos && (eq == std::string::npos || heredoc < eq)) {
            std::string name = line.substr(0, heredoc), delim = line.substr(heredoc + 2);
            std::string value, l;
            bool first = true, closed = false;
            while (std::getline(in, l)) {
                if (l == delim) {
                    closed = true;
                    break;
                }
                value += (first ? "" : "\n") + l;
                first = false;
            }
            EXPECT_TRUE(closed) << "unterminated " << name;
            EXPECT_EQ(value.find(delim), std::string::npos) << "delimiter inside " << name;
            vars[name] = value;
        } else {
            EXPECT_NE(eq, std::string::npos) << "not NAME=value: " << line;
            vars[line.substr(0, eq)] = line.substr(eq + 1);
        }
    }
    return vars;
}

TEST(GithubEnv, EveryValueSurvivesTheRunnerFormat) {
    Plan p = sample_plan();
    p.env.clear();
    for (size_t i = 0; i < kNastyValues.size(); ++i)
        p.env.push_back({cat({"V", std::to_string(i)}), kNastyValues[i], ""});
    auto vars = parse_github_env(emit_github_env(p));
    ASSERT_EQ(vars.size(), kNastyValues.size());
    for (size_t i = 0; i < kNastyValues.size(); ++i)
        EXPECT_EQ(vars[cat({"V", std::to_string(i)})], kNastyValues[i]) << "value " << i;
}

TEST(GithubEnv, SimpleValuesAreOneLineEach) {
    EXPECT_EQ(emit_github_env(sample_plan()),
              "CTEST_PARALLEL_LEVEL=4\nCMAKE_BUILD_PARALLEL_LEVEL=4\nMAKEFLAGS=-j4\n"
              "TMPDIR=/tmp\n");
}

TEST(CMakeBracket, EveryValueSurvivesRealCMake) {
    TempDir dir("bracket");
    std::string script;
    for (size_t i = 0; i < kNastyValues.size(); ++i)
        script += "file(WRITE ${CMAKE_CURRENT_LIST_DIR}/out" + std::to_string(i) + " " +
                  emit_detail::cmake_bracket(kNastyValues[i]) + ")\n";
    spit(dir / "s.cmake", script);
    auto r = run({"cmake", "-P", (dir / "s.cmake").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (size_t i = 0; i < kNastyValues.size(); ++i)
        EXPECT_EQ(slurp(dir / ("out" + std::to_string(i))), kNastyValues[i]) << "value " << i;
}

TEST(PlanCMake, RealCMakeReadsThePlan) {
    Plan p = sample_plan();
    p.scratch_dir = "/tmp/it's a \"dir\" with $x and ]=]";
    p.timeout_multiplier = 2.5;
    p.test_timeout_seconds = 3750;
    p.stop_on_failure = true;
    p.repeat_after_timeout = 2;
    p.resources[2].ids = {{"nvidia0", 1, "", "", "", ""}, {"nvidia1", 1, "", "", "", ""}};
    TempDir dir("plancmake");
    spit(dir / "plan.cmake", emit_plan_cmake(p));
    spit(dir / "print.cmake",
         "include(${CMAKE_CURRENT_LIST_DIR}/plan.cmake)\n"
         "foreach(v TEST_PARALLEL_LEVEL BUILD_PARALLEL_LEVEL TIMEOUT_MULTIPLIER TEST_TIMEOUT\n"
         "    SCRATCH_DIR MEM_MIB HEAVY_IO_SLOTS GPU_COUNT RESOURCE_TYPES COMPILE_POOL\n"
         "    COMPILE_POOL_DEPTH LINK_POOL LINK_POOL_DEPTH STOP_ON_FAILURE\n"
         "    REPEAT_AFTER_TIMEOUT RESOURCE_gpus_IDS JOB_POOLS)\n"
         "  file(APPEND ${CMAKE_CURRENT_LIST_DIR}/out \"${v}=${CORRAL_PLAN_${v}}\\n\")\n"
         "endforeach()\n"
         "list(LENGTH CORRAL_PLAN_RESOURCE_TYPES n)\n"
         "file(APPEND ${CMAKE_CURRENT_LIST_DIR}/out \"types=${n}\\n\")\n");
    auto r = run({"cmake", "-P", (dir / "print.cmake").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(slurp(dir / "out"),
              "TEST_PARALLEL_LEVEL=4\nBUILD_PARALLEL_LEVEL=4\nTIMEOUT_MULTIPLIER=2.5\n"
              "TEST_TIMEOUT=3750\nSCRATCH_DIR=/tmp/it's a \"dir\" with $x and ]=]\n"
              "MEM_MIB=3584\nHEAVY_IO_SLOTS=4\nGPU_COUNT=2\n"
              "RESOURCE_TYPES=mem_mib;heavy_io;gpus\nCOMPILE_POOL=compile\n"
              "COMPILE_POOL_DEPTH=1\nLINK_POOL=link\nLINK_POOL_DEPTH=1\n"
              "STOP_ON_FAILURE=ON\nREPEAT_AFTER_TIMEOUT=2\nRESOURCE_gpus_IDS=nvidia0;nvidia1\n"
              "JOB_POOLS=compile=1;link=1\ntypes=3\n");
}

TEST(Pools, NinjaBlocks) {
    Plan p = sample_plan();
    p.pools = {{"compile", 3, "why\nnot"}, {"link", 1, ""}, {"heavy.gen-1", 2, ""}};
    EXPECT_EQ(emit_pools_ninja(p),
              "# Ninja job pools planned by corral (corral.plan/1). Generated: re-run `corral "
              "generate`\n# rather than edit. Use with `include pools.ninja` (or subninja) and\n"
              "# `pool = NAME` on a build edge or rule.\n\n# why not\npool compile\n  depth = 3\n"
              "\npool link\n  depth = 1\n\npool heavy.gen-1\n  depth = 2\n");
}

TEST(Pools, RejectsWhatNinjaWouldReject) {
    std::vector<std::function<void(Plan&)>> spoilers = {
        [](Plan& p) { p.pools[0].name = "console"; },
        [](Plan& p) { p.pools[0].name = "two words"; },
        [](Plan& p) { p.pools[0].name = ""; },
        [](Plan& p) { p.pools[0].depth = 0; },
        [](Plan& p) { p.pools.push_back(p.pools[0]); },
        [](Plan& p) { p.compile_pool = "missing"; },
    };
    for (size_t i = 0; i < spoilers.size(); ++i) {
        Plan p = sample_plan();
        spoilers[i](p);
        EXPECT_THROW(emit_pools_ninja(p), EmitError) << "case " << i;
        EXPECT_THROW(emit_pools_cmake(p), EmitError) << "case " << i;
    }
}

TEST(Pools, CMakeScriptSetsCacheAndProperty) {
    Plan p = sample_plan();
    p.pools = {{"compile", 3, ""}, {"link", 2, ""}};
    TempDir dir("poolscmake");
    spit(dir / "pools.cmake", emit_pools_cmake(p));
    // Included twice: the guard keeps JOB_POOLS free of duplicate pools.
    spit(dir / "print.cmake",
         "include(${CMAKE_CURRENT_LIST_DIR}/pools.cmake)\n"
         "include(${CMAKE_CURRENT_LIST_DIR}/pools.cmake)\n"
         "get_property(pools GLOBAL PROPERTY JOB_POOLS)\n"
         "file(WRITE ${CMAKE_CURRENT_LIST_DIR}/out \"${pools}|${CMAKE_JOB_POOLS}|"
         "${CMAKE_JOB_POOL_COMPILE}|${CMAKE_JOB_POOL_LINK}\")\n");
    auto r = run({"cmake", "-P", (dir / "print.cmake").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(slurp(dir / "out"), "compile=3;link=2|compile=3;link=2|compile|link");
}

TEST(Template, FillIsStrict) {
    using emit_detail::fill_template;
    EXPECT_EQ(fill_template("a @X@ b uses: x@v4", "t", {{"X", "1"}}), "a 1 b uses: x@v4");
    EXPECT_THROW(fill_template("@X@ @Y@", "t", {{"X", "1"}}), EmitError);          // unknown
    EXPECT_THROW(fill_template("@X@", "t", {{"X", "1"}, {"Z", "2"}}), EmitError);  // unused
    EXPECT_THROW(fill_template("@X@", "t", {{"X", "1\n  evil: yes"}}), EmitError);
}

TEST(Template, BothWorkflowsAreEmbedded) {
    EXPECT_NE(embedded_template("github-workflow.yml").find("@TEST_COMMAND@"),
              std::string_view::npos);
    EXPECT_NE(embedded_template("forgejo-workflow.yml").find("@TEST_COMMAND@"),
              std::string_view::npos);
    // The embedded text is the file in templates/ byte for byte.
    EXPECT_EQ(embedded_template("github-workflow.yml"),
              slurp(std::string(CORRAL_SOURCE_DIR) + "/templates/github-workflow.yml"));
}

const YAML::Node test_step(const YAML::Node& job) {
    for (const auto& step : job["steps"])
        if (step["name"] && step["name"].as<std::string>() == "Test") return step;
    return YAML::Node();
}

TEST(Workflow, RoundTripsWithThePlansValues) {
    for (auto emit : {&emit_github_workflow, &emit_forgejo_workflow}) {
        auto root = YAML::Load(emit(sample_plan()));
        auto job = root["jobs"]["test"];
        EXPECT_EQ(job["timeout-minutes"].as<int>(), 60);
        auto step = test_step(job);
        ASSERT_TRUE(step);
        EXPECT_EQ(step["working-directory"].as<std::string>(), "build");
        EXPECT_EQ(step["run"].as<std::string>(),
                  "spec=\"$PWD/../corral/resources.json\"\n"
                  "if [ -f CorralResourceSpec.txt ]; then spec=$(cat CorralResourceSpec.txt); fi\n"
                  "ctest --resource-spec-file \"$spec\" --no-tests=error --timeout 1500 "
                  "--output-on-failure\n");
        bool loads_env = false;
        for (const auto& s : job["steps"])
            if (s["run"] && s["run"].as<std::string>().find("$GITHUB_ENV") != std::string::npos)
                loads_env = true;
        EXPECT_TRUE(loads_env);
    }
    EXPECT_EQ(YAML::Load(emit_github_workflow(sample_plan()))["jobs"]["test"]["runs-on"]
                  .as<std::string>(),
              "ubuntu-latest");
    EXPECT_EQ(YAML::Load(emit_forgejo_workflow(sample_plan()))["jobs"]["test"]["runs-on"]
                  .as<std::string>(),
              "docker");
}

TEST(Workflow, PolicyOptionsReachTheTestCommand) {
    Plan p = sample_plan();
    p.stop_on_failure = true;
    p.repeat_after_timeout = 3;
    p.tests_run_under_sudo = true;
    p.test_timeout_seconds = 6000;
    p.job_timeout_minutes = 180;
    auto job = YAML::Load(emit_github_workflow(p))["jobs"]["test"];
    EXPECT_EQ(job["timeout-minutes"].as<int>(), 180);
    auto run = test_step(job)["run"].as<std::string>();
    const std::string last =
        "\nsudo --preserve-env=CTEST_PARALLEL_LEVEL,CMAKE_BUILD_PARALLEL_LEVEL,MAKEFLAGS,"
        "TMPDIR ctest --resource-spec-file \"$spec\" --no-tests=error --timeout 6000 "
        "--output-on-failure --stop-on-failure --repeat after-timeout:3\n";
    ASSERT_GT(run.size(), last.size());
    EXPECT_EQ(run.substr(run.size() - last.size()), last) << run;
}

TEST(Workflow, RejectsNonsenseTimeouts) {
    Plan p = sample_plan();
    p.job_timeout_minutes = 0;
    EXPECT_THROW(emit_github_workflow(p), EmitError);
}

TEST(Report, ListsEveryWarningAndDecision) {
    Plan p = sample_plan();
    p.warnings.push_back({WarningCode::oversubscribed, "parallel level 16 is above 2 x 4 CPUs"});
    auto report = emit_report(p);
    EXPECT_NE(report.find("[memory_tight] the 3.5 GiB budget fits 7 tests"), std::string::npos);
    EXPECT_NE(report.find("[oversubscribed] parallel level 16 is above 2 x 4 CPUs"),
              std::string::npos);
    EXPECT_NE(report.find("Warnings: 2"), std::string::npos);
    EXPECT_NE(report.find("compile (compile jobs): depth 1"), std::string::npos);
    EXPECT_NE(report.find("ctest --timeout 1500 s"), std::string::npos);
    EXPECT_NE(report.find("CTEST_PARALLEL_LEVEL=4"), std::string::npos);
}

}  // namespace
}  // namespace corral
