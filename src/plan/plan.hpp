// Plan: the decisions of stage 2, a pure function of Facts + Policy.
// The JSON form is schema "corral.plan/1" (docs/plan-schema.md). Emitters
// (stage 3) read only this struct; they never look at Facts or the host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/defaults.hpp"

namespace corral {

inline constexpr const char* kPlanSchema = "corral.plan/1";

// A decision value together with why it is what it is.
struct Reasoned {
    std::string reason;
};

// One CTest resource type: every id with its slot count.
// Type names match ^[a-z_][a-z0-9_]*$, ids ^[a-z0-9_]+$, ids unique per type.
struct ResourceId {
    std::string id;
    int slots = 1;
    std::string detail;  // e.g. the filesystem or GPU it stands for
    std::string path;    // heavy_io: the scratch directory on that filesystem (corral run
                         // maps a granted heavy_io id to it); empty otherwise
    // gpus: how `corral run` hands this device to a test (facts gpus[].variable /
    // visible_as, e.g. CUDA_VISIBLE_DEVICES=MIG-<uuid>); empty otherwise.
    std::string visible_variable{};
    std::string visible_as{};
};
struct ResourceType {
    std::string name;  // "mem_mib", "heavy_io", "gpus", or a policy-named one
    std::vector<ResourceId> ids;
    std::string reason;
};

// A Ninja job pool.
struct Pool {
    std::string name;
    int depth = 1;
    std::string reason;
};

// The plan's warning codes: stable, machine-readable (CI greps them, emit_cmake
// exports them as CORRAL_PLAN_WARNINGS). docs/plan-schema.md "Warning codes"
// lists every one; tests/generator/plan_docs_test.cpp holds the list to this table.
enum class WarningCode {
    probe_overridden,
    unknown_fact,
    oversubscribed,
    memory_tight,
    memory_high,
    memory_in_use,
    memory_reserve_too_high,
    keep_free_too_high,
    scratch_memory_backed,
    scratch_slow,
    socket_headroom,
    reflink_unavailable,
    cache_other_filesystem,
    cache_other_mount,
    no_scratch,
    timeout_exceeds_job,
    env_replaced,
    env_template,
};

// The name table: every code once, in the order docs/plan-schema.md lists them.
inline constexpr std::pair<WarningCode, const char*> kWarningCodeNames[] = {
    {WarningCode::probe_overridden, "probe_overridden"},
    {WarningCode::unknown_fact, "unknown_fact"},
    {WarningCode::oversubscribed, "oversubscribed"},
    {WarningCode::memory_tight, "memory_tight"},
    {WarningCode::memory_high, "memory_high"},
    {WarningCode::memory_in_use, "memory_in_use"},
    {WarningCode::memory_reserve_too_high, "memory_reserve_too_high"},
    {WarningCode::keep_free_too_high, "keep_free_too_high"},
    {WarningCode::scratch_memory_backed, "scratch_memory_backed"},
    {WarningCode::scratch_slow, "scratch_slow"},
    {WarningCode::socket_headroom, "socket_headroom"},
    {WarningCode::reflink_unavailable, "reflink_unavailable"},
    {WarningCode::cache_other_filesystem, "cache_other_filesystem"},
    {WarningCode::cache_other_mount, "cache_other_mount"},
    {WarningCode::no_scratch, "no_scratch"},
    {WarningCode::timeout_exceeds_job, "timeout_exceeds_job"},
    {WarningCode::env_replaced, "env_replaced"},
    {WarningCode::env_template, "env_template"},
};

// "memory_tight" for WarningCode::memory_tight.
constexpr std::string_view warning_code_name(WarningCode code) {
    for (const auto& [c, name] : kWarningCodeNames)
        if (c == code) return name;
    return "unknown";
}

// The code named `name`, or nullopt.
constexpr std::optional<WarningCode> parse_warning_code(std::string_view name) {
    for (const auto& [c, n] : kWarningCodeNames)
        if (name == n) return c;
    return std::nullopt;
}

struct Warning {
    WarningCode code;     // the stable, machine-readable part
    std::string message;  // human, with the numbers

    std::string_view code_name() const { return warning_code_name(code); }
};

struct EnvVar {
    std::string name;
    std::string value;
    std::string reason;  // why this value (human output only)
};

struct Plan {
    std::string schema = kPlanSchema;
    std::string policy_file;  // the corral.yaml the plan read; "" = built-in defaults

    // What the plan was sized from (after overrides).
    int cpus = 1;
    std::string cpus_source;    // "probe" | "--cpus" | "CORRAL_CPUS" ...
    std::string cpus_reason;    // human: where the number came from
    uint64_t memory_bytes = 0;  // effective memory the plan started from
    std::string memory_source;
    std::string memory_reason;
    uint64_t memory_per_test_bytes = 0;  // policy's default memory per test (mem_mib demand)
    uint64_t memory_reserve_bytes = 0;   // kept out of the budget (docs/policy.md)
    uint64_t memory_budget_bytes = 0;    // memory_bytes - memory_reserve_bytes
    std::string memory_budget_reason;

    int test_parallel_level = 1;
    std::string test_parallel_reason;
    int build_parallel_level = 1;
    std::string build_parallel_reason;

    std::vector<ResourceType> resources;  // the CTest resource spec's "local" element

    std::vector<Pool> pools;  // all Ninja pools (compile, link, extras)
    std::string compile_pool = "compile";
    std::string link_pool = "link";

    // The pool named `name` (compile_pool, link_pool or an extra), or nullptr.
    // Pools are found by name, never by position.
    const Pool* find_pool(std::string_view name) const {
        for (const auto& p : pools)
            if (p.name == name) return &p;
        return nullptr;
    }

    std::string scratch_dir;  // chosen scratch root (TMPDIR)
    std::string scratch_filesystem_id;
    std::string scratch_reason;

    double timeout_multiplier = 1.0;
    std::string timeout_reason;
    // base timeout x multiplier, for ctest --timeout
    int test_timeout_seconds = defaults::kTestTimeoutSeconds;
    int job_timeout_minutes = defaults::kJobTimeoutMinutes;  // CI job timeout-minutes

    // CI behaviour asked for by policy.
    bool stop_on_failure = false;
    int repeat_after_timeout = 0;  // 0 = no --repeat
    bool tests_run_under_sudo = false;

    std::vector<EnvVar> env;  // every variable env.sh / github.env export, in order
    std::vector<Warning> warnings;
};

}  // namespace corral
