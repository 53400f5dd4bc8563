// corral plan: probe (or load saved facts), read the policy, decide; print
// every decision with its reason and every warning (or the plan as JSON).
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/plan_inputs.hpp"
#include "common/text.hpp"
#include "generator/emit.hpp"
#include "plan/plan_json.hpp"

namespace corral::cli {
namespace {

void row(std::ostream& out, const std::string& what, const std::string& value,
         const std::string& reason) {
    out << "  " << std::left << std::setw(16) << what;
    if (reason.empty())
        out << value;
    else
        out << std::setw(10) << value << "  " << reason;
    out << "\n";
}

std::string yes_no(bool b) {
    return b ? "yes" : "no";
}

void describe_plan(std::ostream& out, const Plan& p) {
    out << "Plan (" << p.schema
        << "), policy: " << (p.policy_file.empty() ? "built-in defaults" : p.policy_file) << "\n";
    row(out, "CPUs", std::to_string(p.cpus), p.cpus_reason);
    row(out, "memory", human_bytes(p.memory_bytes), p.memory_reason);
    row(out, "memory budget", human_bytes(p.memory_budget_bytes), p.memory_budget_reason);
    row(out, "test parallel", std::to_string(p.test_parallel_level), p.test_parallel_reason);
    row(out, "", "", ctest_bound(p));
    row(out, "build parallel", std::to_string(p.build_parallel_level), p.build_parallel_reason);
    row(out, "scratch", p.scratch_dir.empty() ? "(none)" : p.scratch_dir, p.scratch_reason);
    std::ostringstream mult;
    mult << "x" << p.timeout_multiplier;
    row(out, "timeout", mult.str(), p.timeout_reason);
    row(out, "job timeout", std::to_string(p.job_timeout_minutes) + " min", "");
    row(out, "CI", "",
        "stop on failure: " + yes_no(p.stop_on_failure) +
            ", repeat after timeout: " + std::to_string(p.repeat_after_timeout) +
            ", tests run under sudo: " + yes_no(p.tests_run_under_sudo));

    out << "CTest resources (--resource-spec-file):\n";
    for (const auto& r : p.resources) {
        out << "  " << r.name << ": " << r.reason << "\n";
        for (const auto& id : r.ids) {
            out << "    id " << id.id << ": " << id.slots << " slots";
            if (!id.detail.empty()) out << ", " << id.detail;
            if (!id.path.empty()) out << " -> " << id.path;
            out << "\n";
        }
    }
    out << "Ninja pools:\n";
    for (const auto& pool : p.pools)
        row(out, pool.name, std::to_string(pool.depth), pool.reason);
    out << "Environment:\n";
    for (const auto& v : p.env)
        out << "  " << v.name << "=" << v.value << (v.reason.empty() ? "" : "  (" + v.reason + ")")
            << "\n";
    out << "Warnings: " << p.warnings.size() << "\n";
    for (const auto& w : p.warnings)
        out << "  [" << w.code_name() << "] " << w.message << "\n";
}

}  // namespace

void add_plan_command(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "plan",
        "Decide, from the probed host (or --facts) and the policy (corral.yaml, CORRAL_*,\n"
        "options): test and build parallel levels, CTest resources (mem_mib, heavy_io, gpus,\n"
        "named), Ninja pool depths, the scratch directory, timeouts; each with its reason,\n"
        "plus warnings with numbers. Writes nothing. Exit 2 on a bad policy or option.");
    struct Options {
        PlanInputs inputs;
        bool json = false;
    };
    auto opts = std::make_shared<Options>();
    cmd->add_flag("--json", opts->json, "Print the plan as JSON (schema corral.plan/1)");
    add_plan_input_options(cmd, opts->inputs);
    cmd->footer(
        "\nExamples:\n"
        "  corral plan                          this host, ./corral.yaml if present\n"
        "  corral plan --cpus 4 --memory 16G    plan for a 4-CPU, 16 GiB runner instead\n"
        "  corral plan --sanitizer tsan         timeouts for a ThreadSanitizer run\n"
        "  corral probe --json > facts.json && corral plan --facts facts.json --json\n"
        "Precedence: built-in defaults < corral.yaml < CORRAL_* variables < options.\n"
        "Policy knobs: docs/policy.md. Plan fields and warning codes: docs/plan-schema.md.");
    cmd->callback([opts, &status] {
        try {
            auto planned = make_planned(opts->inputs);
            if (opts->json)
                std::cout << to_json(planned.plan).dump(2) << "\n";
            else
                describe_plan(std::cout, planned.plan);
            status = kExitOk;
        } catch (const PolicyError& e) {
            std::cerr << "corral plan: " << e.what() << "\n";
            status = kExitUsage;
        } catch (const std::exception& e) {
            std::cerr << "corral plan: " << e.what() << "\n";
            status = kExitFailure;
        }
    });
}

}  // namespace corral::cli
