// The planner: Facts + Policy -> Plan. Pure (no I/O, clock or environment), so
// every decision is unit-tested with hand-built Facts. Each decision carries
// its reason with the numbers; anything a user might be surprised by is also a
// Warning with a stable code (plan.hpp WarningCode; docs/plan-schema.md).
// This file: the order of the steps, CPUs, memory, the test and build levels.
// Scratch is planner_scratch.cpp; resources, timeouts, CI and env planner_outputs.cpp.
#include "generator/planner.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/text.hpp"
#include "generator/planner_steps.hpp"
#include "generator/policy_knobs.hpp"

namespace corral {
namespace planning {

std::string num(double v) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, p) : std::to_string(v);
}

std::string plural(long long n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string cpus_text(long long n) {
    return plural(n, "CPU", "CPUs");
}

std::string who_set(const std::string& source, const std::string& key, const std::string& value) {
    if (source.rfind("CORRAL_", 0) == 0) return source + "=" + value;
    if (source.rfind("--", 0) == 0) return source + " " + value;
    if (source == "default") return key + " " + value + " (default)";
    return key + ": " + value + " (" + source + ")";
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : ", ") + p;
    return out;
}

void size_cpus(Step& s) {
    const int probed = std::max(1, s.f.cpu.effective);
    const bool unknown = !s.f.cpu.online && !s.f.cpu.affinity;
    if (s.p.cpus_override.value) {
        s.plan.cpus = *s.p.cpus_override.value;
        s.plan.cpus_source = s.p.cpus_override.source;
        std::string what =
            who_set(s.p.cpus_override.source, "cpu.cpus", std::to_string(s.plan.cpus)) +
            " overrides the probed " +
            (unknown ? std::string("(unknown) CPU count") : cpus_text(probed));
        s.plan.cpus_reason = what;
        if (s.plan.cpus != probed || unknown) s.warn(WarningCode::probe_overridden, what);
    } else {
        s.plan.cpus = probed;
        s.plan.cpus_source = "probe";
        s.plan.cpus_reason = s.f.cpu.effective_source.empty()
                                 ? cpus_text(probed) + " from the probe"
                                 : s.f.cpu.effective_source;
        if (unknown)
            s.warn(WarningCode::unknown_fact,
                   "the probe could not count CPUs (" + s.f.cpu.online_source + "); planning for " +
                       cpus_text(probed) + " — pass --cpus N or set CORRAL_CPUS");
    }

    int usable = s.plan.cpus - s.p.cpus_keep_free.value;
    if (usable < 1) {
        s.warn(WarningCode::keep_free_too_high, who_set(s.p.cpus_keep_free.source, "cpu.keep_free",
                                                        std::to_string(s.p.cpus_keep_free.value)) +
                                                    " leaves no CPU of " +
                                                    std::to_string(s.plan.cpus) + "; using 1");
        usable = 1;
    }
    s.cpu_level =
        std::max(1, static_cast<int>(std::floor(usable * s.p.cpu_oversubscription.value + 1e-9)));
}

// The reserve kept out of the test budget (docs/policy.md, "Memory reserve").
// Sets s.plan.memory_reserve_bytes; returns "reserve X = ..." with the numbers.
std::string choose_reserve(Step& s, uint64_t mem, bool probed) {
    const auto& m = s.f.memory;
    auto flat = [&](const std::string& why) {
        const auto fraction_bytes =
            static_cast<uint64_t>(static_cast<double>(mem) * s.p.memory_reserve_fraction.value);
        s.plan.memory_reserve_bytes = std::max(fraction_bytes, s.p.memory_reserve_min_bytes.value);
        return "reserve " + human_bytes(s.plan.memory_reserve_bytes) + " = max(" +
               num(s.p.memory_reserve_fraction.value * 100) + " % of " + human_bytes(mem) + ", " +
               human_bytes(s.p.memory_reserve_min_bytes.value) + ") " + why;
    };
    if (s.p.memory_reserve_bytes.value) {
        s.plan.memory_reserve_bytes = *s.p.memory_reserve_bytes.value;
        return "reserve " + human_bytes(s.plan.memory_reserve_bytes) + " (" +
               who_set(s.p.memory_reserve_bytes.source, "memory.reserve",
                       human_bytes(s.plan.memory_reserve_bytes)) +
               ")";
    }
    if (s.p.memory_reserve_fraction.source != "default" ||
        s.p.memory_reserve_min_bytes.source != "default")
        return flat("(memory.reserve_fraction " + s.p.memory_reserve_fraction.source +
                    ", memory.reserve_min " + s.p.memory_reserve_min_bytes.source + ")");

    // Measured: what lives beside the tests + the launchers + a margin.
    uint64_t beside = 0;
    std::string beside_text;
    if (s.plan.memory_source == "assumed") {
        return flat("(the memory size is an assumption: nothing was measured)");
    } else if (!probed) {
        beside_text = "0 in use counted (the memory size is set by policy, " +
                      s.p.memory_override.source + ")";
    } else if (m.available_bytes) {
        beside = mem - std::min(mem, *m.available_bytes);
        beside_text = human_bytes(beside) + " in use beside the tests (" +
                      (m.in_use_bytes && *m.in_use_bytes == beside
                           ? m.in_use_source
                           : human_bytes(mem) + " - available " + human_bytes(*m.available_bytes) +
                                 " from " + m.available_source) +
                      ")";
    } else {
        return flat("(what is in use is unknown: " + m.available_source + ")");
    }
    const uint64_t margin = s.p.memory_reserve_margin_bytes.value;
    const uint64_t overhead = s.p.launcher_overhead_bytes.value;
    // Tests that can run at once: the forced level, else min(CPU level, what fits).
    const uint64_t room = mem - std::min(mem, beside + margin);
    const long long fit =
        static_cast<long long>(room / (s.p.memory_per_test_bytes.value + overhead));
    const long long concurrent = s.p.test_parallel_level.value
                                     ? *s.p.test_parallel_level.value
                                     : std::max(1LL, std::min<long long>(s.cpu_level, fit));
    const uint64_t launchers = static_cast<uint64_t>(concurrent) * overhead;
    s.plan.memory_reserve_bytes = beside + launchers + margin;
    return "reserve " + human_bytes(s.plan.memory_reserve_bytes) + " = " + beside_text + " + " +
           std::to_string(concurrent) + " x " + human_bytes(overhead) +
           " launcher overhead (memory.launcher_overhead, " + s.p.launcher_overhead_bytes.source +
           ") + margin " + human_bytes(margin) + " (memory.reserve_margin, " +
           s.p.memory_reserve_margin_bytes.source + ")";
}

void size_memory(Step& s) {
    const auto& m = s.f.memory;
    if (s.p.memory_override.value) {
        s.plan.memory_bytes = *s.p.memory_override.value;
        s.plan.memory_source = s.p.memory_override.source;
        std::string what =
            who_set(s.p.memory_override.source, "memory.total", human_bytes(s.plan.memory_bytes)) +
            " overrides the probed " +
            (m.effective_bytes ? human_bytes(*m.effective_bytes) : std::string("(unknown)")) +
            " of memory";
        s.plan.memory_reason = what;
        if (!m.effective_bytes || *m.effective_bytes != s.plan.memory_bytes)
            s.warn(WarningCode::probe_overridden, what);
    } else if (m.effective_bytes) {
        s.plan.memory_bytes = *m.effective_bytes;
        s.plan.memory_source = "probe";
        s.plan.memory_reason = m.effective_source.empty()
                                   ? human_bytes(s.plan.memory_bytes) + " from the probe"
                                   : m.effective_source;
    } else {
        s.plan.memory_bytes = kUnknownMemoryAssumptionBytes;
        s.plan.memory_source = "assumed";
        s.plan.memory_reason = "memory unknown (" + m.effective_source + "); assumed " +
                               human_bytes(kUnknownMemoryAssumptionBytes);
        s.warn(WarningCode::unknown_fact, "the probe could not tell the memory size (" +
                                              m.effective_source + "); planning for a safe " +
                                              human_bytes(kUnknownMemoryAssumptionBytes) +
                                              " — pass --memory SIZE or set CORRAL_MEMORY");
    }

    const uint64_t mem = s.plan.memory_bytes;
    const bool probed = !s.p.memory_override.value && m.effective_bytes;
    if (probed && m.ceiling_kind == "memory.high")
        s.warn(WarningCode::memory_high,
               m.ceiling_source +
                   ": above it the cgroup is throttled and reclaimed hard "
                   "(cgroup-v2.rst, memory.high), so the budget fits under " +
                   human_bytes(*m.ceiling_bytes) + ", not under " +
                   (m.limit_bytes ? "memory.max " + human_bytes(*m.limit_bytes)
                                  : std::string("MemTotal")));
    const std::string reserve_text = choose_reserve(s, mem, probed);
    if (mem > s.plan.memory_reserve_bytes) {
        s.plan.memory_budget_bytes = mem - s.plan.memory_reserve_bytes;
        s.plan.memory_budget_reason = human_bytes(mem) + " minus " + reserve_text;
    } else {
        s.plan.memory_budget_bytes = std::max<uint64_t>(mem / 2, kMiB);
        s.plan.memory_budget_reason =
            reserve_text + " would leave nothing of " + human_bytes(mem) + "; using half";
        s.warn(WarningCode::memory_reserve_too_high, s.plan.memory_budget_reason);
    }
    s.plan.memory_per_test_bytes = s.p.memory_per_test_bytes.value;

    // A busy host (other jobs, a leftover build) has less free than its size;
    // a shortfall under 10 % of the budget is noise, not news.
    if (!s.p.memory_override.value && m.available_bytes &&
        static_cast<double>(*m.available_bytes) <
            0.9 * static_cast<double>(s.plan.memory_budget_bytes))
        s.warn(WarningCode::memory_in_use,
               "only " + human_bytes(*m.available_bytes) +
                   " of memory is available now, less than the " +
                   human_bytes(s.plan.memory_budget_bytes) + " budget: something else is using " +
                   human_bytes(s.plan.memory_budget_bytes - *m.available_bytes) + " of it");
}

void size_tests(Step& s) {
    const uint64_t per_test = s.p.memory_per_test_bytes.value;
    const uint64_t budget = s.plan.memory_budget_bytes;
    const auto fit = static_cast<long long>(budget / per_test);
    const std::string fit_text = "the " + human_bytes(budget) + " memory budget fits " +
                                 plural(fit, "test", "tests") + " of " + human_bytes(per_test) +
                                 " (memory.per_test)";
    const std::string cpu_text =
        cpus_text(s.plan.cpus) +
        (s.p.cpus_keep_free.value
             ? " minus " + std::to_string(s.p.cpus_keep_free.value) + " kept free"
             : std::string()) +
        (s.p.cpu_oversubscription.value != 1.0
             ? " x oversubscription " + num(s.p.cpu_oversubscription.value)
             : std::string()) +
        " = " + std::to_string(s.cpu_level);

    if (s.p.test_parallel_level.value) {
        s.plan.test_parallel_level = *s.p.test_parallel_level.value;
        s.plan.test_parallel_reason =
            "requested: " + who_set(s.p.test_parallel_level.source, "tests.parallel_level",
                                    std::to_string(s.plan.test_parallel_level));
        if (s.plan.test_parallel_level > fit)
            s.warn(WarningCode::memory_tight,
                   "requested test parallel level " + std::to_string(s.plan.test_parallel_level) +
                       " x " + human_bytes(per_test) + " = " +
                       human_bytes(per_test * s.plan.test_parallel_level) + " exceeds the " +
                       human_bytes(budget) + " memory budget");
    } else {
        s.plan.test_parallel_level =
            std::max(1, static_cast<int>(std::min<long long>(s.cpu_level, std::max(1LL, fit))));
        if (fit < s.cpu_level)
            s.plan.test_parallel_reason = "memory-bound: " + fit_text + " (CPUs: " + cpu_text + ")";
        else
            s.plan.test_parallel_reason = "CPU-bound: " + cpu_text + "; " + fit_text;
    }
    if (fit < s.plan.cpus)
        s.warn(WarningCode::memory_tight, fit_text + ", fewer than the " + cpus_text(s.plan.cpus) +
                                              (fit < 1 ? "; even one such test does not fit" : ""));
    if (s.plan.test_parallel_level > 2 * s.plan.cpus)
        s.warn(WarningCode::oversubscribed, "test parallel level " +
                                                std::to_string(s.plan.test_parallel_level) +
                                                " is above 2 x " + cpus_text(s.plan.cpus) + " = " +
                                                std::to_string(2 * s.plan.cpus));
}

// Ninja pool depth for jobs of `per_job` bytes: max(1, min(cpus, budget / per_job)).
int depth_for(const Step& s, uint64_t per_job, std::string& reason) {
    const auto fit = static_cast<long long>(s.plan.memory_budget_bytes / per_job);
    const int depth = std::max(1, static_cast<int>(std::min<long long>(s.cpu_level, fit)));
    reason = "max(1, min(" + std::to_string(s.cpu_level) + " CPUs, " +
             human_bytes(s.plan.memory_budget_bytes) + " / " + human_bytes(per_job) + " = " +
             std::to_string(fit) + ")) = " + std::to_string(depth);
    return depth;
}

void size_build(Step& s) {
    std::string compile_reason, link_reason;
    const int compile = depth_for(s, s.p.compile_job_memory_bytes.value, compile_reason);
    const int link = depth_for(s, s.p.link_job_memory_bytes.value, link_reason);
    s.plan.build_parallel_level = compile;
    s.plan.build_parallel_reason = "compile jobs of " +
                                   human_bytes(s.p.compile_job_memory_bytes.value) +
                                   " (build.compile_job_memory, " +
                                   s.p.compile_job_memory_bytes.source + "): " + compile_reason;
    s.plan.pools.push_back({s.plan.compile_pool, compile,
                            "compile jobs of " + human_bytes(s.p.compile_job_memory_bytes.value) +
                                ": " + compile_reason});
    s.plan.pools.push_back({s.plan.link_pool, link,
                            "link jobs of " + human_bytes(s.p.link_job_memory_bytes.value) +
                                " (build.link_job_memory, " + s.p.link_job_memory_bytes.source +
                                "): " + link_reason});
    for (const auto& extra : s.p.extra_pools) {
        if (extra.depth) {
            s.plan.pools.push_back(
                {extra.name, *extra.depth, "fixed depth from policy (" + extra.source + ")"});
            if (*extra.depth > 2 * s.plan.cpus)
                s.warn(WarningCode::oversubscribed, "pool " + extra.name + " depth " +
                                                        std::to_string(*extra.depth) +
                                                        " is above 2 x " + cpus_text(s.plan.cpus));
        } else {
            std::string reason;
            int depth = depth_for(s, *extra.memory_per_job_bytes, reason);
            s.plan.pools.push_back({extra.name, depth,
                                    "jobs of " + human_bytes(*extra.memory_per_job_bytes) + " (" +
                                        extra.source + "): " + reason});
        }
    }
}

}  // namespace planning

Plan make_plan(const Facts& facts, const Policy& policy) {
    // Every division below is by a policy number (memory.per_test, the job
    // memories, a pool's memory_per_job) or by the test level: a zero is refused
    // here at its knob and source, never divided by.
    check_policy_values(policy);
    Plan plan;
    plan.policy_file = policy.file;
    planning::Step step{facts, policy, plan};
    planning::size_cpus(step);
    planning::size_memory(step);
    planning::size_tests(step);
    planning::size_build(step);
    planning::choose_scratch(step);
    planning::add_resources(step);
    planning::set_timeouts(step);
    planning::set_ci(step);
    planning::set_env(step);
    return plan;
}

}  // namespace corral
