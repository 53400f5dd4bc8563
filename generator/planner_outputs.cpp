// The planner's outputs from the sized numbers: the CTest resources, the
// timeouts, the CI switches and the exported environment.
#include <algorithm>
#include <cmath>
#include <map>

#include "common/text.hpp"
#include "generator/planner_steps.hpp"

namespace corral::planning {

void add_resources(Step& s) {
    const auto mib = static_cast<int>(std::max<uint64_t>(1, s.plan.memory_budget_bytes / kMiB));
    s.plan.resources.push_back(
        {"mem_mib",
         {{"0", mib, "memory budget " + human_bytes(s.plan.memory_budget_bytes), "", "", ""}},
         "the memory budget in MiB slots: a test declaring mem_mib:N holds N MiB of it"});

    ResourceType heavy{"heavy_io", {}, ""};
    for (const ScratchFacts* fs : s.heavy_io_fs)
        heavy.ids.push_back({"fs" + std::to_string(heavy.ids.size()), s.p.heavy_io_slots.value,
                             fs->fstype + (fs->device.empty() ? "" : " on " + fs->device) +
                                 (fs->mount_point.empty() ? "" : " mounted at " + fs->mount_point),
                             fs->path, "", ""});
    if (heavy.ids.empty())
        heavy.ids.push_back(
            {"fs0", s.p.heavy_io_slots.value, "no scratch filesystem chosen", "", "", ""});
    heavy.reason = std::to_string(s.p.heavy_io_slots.value) + " I/O-heavy tests at a time on " +
                   (heavy.ids.size() > 1 ? "each" : "the") +
                   " scratch filesystem (resources.heavy_io_slots, " + s.p.heavy_io_slots.source +
                   ")";
    if (s.p.heavy_io_filesystems.value > 1)
        heavy.reason += "; " + std::to_string(heavy.ids.size()) + " of up to " +
                        std::to_string(s.p.heavy_io_filesystems.value) +
                        " filesystems (resources.heavy_io_filesystems, " +
                        s.p.heavy_io_filesystems.source +
                        "): only policy-clean, disk-backed ones are added";
    s.plan.resources.push_back(std::move(heavy));

    // The test parallel level as a resource: every Corral test takes cpus:<its
    // PROCESSORS> (cmake/CorralFunctions.cmake), so `ctest -jN` with N above the
    // plan still runs no more than the plan (ctest(1), "Resource Allocation").
    const int level = s.plan.test_parallel_level;
    s.plan.resources.push_back(
        {"cpus",
         {{"0", level, "the test parallel level", "", "", ""}},
         "the test parallel level: a test holds cpus:<its PROCESSORS, 1 by default>, so "
         "ctest -jN runs at most " +
             plural(level, "one-CPU Corral test", "one-CPU Corral tests") +
             " at once, whatever N (set it with tests.parallel_level or "
             "CORRAL_PARALLEL_LEVEL; tests outside Corral are bounded by -j only)"});

    if (!s.f.gpus.empty()) {
        ResourceType gpus{"gpus", {}, ""};
        for (const auto& g : s.f.gpus)
            gpus.ids.push_back({g.id, s.p.gpu_slots.value,
                                g.vendor + (g.name.empty() ? "" : " " + g.name) +
                                    (g.device.empty() ? "" : " (" + g.device + ")"),
                                "", g.variable, g.visible_as});
        gpus.reason = plural(static_cast<long long>(s.f.gpus.size()), "GPU", "GPUs") + ", " +
                      std::to_string(s.p.gpu_slots.value) + " slot(s) each (resources.gpu_slots, " +
                      s.p.gpu_slots.source + ")";
        s.plan.resources.push_back(std::move(gpus));
    }
    for (const auto& named : s.p.named_resources)
        s.plan.resources.push_back(
            {named.name,
             {{"0", named.slots, "named in policy", "", "", ""}},
             std::to_string(named.slots) + " slot(s) from policy (" + named.source + ")"});
}

// --- timeouts, ci, env --------------------------------------------------------

void set_timeouts(Step& s) {
    if (s.p.timeout_multiplier.value) {
        s.plan.timeout_multiplier = *s.p.timeout_multiplier.value;
        s.plan.timeout_reason =
            "set by " + who_set(s.p.timeout_multiplier.source, "tests.timeout_multiplier",
                                num(s.plan.timeout_multiplier));
    } else {
        // Detected slowdowns and declared sanitizers; the slowest one wins
        // (sanitizers combined in one build do not multiply in practice).
        std::vector<std::pair<std::string, std::string>> seen;  // name, from
        for (const auto& name : s.f.context.slowdowns)
            seen.emplace_back(name, "detected");
        for (const auto& name : s.p.sanitizers.value)
            seen.emplace_back(name, s.p.sanitizers.source);
        double best = 1.0;
        std::string parts;
        for (const auto& [name, from] : seen) {
            auto factor = slowdown_factor(name);
            if (!factor) continue;
            parts += (parts.empty() ? "" : ", ") + name + " x" + num(*factor) + " (" + from + ")";
            best = std::max(best, *factor);
        }
        s.plan.timeout_multiplier = best;
        s.plan.timeout_reason = parts.empty()
                                    ? "auto: no sanitizer or valgrind detected or declared"
                                    : "auto: the slowest of " + parts;
    }
    s.plan.test_timeout_seconds = static_cast<int>(
        std::ceil(s.p.test_timeout_seconds.value * s.plan.timeout_multiplier - 1e-9));
    s.plan.timeout_reason += "; test timeout " + std::to_string(s.p.test_timeout_seconds.value) +
                             " s (tests.timeout, " + s.p.test_timeout_seconds.source + ") x " +
                             num(s.plan.timeout_multiplier) + " = " +
                             std::to_string(s.plan.test_timeout_seconds) + " s";
    s.plan.job_timeout_minutes = s.p.job_timeout_minutes.value;
    if (s.plan.test_timeout_seconds > s.plan.job_timeout_minutes * 60)
        s.warn(WarningCode::timeout_exceeds_job,
               "one test may run " + std::to_string(s.plan.test_timeout_seconds) +
                   " s, longer than the whole job's " + std::to_string(s.plan.job_timeout_minutes) +
                   " min (ci.job_timeout_minutes): the job would be killed first");
}

void set_ci(Step& s) {
    s.plan.stop_on_failure = s.p.stop_on_failure.value;
    s.plan.repeat_after_timeout = s.p.repeat_after_timeout.value;
    s.plan.tests_run_under_sudo = s.p.tests_run_under_sudo.value;
}

void set_env(Step& s) {
    const std::string test = std::to_string(s.plan.test_parallel_level);
    const std::string build = std::to_string(s.plan.build_parallel_level);
    const int threads = std::max(1, s.plan.cpus / s.plan.test_parallel_level);
    auto& env = s.plan.env;
    env.push_back({"CTEST_PARALLEL_LEVEL", test, "test parallel level"});
    env.push_back({"CMAKE_BUILD_PARALLEL_LEVEL", build, "build parallel level"});
    env.push_back({"MAKEFLAGS", "-j" + build, "build parallel level"});
    env.push_back({"PYTEST_XDIST_AUTO_NUM_WORKERS", test, "test parallel level (-n auto)"});
    env.push_back({"NEXTEST_TEST_THREADS", test, "test parallel level"});
    env.push_back({"MESON_TESTTHREADS", test, "test parallel level"});
    env.push_back({"GOMAXPROCS", std::to_string(s.plan.cpus),
                   "the planned CPUs (Go before 1.25 counts the host's, not the cgroup quota)"});
    env.push_back({"OMP_NUM_THREADS", std::to_string(threads),
                   "CPUs per parallel test: " + std::to_string(s.plan.cpus) + " / " + test +
                       ", so parallel tests do not multiply threads past the CPUs"});
    if (!s.plan.scratch_dir.empty())
        env.push_back({"TMPDIR", s.plan.scratch_dir, "the chosen scratch directory"});
    env.push_back({"CORRAL_TIMEOUT_MULTIPLIER", num(s.plan.timeout_multiplier),
                   "timeout multiplier for corral run and tests that scale their own"});

    const std::map<std::string, std::string, std::less<>> values = {
        {"parallel_level", test},
        {"test_parallel_level", test},
        {"build_parallel_level", build},
        {"cpus", std::to_string(s.plan.cpus)},
        {"memory_budget_mib", std::to_string(s.plan.memory_budget_bytes / kMiB)},
        {"memory_per_test_mib", std::to_string(s.plan.memory_per_test_bytes / kMiB)},
        {"compile_pool_depth", std::to_string(s.plan.find_pool(s.plan.compile_pool)->depth)},
        {"link_pool_depth", std::to_string(s.plan.find_pool(s.plan.link_pool)->depth)},
        {"scratch_dir", s.plan.scratch_dir},
        {"timeout_multiplier", num(s.plan.timeout_multiplier)},
        {"test_timeout_seconds", std::to_string(s.plan.test_timeout_seconds)},
    };
    for (const auto& extra : s.p.env) {
        std::string value;
        try {
            value = expand_placeholders(extra.value,
                                        [&](std::string_view name) -> std::optional<std::string> {
                                            auto it = values.find(name);
                                            if (it == values.end()) return std::nullopt;
                                            return it->second;
                                        });
        } catch (const std::invalid_argument& e) {
            // The loader checked the template; a hand-built Policy may not have.
            s.warn(WarningCode::env_template,
                   "env " + extra.name + " (" + extra.source + ") skipped: " + e.what());
            continue;
        }
        EnvVar var{extra.name, value, "policy env (" + extra.source + ")"};
        auto same = std::find_if(env.begin(), env.end(),
                                 [&](const EnvVar& v) { return v.name == extra.name; });
        if (same != env.end()) {
            s.warn(WarningCode::env_replaced, "policy env " + extra.name + "=" + value + " (" +
                                                  extra.source + ") replaces corral's " +
                                                  same->value);
            *same = var;
        } else {
            env.push_back(var);
        }
    }
}

}  // namespace corral::planning
