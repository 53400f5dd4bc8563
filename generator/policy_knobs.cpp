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
namespace policy_detail {
namespace {

constexpr long long kMaxCount = 1 << 20;

}  // namespace

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

namespace {

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

}  // namespace

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

using namespace policy_detail;

std::string_view knob_kind_name(KnobKind kind) {
    static constexpr std::pair<KnobKind, std::string_view> kNames[] = {
        {KnobKind::size, "size"},     {KnobKind::duration, "duration"}, {KnobKind::count, "count"},
        {KnobKind::number, "number"}, {KnobKind::fraction, "fraction"}, {KnobKind::boolean, "bool"},
        {KnobKind::path, "path"},     {KnobKind::list, "list"},         {KnobKind::map, "map"},
    };
    for (const auto& [k, name] : kNames)
        if (k == kind) return name;
    return "?";
}

std::vector<KnobInfo> knob_table() {
    std::vector<KnobInfo> out;
    for (const auto& k : knobs())
        out.push_back(k.info);
    return out;
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

}  // namespace corral
