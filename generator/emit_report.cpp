// report.txt: what was planned and why, for a human; every warning in full.
#include "common/text.hpp"
#include "generator/emit.hpp"

namespace corral {
namespace {

std::string because(const std::string& reason) {
    return reason.empty() ? "" : "\n      " + reason;
}

}  // namespace

std::string ctest_bound(const Plan& plan) {
    const ResourceType* cpus = nullptr;
    for (const auto& type : plan.resources)
        if (type.name == "cpus") cpus = &type;
    if (!cpus || cpus->ids.empty())
        return "ctest -jN runs N tests at once: the spec bounds no CPUs";
    int slots = 0;
    for (const auto& id : cpus->ids)
        slots += id.slots;
    return "ctest -jN with this spec: at most " + std::to_string(slots) +
           " Corral tests at once whatever N (each holds cpus:<its PROCESSORS> of " +
           std::to_string(slots) + " slots; off: corral_setup(CPU_BOUND OFF)); other tests up to N";
}

std::string emit_report(const Plan& plan) {
    std::string out = "corral plan (" + plan.schema + ")\n\n";
    out += "Policy       " + (plan.policy_file.empty() ? "built-in defaults" : plan.policy_file) +
           "\n";
    out += "Sized from   " + std::to_string(plan.cpus) + " CPUs (" + plan.cpus_source + "), " +
           human_bytes(plan.memory_bytes) + " memory (" + plan.memory_source + ")\n";
    out += "Memory       " + human_bytes(plan.memory_budget_bytes) + " budget for tests" +
           because(plan.memory_budget_reason) + "\n";
    out += "Tests        " + std::to_string(plan.test_parallel_level) + " at a time" +
           because(plan.test_parallel_reason) + "\n";
    out += "      " + ctest_bound(plan) + "\n";
    out += "Builds       " + std::to_string(plan.build_parallel_level) + " at a time" +
           because(plan.build_parallel_reason) + "\n";
    out += "Timeouts     x" + shortest_decimal(plan.timeout_multiplier) + ": ctest --timeout " +
           std::to_string(plan.test_timeout_seconds) + " s, CI job " +
           std::to_string(plan.job_timeout_minutes) + " min" + because(plan.timeout_reason) + "\n";
    if (plan.stop_on_failure) out += "             ctest --stop-on-failure\n";
    if (plan.tests_run_under_sudo) out += "             tests run under sudo --preserve-env\n";
    if (plan.repeat_after_timeout > 0)
        out += "             ctest --repeat after-timeout:" +
               std::to_string(plan.repeat_after_timeout) + "\n";
    out += "Scratch      " + (plan.scratch_dir.empty() ? "(none chosen)" : plan.scratch_dir) +
           because(plan.scratch_reason) + "\n";

    out += "\nCTest resources (resources.json; pass it with ctest --resource-spec-file):\n";
    if (plan.resources.empty()) out += "  (none)\n";
    for (const auto& type : plan.resources) {
        out += "  " + type.name + ":";
        if (type.ids.empty()) out += " no ids";
        for (const auto& id : type.ids) {
            out += "\n    " + id.id + "  " + std::to_string(id.slots) + " slot" +
                   (id.slots == 1 ? "" : "s");
            if (!id.detail.empty()) out += "  " + id.detail;
            if (!id.path.empty() && id.path != id.detail) out += "  " + id.path;
        }
        out += because(type.reason) + "\n";
    }

    out += "\nNinja pools (pools.cmake, pools.ninja):\n";
    if (plan.pools.empty()) out += "  (none)\n";
    for (const auto& pool : plan.pools) {
        std::string role = pool.name == plan.compile_pool ? " (compile jobs)"
                           : pool.name == plan.link_pool  ? " (link jobs)"
                                                          : "";
        out += "  " + pool.name + role + ": depth " + std::to_string(pool.depth) +
               because(pool.reason) + "\n";
    }

    out += "\nEnvironment (env.sh, github.env):\n";
    if (plan.env.empty()) out += "  (none)\n";
    for (const auto& var : plan.env)
        out += "  " + var.name + "=" + var.value + "\n";

    out += "\nWarnings: " + std::to_string(plan.warnings.size()) + "\n";
    for (const auto& w : plan.warnings)
        out += "  [" + std::string(w.code_name()) + "] " + w.message + "\n";
    return out;
}

}  // namespace corral
