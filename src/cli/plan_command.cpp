// corral plan: probe (or load saved facts), read the policy, decide; print
// every decision with its reason and every warning: the same text corral
// generate writes to report.txt (emit_report, the one renderer), or the plan
// as JSON.
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/plan_inputs.hpp"
#include "generator/emit.hpp"
#include "plan/plan_json.hpp"

namespace corral::cli {

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
                std::cout << emit_report(planned.plan);  // the renderer of report.txt
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
