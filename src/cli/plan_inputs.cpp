#include "cli/plan_inputs.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "common/read_file.hpp"
#include "generator/planner.hpp"
#include "probe/facts_json.hpp"

namespace corral::cli {
namespace {

Facts load_facts_file(const std::string& path) {
    auto text = read_file(path);
    if (!text)
        throw PolicyError::other(path, 0, 0, "",
                                 "cannot read the saved facts (--facts): " + text.error);
    try {
        return facts_from_json(nlohmann::ordered_json::parse(*text));
    } catch (const std::exception& e) {
        throw PolicyError::other(path, 0, 0, "",
                                 std::string("not a corral.facts/1 document (from corral probe "
                                             "--json): ") +
                                     e.what());
    }
}

}  // namespace

void add_plan_input_options(CLI::App* cmd, PlanInputs& in) {
    cmd->add_option("--config", in.config,
                    "Policy file (default: $CORRAL_CONFIG, else ./corral.yaml if present, "
                    "else built-in defaults; see docs/policy.md)")
        ->type_name("FILE")
        ->check(non_empty_path());
    cmd->add_option("--cpus", in.cpus,
                    "Plan for N CPUs instead of the probed count (also CORRAL_CPUS); the plan "
                    "warns that it overrides the probe")
        ->type_name("N");
    cmd->add_option("--memory", in.memory,
                    "Plan for SIZE of memory (512MiB, 8G, 1.5GiB) instead of the probed amount "
                    "(also CORRAL_MEMORY)")
        ->type_name("SIZE");
    cmd->add_option("--sanitizer", in.sanitizers,
                    "Tests run under NAME (asan, hwasan, lsan, msan, tsan, ubsan, valgrind); "
                    "raises the timeout multiplier. Repeatable or comma-separated")
        ->type_name("NAME");
    auto* facts = cmd->add_option("--facts", in.facts_file,
                                  "Plan from a saved facts.json (corral probe --json) instead "
                                  "of probing this host")
                      ->type_name("FILE")
                      ->check(non_empty_path());
    auto* root = cmd->add_option("--root", in.probe.root,
                                 "Probe /proc, /sys and mounts under DIR instead of / "
                                 "(recorded host trees)")
                     ->type_name("DIR");
    auto* scratch = cmd->add_option("--scratch", in.probe.extra_scratch,
                                    "Also consider PATH as a scratch directory (repeatable)")
                        ->type_name("PATH");
    auto* bench = cmd->add_flag("--io-bench", in.probe.io_bench,
                                "Measure each scratch filesystem's write throughput (bounded, "
                                "fsync included) so the plan can prefer the fast one");
    facts->excludes(root)->excludes(scratch)->excludes(bench);
}

std::string discover_policy_file(const PlanInputs& in) {
    if (!in.config.empty()) return in.config;
    if (auto it = in.probe.env.find("CORRAL_CONFIG");
        it != in.probe.env.end() && !it->second.empty())
        return it->second;
    std::error_code ec;
    auto local = std::filesystem::path(in.working_dir) / "corral.yaml";
    if (std::filesystem::exists(local, ec)) return local.lexically_normal().string();
    return {};
}

Planned make_planned(const PlanInputs& in) {
    Planned out;
    out.policy = default_policy();
    if (auto file = discover_policy_file(in); !file.empty()) {
        std::error_code ec;
        if (in.config.empty() && !std::filesystem::exists(file, ec))
            throw PolicyError::other("CORRAL_CONFIG", 0, 0, "",
                                     file +
                                         ": no such policy file (unset CORRAL_CONFIG to "
                                         "use ./corral.yaml or the built-in defaults)");
        load_policy_file(out.policy, file);
    }
    // An unknown CORRAL_* variable is a warning on stderr, with a did-you-mean
    // (docs/policy.md "Unknown variables"); it never changes the plan.
    for (const auto& w : apply_environment(out.policy, in.probe.env))
        std::cerr << "corral: warning: " << w << "\n";
    if (in.cpus) apply_cpus_option(out.policy, *in.cpus, "--cpus");
    if (in.memory) apply_memory_option(out.policy, *in.memory, "--memory");
    apply_sanitizer_option(out.policy, in.sanitizers, "--sanitizer");

    if (!in.facts_file.empty()) {
        out.facts = load_facts_file(in.facts_file);
    } else {
        ProbeOptions options = in.probe;
        // Policy candidates (and the cache directory, to learn its filesystem)
        // are probed like --scratch paths.
        for (const auto& c : out.policy.scratch_candidates)
            options.extra_scratch.push_back(c);
        if (!out.policy.cache_dir.value.empty())
            options.extra_scratch.push_back(out.policy.cache_dir.value);
        out.facts = probe(options);
    }
    out.plan = make_plan(out.facts, out.policy);
    return out;
}

}  // namespace corral::cli
