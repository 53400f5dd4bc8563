// The planner's steps (planner.cpp, planner_scratch.cpp, planner_outputs.cpp),
// in the order make_plan runs them; not part of the generator's interface.
// HACKING.md "Where a plan number comes from" maps each plan field to its step.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "generator/policy.hpp"
#include "plan/plan.hpp"
#include "probe/facts.hpp"

namespace corral::planning {

inline constexpr uint64_t kMiB = 1ull << 20;

// What the steps share: the inputs, the plan so far, and two intermediate numbers.
struct Step {
    const Facts& f;
    const Policy& p;
    Plan& plan;
    // The heavy_io filesystems, the chosen scratch first (choose_scratch).
    std::vector<const ScratchFacts*> heavy_io_fs{};
    int cpu_level = 1;  // CPUs x oversubscription, minus kept-free (size_cpus)

    void warn(WarningCode code, std::string message) {
        plan.warnings.push_back({code, std::move(message)});
    }
};

// planner.cpp: cpus, cpus_*; memory_*; test_parallel_*; build_parallel_*, pools.
void size_cpus(Step& s);
void size_memory(Step& s);
void size_tests(Step& s);
void size_build(Step& s);
// planner_scratch.cpp: scratch_*, and the heavy_io filesystems.
void choose_scratch(Step& s);
// planner_outputs.cpp: resources; timeout_*, test_timeout_seconds; CI; env.
void add_resources(Step& s);
void set_timeouts(Step& s);
void set_ci(Step& s);
void set_env(Step& s);

// Wording shared by the reasons.
std::string num(double v);  // shortest decimal: 1.5, 3, 0.25
std::string plural(long long n, const std::string& one, const std::string& many);
std::string cpus_text(long long n);  // "1 CPU", "8 CPUs"
// "CORRAL_CPUS=8", "--cpus 8", "cpu.cpus: 8 (corral.yaml:3:8)", "cpu.cpus 8 (default)".
std::string who_set(const std::string& source, const std::string& key, const std::string& value);
std::string join(const std::vector<std::string>& parts);  // "a, b, c"

}  // namespace corral::planning
