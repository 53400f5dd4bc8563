// The knobs against the world outside the table: the CORRAL_* environment
// (every knob's variable, and a did-you-mean warning for any unknown one) and
// a Policy's values against the rows' ranges (the planner's zero guard).
#include <cmath>
#include <limits>

#include "generator/policy_internal.hpp"
#include "generator/policy_knobs.hpp"

namespace corral {
namespace {

using namespace policy_detail;

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
        {"CORRAL_CTEST_MEMORY_LIMIT",
         "corral_setup(ENFORCE_MEMORY) (CMake): the test's hard limit"},
        {"CORRAL_ENFORCE_MEMORY", "corral_setup (CMake)"},
        {"CORRAL_PROFILE", "corral_setup (CMake): the profile file"},
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
