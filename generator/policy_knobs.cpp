// The knob table (policy_knobs.hpp): one row per knob, read the same way from
// corral.yaml (policy_yaml.cpp), CORRAL_* variables and the command line, and
// the source of the built-in defaults. Adding a knob is adding a row (and a
// field in Policy, and a line in docs/policy.md, which a test checks).
#include "generator/policy_knobs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <variant>

#include "common/defaults.hpp"
#include "common/socket_path.hpp"
#include "common/units.hpp"
#include "generator/policy_internal.hpp"

namespace corral {
namespace {

using namespace policy_detail;

constexpr long long kMaxCount = 1 << 20;

// The Policy field a row writes (std::monostate: a structured knob the YAML
// reader fills itself).
using Target =
    std::variant<std::monostate, Setting<uint64_t> Policy::*,
                 Setting<std::optional<uint64_t>> Policy::*, Setting<int> Policy::*,
                 Setting<std::optional<int>> Policy::*, Setting<double> Policy::*,
                 Setting<std::optional<double>> Policy::*, Setting<bool> Policy::*,
                 Setting<std::string> Policy::*, Setting<std::vector<std::string>> Policy::*>;

struct Knob {
    KnobInfo info;
    Target target;
    // size: the smallest size (0 or 1); count: [min, max]; duration: max seconds;
    // number / fraction: the exclusive min and (fraction) the exclusive max.
    long long min = 0;
    long long max = 0;
    bool nullable = false;      // "auto" (or YAML null) means none / measured
    const char* expected = "";  // number kinds: the sentence after "expected"
};

const std::vector<Knob>& knobs() {
    using K = KnobKind;
    static const std::vector<Knob> table = {
        {{"cpu.oversubscription", "CORRAL_OVERSUBSCRIPTION", K::number, "1.0",
          "parallel level = (CPUs - keep_free) x this, at least 1"},
         &Policy::cpu_oversubscription,
         0,
         0,
         false,
         "a number above 0, e.g. 1.5"},
        {{"cpu.keep_free", "CORRAL_KEEP_FREE_CPUS", K::count, "0",
          "CPUs left for the system or CI agent"},
         &Policy::cpus_keep_free,
         0,
         std::numeric_limits<int>::max()},
        {{"cpu.cpus", "CORRAL_CPUS", K::count, "auto",
          "plan for this many CPUs instead of the probed count"},
         &Policy::cpus_override,
         1,
         kMaxCount,
         true},
        {{"memory.reserve", "CORRAL_MEMORY_RESERVE", K::size, "auto",
          "memory kept out of the test budget: auto = measured, or a SIZE"},
         &Policy::memory_reserve_bytes,
         0,
         0,
         true},
        {{"memory.reserve_margin", "CORRAL_MEMORY_RESERVE_MARGIN", K::size, "128MiB",
          "the measured reserve's safety margin"},
         &Policy::memory_reserve_margin_bytes,
         0},
        {{"memory.launcher_overhead", "CORRAL_LAUNCHER_OVERHEAD", K::size, "8MiB",
          "memory of one corral run beside each concurrently running test"},
         &Policy::launcher_overhead_bytes,
         0},
        {{"memory.reserve_fraction", "CORRAL_MEMORY_RESERVE_FRACTION", K::fraction, "10%",
          "with reserve_min: the flat reserve max(fraction x memory, reserve_min)"},
         &Policy::memory_reserve_fraction,
         0,
         0,
         false,
         "a fraction below 0.9 such as 0.1, or a percentage like 10%"},
        {{"memory.reserve_min", "CORRAL_MEMORY_RESERVE_MIN", K::size, "512MiB",
          "the flat reserve's minimum"},
         &Policy::memory_reserve_min_bytes,
         0},
        {{"memory.per_test", "CORRAL_MEMORY_PER_TEST", K::size, "512MiB",
          "default memory of one test: bounds the test parallel level"},
         &Policy::memory_per_test_bytes,
         1},
        {{"memory.total", "CORRAL_MEMORY", K::size, "auto",
          "plan for this much memory instead of the probed amount"},
         &Policy::memory_override,
         1,
         0,
         true},
        {{"build.compile_job_memory", "CORRAL_COMPILE_JOB_MEMORY", K::size, "2GiB",
          "memory of one compile job"},
         &Policy::compile_job_memory_bytes,
         1},
        {{"build.link_job_memory", "CORRAL_LINK_JOB_MEMORY", K::size, "8GiB",
          "memory of one link job"},
         &Policy::link_job_memory_bytes,
         1},
        {{"build.pools", "", K::map, "none",
          "extra Ninja pools: name: N, {depth: N} or {memory_per_job: SIZE}"},
         std::monostate{}},
        {{"scratch.candidates", "", K::list, "none", "extra scratch directories to probe"},
         std::monostate{}},
        {{"scratch.reflink_required", "CORRAL_REFLINK_REQUIRED", K::boolean, "false",
          "prefer (and warn without) a scratch filesystem where FICLONE works"},
         &Policy::reflink_required},
        {{"scratch.min_write_mb_per_s", "CORRAL_MIN_WRITE_MB_PER_S", K::number, "none",
          "avoid scratch filesystems measured slower (needs --io-bench)"},
         &Policy::min_write_mb_per_s,
         0,
         0,
         true,
         "a number of MB/s above 0, e.g. 100"},
        {{"scratch.socket_headroom", "CORRAL_SOCKET_HEADROOM", K::count,
          std::to_string(kDefaultSocketHeadroom),
          "bytes tests need under the 108-byte AF_UNIX path limit"},
         &Policy::socket_headroom_needed,
         0,
         kSunPathBytes - 1},
        {{"scratch.cache_dir", "CORRAL_CACHE_DIR", K::path, "none",
          "a cache that must share the scratch filesystem when reflink is required"},
         &Policy::cache_dir},
        {{"resources.heavy_io_slots", "CORRAL_HEAVY_IO_SLOTS", K::count, "4",
          "I/O-heavy tests at a time on a scratch filesystem"},
         &Policy::heavy_io_slots,
         1,
         kMaxCount},
        {{"resources.heavy_io_filesystems", "CORRAL_HEAVY_IO_FILESYSTEMS", K::count, "1",
          "spread heavy_io over up to N scratch filesystems"},
         &Policy::heavy_io_filesystems,
         1,
         64},
        {{"resources.gpu_slots", "CORRAL_GPU_SLOTS", K::count, "1", "tests at a time per GPU"},
         &Policy::gpu_slots,
         1,
         kMaxCount},
        {{"resources.named", "", K::map, "none", "name: slots, extra CTest resources"},
         std::monostate{}},
        {{"tests.parallel_level", "CORRAL_PARALLEL_LEVEL", K::count, "auto",
          "force the test parallel level"},
         &Policy::test_parallel_level,
         1,
         kMaxCount,
         true},
        {{"tests.timeout", "CORRAL_TEST_TIMEOUT", K::duration,
          std::to_string(defaults::kTestTimeoutSeconds) + "s",
          "per-test timeout before the multiplier"},
         &Policy::test_timeout_seconds,
         0,
         7 * 24 * 3600},
        // No CORRAL_TIMEOUT_MULTIPLIER here: that name is an output (env.sh exports
        // it for corral run), and reading it back would freeze an old decision.
        {{"tests.timeout_multiplier", "", K::number, "auto", "see Timeouts"},
         &Policy::timeout_multiplier,
         0,
         0,
         true,
         "auto or a number above 0, e.g. 3"},
        {{"tests.sanitizers", "CORRAL_SANITIZERS", K::list, "none",
          "tools the tests run under (comma-separated in the variable)"},
         &Policy::sanitizers},
        {{"ci.stop_on_failure", "CORRAL_STOP_ON_FAILURE", K::boolean, "false",
          "CI passes --stop-on-failure"},
         &Policy::stop_on_failure},
        {{"ci.repeat_after_timeout", "CORRAL_REPEAT_AFTER_TIMEOUT", K::count, "0",
          "CI passes --repeat after-timeout:N"},
         &Policy::repeat_after_timeout,
         0,
         100},
        {{"ci.job_timeout_minutes", "CORRAL_JOB_TIMEOUT_MINUTES", K::count,
          std::to_string(defaults::kJobTimeoutMinutes), "the CI job's timeout-minutes"},
         &Policy::job_timeout_minutes,
         1,
         360 * 24},
        {{"ci.tests_run_under_sudo", "CORRAL_TESTS_RUN_UNDER_SUDO", K::boolean, "false",
          "CI passes sudo --preserve-env=..."},
         &Policy::tests_run_under_sudo},
        {{"env", "", K::map, "none", "extra variables with {placeholders}"}, std::monostate{}},
    };
    return table;
}

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};

// One value of `knob`'s kind, as T.
template <typename T>
T parse_as(const Knob& k, const std::string& text, const Origin& o) {
    if constexpr (std::is_same_v<T, uint64_t>) {
        return size_value(text, o, k.min == 0);
    } else if constexpr (std::is_same_v<T, int>) {
        if (k.info.kind == KnobKind::duration) {
            double s = duration_value(text, o);
            if (s > static_cast<double>(k.max)) o.fail("a duration of at most 7 days", text);
            return static_cast<int>(std::ceil(s));
        }
        return static_cast<int>(int_value(text, o, k.min, k.max));
    } else if constexpr (std::is_same_v<T, double>) {
        if (k.info.kind == KnobKind::fraction) {
            std::string s = trimmed(text);
            std::optional<double> v;
            if (!s.empty() && s.back() == '%') {
                if (auto pct = units::parse_decimal(s.substr(0, s.size() - 1))) v = *pct / 100.0;
            } else {
                v = units::parse_decimal(s);
            }
            if (!v || *v >= 0.9) o.fail(k.expected, text);
            return *v;
        }
        return number_value(text, o, static_cast<double>(k.min), k.expected);
    } else if constexpr (std::is_same_v<T, bool>) {
        return bool_value(text, o);
    } else if constexpr (std::is_same_v<T, std::string>) {
        return absolute_path_value(text, o);
    } else {
        static_assert(std::is_same_v<T, std::vector<std::string>>);
        return sanitizer_list(split_commas({text}), o);
    }
}

const Knob* find_knob(std::string_view path) {
    for (const auto& k : knobs())
        if (path == k.info.path) return &k;
    return nullptr;
}

// The value `text` (or none, for "auto" on a nullable knob) into the row's field.
void apply_row(const Knob& k, Policy& p, const std::string& text, const Origin& o) {
    const bool none = k.nullable && (is_auto(text) || trimmed(text).empty());
    std::visit(
        [&](auto member) {
            using M = decltype(member);
            if constexpr (!std::is_same_v<M, std::monostate>) {
                using T = decltype((p.*member).value);
                if constexpr (is_optional<T>::value) {
                    T v;
                    if (!none) v = parse_as<typename T::value_type>(k, text, o);
                    set(p.*member, std::move(v), o);
                } else {
                    set(p.*member, parse_as<T>(k, text, o), o);
                }
            }
        },
        k.target);
}

// A value a row's parser would refuse, for check_policy_values: "" when fine.
template <typename T>
std::string out_of_range(const Knob& k, const T& v) {
    if constexpr (std::is_same_v<T, uint64_t>) {
        if (k.min > 0 && v == 0) return "a size above zero, such as 512M, 2G or 1.5GiB";
    } else if constexpr (std::is_same_v<T, int>) {
        if (k.info.kind == KnobKind::count && (v < k.min || v > k.max))
            return "an integer from " + std::to_string(k.min) + " to " + std::to_string(k.max);
        if (k.info.kind == KnobKind::duration && v <= 0) return "a duration above zero";
    } else if constexpr (std::is_same_v<T, double>) {
        if (k.info.kind == KnobKind::number &&
            !(v > static_cast<double>(k.min) && std::isfinite(v)))
            return k.expected;
        if (k.info.kind == KnobKind::fraction && !(v >= 0 && v < 0.9)) return k.expected;
    }
    return {};
}

template <typename T>
std::string text_of(const T& v) {
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
        return std::to_string(v);
    else
        return {};
}

}  // namespace

namespace policy_detail {

const KnobInfo* find_knob_info(std::string_view path) {
    const Knob* k = find_knob(path);
    return k ? &k->info : nullptr;
}

bool knob_nullable(std::string_view path) {
    const Knob* k = find_knob(path);
    return k && k->nullable;
}

void apply_knob(Policy& policy, std::string_view path, const std::string& text, const Origin& o) {
    apply_row(*find_knob(path), policy, text, o);
}

}  // namespace policy_detail

std::string_view knob_kind_name(KnobKind kind) {
    switch (kind) {
        case KnobKind::size:
            return "size";
        case KnobKind::duration:
            return "duration";
        case KnobKind::count:
            return "count";
        case KnobKind::number:
            return "number";
        case KnobKind::fraction:
            return "fraction";
        case KnobKind::boolean:
            return "bool";
        case KnobKind::path:
            return "path";
        case KnobKind::list:
            return "list";
        case KnobKind::map:
            return "map";
    }
    return "?";
}

std::vector<KnobInfo> knob_table() {
    std::vector<KnobInfo> out;
    for (const auto& k : knobs())
        out.push_back(k.info);
    return out;
}

const std::vector<KnownVariable>& known_non_policy_variables() {
    static const std::vector<KnownVariable> names = {
        {"CORRAL_CONFIG", "corral plan/generate: the policy file (docs/policy.md)"},
        {"CORRAL_TIMEOUT_MULTIPLIER",
         "corral run; an output of the plan (env.sh), never read back"},
        {"CORRAL_RUNTIME_DIR", "corral run: the host lock directory"},
        {"CORRAL_TEST_ID", "set by corral run for the test"},
        {"CORRAL_TEST_NAME", "set by corral run for the test"},
        {"CORRAL_SCRATCH_DIR", "set by corral run for the test"},
        {"CORRAL_MEMORY_BYTES", "set by corral run for the test (its mem_mib grant)"},
        {"CORRAL_SCOPE", "set by corral run for the test; corral reap --scope"},
        {"CORRAL_SHARDS", "the sharded CI templates"},
        // The CMake package's variables (docs/cmake.md); some users export them.
        {"CORRAL_CPU_BOUND", "corral_setup (CMake)"},
        {"CORRAL_CTEST_LOCKS", "corral_setup (CMake)"},
        {"CORRAL_CTEST_TIMEOUT", "corral_setup (CMake)"},
        {"CORRAL_EVERYWHERE_ARGS", "CorralEverywhere (CMake)"},
        {"CORRAL_EXECUTABLE", "find_package(Corral) (CMake)"},
        {"CORRAL_LAUNCHER", "corral_setup (CMake)"},
        {"CORRAL_LAUNCH_TIMEOUT", "corral_setup (CMake)"},
        {"CORRAL_LOCKS", "corral_add_test (CMake)"},
        {"CORRAL_OUTPUT_DIR", "corral_setup (CMake)"},
        {"CORRAL_SCOPE_DIR", "corral_setup (CMake)"},
        {"CORRAL_SCRATCH", "corral_add_test (CMake)"},
        {"CORRAL_SPEC_FILE", "corral_setup (CMake)"},
        {"CORRAL_TEMPLATES_DIR", "find_package(Corral) (CMake)"},
        {"CORRAL_PLAN_", "corral_setup (CMake): the plan's numbers"},
        {"CORRAL_DEFAULT_", "corral_test_defaults (CMake)"},
        // This project's own build options (CMakeLists.txt).
        {"CORRAL_WERROR", "this project's build"},
        {"CORRAL_SANITIZE", "this project's build"},
    };
    return names;
}

bool known_corral_variable(std::string_view name) {
    for (const auto& k : knobs())
        if (!k.info.variable.empty() && name == k.info.variable) return true;
    for (const auto& v : known_non_policy_variables()) {
        if (v.name.back() == '_' ? name.substr(0, v.name.size()) == v.name : name == v.name)
            return true;
    }
    return false;
}

Policy default_policy() {
    Policy p;
    for (const auto& k : knobs()) {
        const auto& d = k.info.default_text;
        if (std::holds_alternative<std::monostate>(k.target)) continue;
        if (d == "none" || d == "auto") continue;  // the field's empty value
        apply_row(k, p, d, Origin{"default", 0, 0, k.info.path});
    }
    return p;
}

std::vector<std::string> apply_environment(Policy& policy, const Environment& env) {
    for (const auto& k : knobs()) {
        if (k.info.variable.empty()) continue;
        auto it = env.find(k.info.variable);
        if (it == env.end()) continue;
        Origin o{k.info.variable, 0, 0, k.info.path};
        if (trimmed(it->second).empty())
            o.fail("a value (unset it instead of leaving it empty)", it->second);
        apply_row(k, policy, it->second, o);
    }
    // An unknown CORRAL_* variable is most likely a typo of a knob's: the same
    // did-you-mean an unknown YAML key gets, as a warning (the CORRAL_ namespace
    // is shared with corral run, the CMake package and other corral versions).
    std::vector<std::string> knob_variables;
    for (const auto& k : knobs())
        if (!k.info.variable.empty()) knob_variables.push_back(k.info.variable);
    for (const auto& v : known_non_policy_variables())
        if (v.name.back() != '_') knob_variables.emplace_back(v.name);
    std::vector<std::string> warnings;
    for (const auto& [name, value] : env) {
        if (name.rfind("CORRAL_", 0) != 0 || known_corral_variable(name)) continue;
        std::string w = name + ": not a corral variable, ignored";
        if (auto guess = did_you_mean(name, knob_variables); !guess.empty())
            w += "; did you mean " + guess + "?";
        else
            w += " (docs/policy.md lists the variables)";
        warnings.push_back(w);
    }
    return warnings;
}

void apply_cpus_option(Policy& policy, const std::string& value, const std::string& option) {
    apply_row(*find_knob("cpu.cpus"), policy, value, Origin{option, 0, 0, "cpu.cpus"});
}

void apply_memory_option(Policy& policy, const std::string& value, const std::string& option) {
    apply_row(*find_knob("memory.total"), policy, value, Origin{option, 0, 0, "memory.total"});
}

void apply_sanitizer_option(Policy& policy, const std::vector<std::string>& names,
                            const std::string& option) {
    if (names.empty()) return;
    // Repeatable and comma-separated both work: --sanitizer asan,ubsan --sanitizer tsan.
    Origin o{option, 0, 0, "tests.sanitizers"};
    set(policy.sanitizers, sanitizer_list(split_commas(names), o), o);
}

void check_policy_values(const Policy& policy) {
    auto fail = [](const Knob& k, const std::string& source, const std::string& expected,
                   const std::string& got) {
        // A file source already carries ":line:column"; a variable or option does not.
        throw PolicyError::other(
            source, 0, 0, k.info.path,
            k.info.path + ": expected " + expected + (got.empty() ? "" : ", got " + got));
    };
    for (const auto& k : knobs()) {
        std::visit(
            [&](auto member) {
                using M = decltype(member);
                if constexpr (!std::is_same_v<M, std::monostate>) {
                    const auto& s = policy.*member;
                    using T = std::decay_t<decltype(s.value)>;
                    if constexpr (is_optional<T>::value) {
                        if (!s.value) return;
                        if (auto e = out_of_range(k, *s.value); !e.empty())
                            fail(k, s.source, e, text_of(*s.value));
                    } else {
                        if (auto e = out_of_range(k, s.value); !e.empty())
                            fail(k, s.source, e, text_of(s.value));
                    }
                }
            },
            k.target);
    }
    for (const auto& pool : policy.extra_pools) {
        const std::string key = "build.pools." + pool.name;
        if (pool.depth.has_value() == pool.memory_per_job_bytes.has_value())
            throw PolicyError::other(pool.source, 0, 0, key,
                                     key + ": expected exactly one of depth or memory_per_job");
        if (pool.depth && *pool.depth < 1)
            throw PolicyError::other(
                pool.source, 0, 0, key,
                key + ".depth: expected an integer >= 1, got " + std::to_string(*pool.depth));
        if (pool.memory_per_job_bytes && *pool.memory_per_job_bytes == 0)
            throw PolicyError::other(pool.source, 0, 0, key,
                                     key + ".memory_per_job: expected a size above zero, got 0");
    }
}

}  // namespace corral
