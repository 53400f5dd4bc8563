// github-workflow.yml and forgejo-workflow.yml: templates/ filled with values
// that are integers or checked names only, then parsed back with yaml-cpp and
// checked, so a template edit cannot silently drop the timeout or the spec.
#include <yaml-cpp/yaml.h>

#include "common/text.hpp"
#include "generator/emit.hpp"
#include "generator/templates.hpp"

namespace corral {
namespace {

// The one line that runs the tests (inside `run: |`, working directory build/).
std::string test_command(const Plan& plan) {
    std::string cmd;
    if (plan.tests_run_under_sudo) {
        // sudo resets the environment; keep every planned variable (TMPDIR included).
        std::string names;
        for (const auto& var : plan.env) {
            emit_detail::check_env_name(var.name);
            names += (names.empty() ? "" : ",") + var.name;
        }
        cmd += names.empty() ? "sudo " : "sudo --preserve-env=" + names + " ";
    }
    // $spec: set by the template's lines before this one (the build tree's own spec
    // from CorralResourceSpec.txt, else the job's). --no-tests=error: CMake >= 3.17.
    cmd += "ctest --resource-spec-file \"$spec\" --no-tests=error --timeout " +
           std::to_string(plan.test_timeout_seconds) + " --output-on-failure";
    if (plan.stop_on_failure) cmd += " --stop-on-failure";
    if (plan.repeat_after_timeout > 0)
        cmd += " --repeat after-timeout:" + std::to_string(plan.repeat_after_timeout);
    return cmd;
}

// The emitted workflow parsed back (yaml-cpp); `fail` reports a parse error.
template <class Fail>
YAML::Node load_workflow(const std::string& text, const Fail& fail) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        fail(std::string("is not valid YAML: ") + e.what());
    }
    return {};
}

void check_workflow(const std::string& text, const std::string& template_name, const Plan& plan,
                    const std::string& command) {
    auto fail = [&](const std::string& what) {
        throw EmitError("workflow from template " + template_name + ": " + what);
    };
    YAML::Node root = load_workflow(text, fail);
    auto jobs = root["jobs"];
    if (!jobs.IsMap() || jobs.size() != 1) fail("expected exactly one job under jobs:");
    auto job = jobs.begin()->second;
    if (!job["timeout-minutes"] ||
        job["timeout-minutes"].as<std::string>() != std::to_string(plan.job_timeout_minutes))
        fail("timeout-minutes is not the plan's " + std::to_string(plan.job_timeout_minutes));
    bool generates = false, loads_env = false, runs_tests = false;
    for (const auto& step : job["steps"]) {
        if (!step["run"]) continue;
        auto run = step["run"].as<std::string>();
        generates |= run.find(" generate --out corral") != std::string::npos;
        loads_env |= run.find("corral/github.env >> \"$GITHUB_ENV\"") != std::string::npos;
        runs_tests |=
            run.size() > command.size() + 1 &&
            run.compare(run.size() - command.size() - 1, std::string::npos, command + "\n") == 0 &&
            run.find("CorralResourceSpec.txt") != std::string::npos;
    }
    if (!generates) fail("no step runs `corral generate --out corral`");
    if (!loads_env) fail("no step loads corral/github.env into $GITHUB_ENV");
    if (!runs_tests)
        fail("no step picks the spec from CorralResourceSpec.txt and ends with: " + command);
    bool reports = false, keeps = false;
    for (const auto& step : job["steps"]) {
        bool always = step["if"] && step["if"].as<std::string>() == "${{ !cancelled() }}";
        if (always && step["run"] &&
            step["run"].as<std::string>().find(" report --markdown") != std::string::npos)
            reports = true;
        if (always && step["uses"] &&
            step["uses"].as<std::string>().rfind("actions/upload-artifact@", 0) == 0)
            keeps = true;
    }
    if (!reports) fail("no step runs `corral report` also when the tests failed");
    if (!keeps) fail("no step keeps the report as an artifact also when the tests failed");
}

std::string emit_workflow(const Plan& plan, const std::string& template_name) {
    if (plan.test_timeout_seconds < 1 || plan.job_timeout_minutes < 1)
        throw EmitError("the plan's timeouts must be positive (test " +
                        std::to_string(plan.test_timeout_seconds) + " s, job " +
                        std::to_string(plan.job_timeout_minutes) + " min)");
    std::string command = test_command(plan);
    std::string note = "each test may take " + std::to_string(plan.test_timeout_seconds) +
                       " s (timeout multiplier " + shortest_decimal(plan.timeout_multiplier) + ")";
    std::string text = emit_detail::fill_template(
        embedded_template(template_name), template_name,
        {{"JOB_TIMEOUT_MINUTES", std::to_string(plan.job_timeout_minutes)},
         {"JOB_TIMEOUT_NOTE", note},
         {"TEST_COMMAND", command}});
    check_workflow(text, template_name, plan, command);
    return text;
}

// The sharded workflow: a matrix job `test` of `shards` entries and a job
// `report` after it (templates/*-sharded-workflow.yml).
void check_sharded_workflow(const std::string& text, const std::string& template_name,
                            const Plan& plan, const std::string& command, int shards) {
    auto fail = [&](const std::string& what) {
        throw EmitError("workflow from template " + template_name + ": " + what);
    };
    YAML::Node root = load_workflow(text, fail);
    auto jobs = root["jobs"];
    if (!jobs.IsMap() || jobs.size() != 2 || !jobs["test"] || !jobs["report"])
        fail("expected the jobs test and report");
    auto test = jobs["test"];
    if (!test["timeout-minutes"] ||
        test["timeout-minutes"].as<std::string>() != std::to_string(plan.job_timeout_minutes))
        fail("timeout-minutes is not the plan's " + std::to_string(plan.job_timeout_minutes));
    auto matrix = test["strategy"]["matrix"]["shard"];
    if (!matrix.IsSequence() || static_cast<int>(matrix.size()) != shards)
        fail("the matrix does not list " + std::to_string(shards) + " shards");
    for (int k = 0; k < shards; ++k)
        if (matrix[k].as<int>() != k + 1) fail("the matrix does not list the shards 1..N");
    bool runs_tests = false;
    for (const auto& step : test["steps"])
        if (step["run"] &&
            step["run"].as<std::string>().find(command + " \"$@\"\n") != std::string::npos)
            runs_tests = true;
    if (!runs_tests) fail("no step of job test runs: " + command);
    if (jobs["report"]["needs"].as<std::string>("") != "test")
        fail("job report does not need job test");
    bool merges = false;
    for (const auto& step : jobs["report"]["steps"])
        if (step["run"] &&
            step["run"].as<std::string>().find("--expect-shards") != std::string::npos)
            merges = true;
    if (!merges) fail("job report does not run corral report --expect-shards");
}

std::string emit_sharded_workflow(const Plan& plan, const std::string& template_name, int shards) {
    if (shards < 1 || shards > 256)
        throw EmitError("--shards must be 1..256, not " + std::to_string(shards));
    if (plan.test_timeout_seconds < 1 || plan.job_timeout_minutes < 1)
        throw EmitError("the plan's timeouts must be positive (test " +
                        std::to_string(plan.test_timeout_seconds) + " s, job " +
                        std::to_string(plan.job_timeout_minutes) + " min)");
    std::string command = test_command(plan);
    std::string note = "each test may take " + std::to_string(plan.test_timeout_seconds) +
                       " s (timeout multiplier " + shortest_decimal(plan.timeout_multiplier) + ")";
    std::string list, spaced;
    for (int k = 1; k <= shards; ++k) {
        list += cat({k > 1 ? ", " : "", std::to_string(k)});
        spaced += cat({k > 1 ? " " : "", std::to_string(k)});
    }
    std::string text = emit_detail::fill_template(
        embedded_template(template_name), template_name,
        {{"JOB_TIMEOUT_MINUTES", std::to_string(plan.job_timeout_minutes)},
         {"JOB_TIMEOUT_NOTE", note},
         {"TEST_COMMAND", command},
         {"SHARDS", std::to_string(shards)},
         {"SHARD_LIST", list},
         {"SHARD_LIST_SPACED", spaced}});
    check_sharded_workflow(text, template_name, plan, command, shards);
    return text;
}

}  // namespace

std::string emit_github_sharded_workflow(const Plan& plan, int shards) {
    return emit_sharded_workflow(plan, "github-sharded-workflow.yml", shards);
}

std::string emit_forgejo_sharded_workflow(const Plan& plan, int shards) {
    return emit_sharded_workflow(plan, "forgejo-sharded-workflow.yml", shards);
}

std::string emit_github_workflow(const Plan& plan) {
    return emit_workflow(plan, "github-workflow.yml");
}

std::string emit_forgejo_workflow(const Plan& plan) {
    return emit_workflow(plan, "forgejo-workflow.yml");
}

}  // namespace corral
