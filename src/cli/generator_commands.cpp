// corral generate / spec / pools / env / ci: probe, plan, and emit. `generate`
// writes every output into a directory; the others print one output (or write
// it atomically with -o). Bad planning input exits 2 with nothing written.
#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>

#include "cli/commands.hpp"
#include "cli/plan_inputs.hpp"
#include "common/atomic_file.hpp"
#include "generator/emit.hpp"
#include "generator/output_writer.hpp"
#include "plan/plan_json.hpp"

namespace corral::cli {
namespace {

constexpr const char* kPlanInputsHelp =
    "\nThe plan comes from the probe (or --facts) and the policy: built-in defaults <\n"
    "corral.yaml (--config, $CORRAL_CONFIG, or ./corral.yaml) < CORRAL_* variables <\n"
    "options. Bad policy or input exits 2 and writes nothing.";

// Runs `body`; maps planning and emitting errors to exit codes.
template <typename Body>
int guarded(const char* command, Body&& body) {
    try {
        body();
        return kExitOk;
    } catch (const PolicyError& e) {
        std::cerr << "corral " << command << ": " << e.what() << "\n";
        return kExitUsage;
    } catch (const EmitError& e) {
        std::cerr << "corral " << command << ": cannot emit: " << e.what() << "\n";
        return kExitUsage;
    } catch (const std::system_error& e) {
        std::cerr << "corral " << command << ": " << e.what() << "\n";
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "corral " << command << ": " << e.what() << "\n";
        return kExitFailure;
    }
}

// One output to stdout, or atomically into `file`.
void put(const std::string& content, const std::string& file) {
    if (file.empty())
        std::cout << content << std::flush;
    else
        write_file_atomically(file, content);
}

struct SingleOutput {
    PlanInputs inputs;
    std::string output_file;
};

// A subcommand printing one output of the plan, with the plan inputs and -o.
std::shared_ptr<SingleOutput> add_single(CLI::App* cmd) {
    auto opts = std::make_shared<SingleOutput>();
    add_plan_input_options(cmd, opts->inputs);
    cmd->add_option("-o,--output", opts->output_file,
                    "Write to FILE (atomically: temporary file, fsync, rename) instead of "
                    "standard output")
        ->type_name("FILE")
        ->check(non_empty_path());
    return opts;
}

void add_generate(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "generate",
        "Probe this host, plan, and write every output file into DIR:\n"
        "  facts.json, plan.json   the inputs and decisions, for the record\n"
        "  resources.json          CTest resource spec: ctest --resource-spec-file "
        "DIR/resources.json\n"
        "  pools.cmake             Ninja job pools: cmake -G Ninja -C DIR/pools.cmake (or "
        "include())\n"
        "  pools.ninja             the same pools for hand-written Ninja files\n"
        "  plan.cmake              the plan as CORRAL_PLAN_* CMake variables\n"
        "  env.sh, github.env      parallel levels, TMPDIR, timeouts: . DIR/env.sh or >> "
        "$GITHUB_ENV\n"
        "  github-workflow.yml     a GitHub Actions test job using all of the above\n"
        "  forgejo-workflow.yml    the same for Forgejo Actions\n"
        "  report.txt              what was decided and why, with every warning\n"
        "All files are computed first, then written together (staged, then renamed), so\n"
        "an error or a kill leaves each file as it was or complete.");
    cmd->footer(kPlanInputsHelp);
    struct Options {
        PlanInputs inputs;
        std::string out = "corral";
        bool json = false;
    };
    auto opts = std::make_shared<Options>();
    cmd->add_option("--out", opts->out, "Directory to write into (created if missing)")
        ->type_name("DIR")
        ->check(non_empty_path())
        ->capture_default_str();
    cmd->add_flag("--json", opts->json,
                  "Print what was written as JSON (corral.generate/1): the directory, each "
                  "file's absolute path, the warnings");
    add_plan_input_options(cmd, opts->inputs);
    cmd->callback([opts, &status] {
        status = guarded("generate", [&] {
            auto planned = make_planned(opts->inputs);
            auto files = render_outputs(planned.facts, planned.plan);
            write_outputs(opts->out, files);
            if (opts->json) {
                const auto dir = std::filesystem::absolute(opts->out).lexically_normal();
                nlohmann::ordered_json written = nlohmann::ordered_json::array();
                for (const auto& f : files)
                    written.push_back((dir / f.name).string());
                std::cout << nlohmann::ordered_json{{"schema", "corral.generate/1"},
                                                    {"out", dir.string()},
                                                    {"files", written},
                                                    {"warnings", to_json(planned.plan)["warnings"]}}
                                 .dump(2)
                          << "\n";
                return;
            }
            std::cout << "corral: wrote " << files.size() << " files to " << opts->out << "/ ("
                      << planned.plan.warnings.size() << " warnings; see " << opts->out
                      << "/report.txt)\n";
            for (const auto& w : planned.plan.warnings)
                std::cerr << "corral: warning [" << w.code_name() << "]: " << w.message << "\n";
        });
    });
}

void add_spec(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "spec",
        "Print the CTest resource spec (resources.json): mem_mib slots for the memory\n"
        "budget, heavy_io slots per scratch filesystem, cpus slots for the test parallel\n"
        "level, one gpus id per device, and named resources. CTest reads no environment variable "
        "for it: pass the file with\n"
        "`ctest --resource-spec-file FILE`, the CTEST_RESOURCE_SPEC_FILE CMake variable\n"
        "(3.18+), a test preset's resourceSpecFile, or a GENERATED_RESOURCE_SPEC_FILE\n"
        "fixture (3.28+).");
    cmd->footer(kPlanInputsHelp);
    auto opts = add_single(cmd);
    cmd->callback([opts, &status] {
        status = guarded("spec", [&] {
            put(emit_resource_spec(make_planned(opts->inputs).plan), opts->output_file);
        });
    });
}

void add_pools(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "pools",
        "Print the Ninja job pools (compile and link depths from the memory budget and\n"
        "the memory a job needs, never above the CPUs, never below 1; extra pools from\n"
        "policy):\n"
        "  --cmake  for `cmake -G Ninja -C pools.cmake` or include(pools.cmake)\n"
        "  --ninja  `pool` blocks for hand-written build.ninja files");
    cmd->footer(kPlanInputsHelp);
    auto opts = add_single(cmd);
    auto format = std::make_shared<std::string>();
    auto* group = cmd->add_option_group("format", "Output format (exactly one)");
    group->add_flag_callback(
        "--cmake", [format] { *format = "cmake"; }, "pools.cmake");
    group->add_flag_callback(
        "--ninja", [format] { *format = "ninja"; }, "pools.ninja");
    group->require_option(1);
    cmd->callback([opts, format, &status] {
        status = guarded("pools", [&] {
            auto plan = make_planned(opts->inputs).plan;
            put(*format == "ninja" ? emit_pools_ninja(plan) : emit_pools_cmake(plan),
                opts->output_file);
        });
    });
}

void add_env(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "env",
        "Print the planned environment (CTEST_PARALLEL_LEVEL, CMAKE_BUILD_PARALLEL_LEVEL,\n"
        "MAKEFLAGS, TMPDIR, the timeout multiplier, policy extras, ...):\n"
        "  --format sh      export lines:  eval \"$(corral env)\"  or  . env.sh\n"
        "  --format github  NAME=value lines:  corral env --format github >> \"$GITHUB_ENV\"");
    cmd->footer(kPlanInputsHelp);
    auto opts = add_single(cmd);
    auto format = std::make_shared<std::string>("sh");
    cmd->add_option("--format", *format, "sh or github")
        ->check(CLI::IsMember({"sh", "github"}))
        ->capture_default_str();
    cmd->callback([opts, format, &status] {
        status = guarded("env", [&] {
            auto plan = make_planned(opts->inputs).plan;
            put(*format == "github" ? emit_github_env(plan) : emit_env_sh(plan), opts->output_file);
        });
    });
}

void add_ci(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "ci",
        "Print a CI workflow with one test job that runs `corral generate` on the runner,\n"
        "loads its environment, builds with the planned pools and runs ctest with\n"
        "--resource-spec-file, --timeout and --output-on-failure (plus --stop-on-failure,\n"
        "--repeat after-timeout:N and sudo --preserve-env=... when the policy asks):\n"
        "  --github   for .github/workflows/\n"
        "  --forgejo  for .forgejo/workflows/\n"
        "With --shards N: a matrix of N shard jobs running the committed ci/shards/ files of\n"
        "`corral shard`, and a job merging their records into one `corral report`\n"
        "(docs/sharding.md).");
    cmd->footer(kPlanInputsHelp);
    auto opts = add_single(cmd);
    auto forge = std::make_shared<std::string>();
    auto shards = std::make_shared<int>(0);
    cmd->add_option(
           "--shards", *shards,
           "Emit the sharded workflow with N shard jobs (1-256: one matrix holds at most 256 jobs)")
        ->type_name("N")
        ->transform(in_range(1, 256, true));
    auto* group = cmd->add_option_group("forge", "CI system (exactly one)");
    group->add_flag_callback(
        "--github", [forge] { *forge = "github"; }, "GitHub Actions");
    group->add_flag_callback(
        "--forgejo", [forge] { *forge = "forgejo"; }, "Forgejo Actions");
    group->require_option(1);
    cmd->callback([opts, forge, shards, &status] {
        status = guarded("ci", [&] {
            auto plan = make_planned(opts->inputs).plan;
            if (*shards > 0)
                put(*forge == "forgejo" ? emit_forgejo_sharded_workflow(plan, *shards)
                                        : emit_github_sharded_workflow(plan, *shards),
                    opts->output_file);
            else
                put(*forge == "forgejo" ? emit_forgejo_workflow(plan) : emit_github_workflow(plan),
                    opts->output_file);
        });
    });
}

}  // namespace

void add_generator_commands(CLI::App& app, int& status) {
    add_generate(app, status);
    add_spec(app, status);
    add_pools(app, status);
    add_env(app, status);
    add_ci(app, status);
}

}  // namespace corral::cli
