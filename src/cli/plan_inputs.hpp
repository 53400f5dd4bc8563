// The command-line face shared by `corral plan` and the emit commands
// (generate, spec, pools, env, ci): where the policy comes from, overrides of
// the probe, and the probe's own options.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "generator/policy.hpp"
#include "plan/plan.hpp"
#include "probe/facts.hpp"
#include "probe/probe.hpp"

namespace corral::cli {

struct PlanInputs {
    std::string config;                   // --config FILE ("" = discover)
    std::optional<std::string> cpus;      // --cpus N
    std::optional<std::string> memory;    // --memory SIZE
    std::vector<std::string> sanitizers;  // --sanitizer NAME (repeatable)
    std::string facts_file;               // --facts FILE: plan from saved facts, no probe
    ProbeOptions probe;                   // --root, --scratch, --io-bench; env (injectable)
    std::string working_dir = ".";        // where ./corral.yaml is looked for
};

// Adds --config, --cpus, --memory, --sanitizer, --root, --scratch, --io-bench, --facts.
void add_plan_input_options(CLI::App* cmd, PlanInputs& in);

// Which policy file applies: --config, else $CORRAL_CONFIG, else ./corral.yaml
// when it exists, else none (built-in defaults). Returns "" for none.
std::string discover_policy_file(const PlanInputs& in);

struct Planned {
    Facts facts;
    Policy policy;
    Plan plan;
};

// Policy (defaults < file < CORRAL_* < command line), then facts (probe, or
// --facts), then the plan. Throws PolicyError on any bad input; writes nothing.
Planned make_planned(const PlanInputs& in);

}  // namespace corral::cli
