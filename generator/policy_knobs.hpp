// The policy knobs as data: one row per knob (YAML path, CORRAL_* variable,
// kind, default, one-line doc). corral.yaml, the environment, the command line
// and default_policy() all go through these rows; docs/policy.md "Knobs" is
// held to them by tests/generator/policy_docs_test.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "generator/policy.hpp"

namespace corral {

// How a knob's text is read (src/common/units.hpp for size, duration, bool).
enum class KnobKind {
    size,      // "512MiB", "2G" (binary units)
    duration,  // "90s", "1h30m", "1500"
    count,     // a whole number in a range
    number,    // a decimal above 0 ("1.5")
    fraction,  // a decimal or a percentage ("0.1", "10%")
    boolean,   // true/false, yes/no, on/off, 1/0
    path,      // an absolute path
    list,      // a YAML list (comma-separated in the variable)
    map,       // a YAML mapping (file only)
};

// "size", "duration", ... as docs/policy.md names the kinds.
std::string_view knob_kind_name(KnobKind kind);

// One knob as the docs show it.
struct KnobInfo {
    std::string path;          // "memory.per_test"
    std::string variable;      // "CORRAL_MEMORY_PER_TEST", or "" (file only)
    KnobKind kind;             //
    std::string default_text;  // in the knob's grammar ("512MiB"), or "auto" / "none"
    std::string doc;           // one line
};

// Every knob, in docs order (scalars and the structured ones: build.pools,
// scratch.candidates, resources.named, tests.sanitizers, env).
std::vector<KnobInfo> knob_table();

// CORRAL_* names that are not policy knobs but are known: read by corral
// (CORRAL_CONFIG, CORRAL_RUNTIME_DIR), set by corral run for a test
// (CORRAL_TEST_ID, ...), the plan's own output (CORRAL_TIMEOUT_MULTIPLIER), the
// CI templates (CORRAL_SHARDS) and the CMake package's variables (docs/cmake.md).
// A name ending in "_" is a prefix (CORRAL_PLAN_...). apply_environment()
// warns about any other CORRAL_* variable.
struct KnownVariable {
    std::string_view name;
    std::string_view used_by;  // who reads or sets it
};
const std::vector<KnownVariable>& known_non_policy_variables();

// True when `name` is a knob's variable or a known non-policy variable.
bool known_corral_variable(std::string_view name);

// Checks a Policy's values against the rows' ranges (a hand-built Policy, or
// one whose values came from elsewhere, may hold what no source could set:
// memory.per_test 0, tests.parallel_level 0, ...). Throws PolicyError at the
// knob, naming its source (file:line:column, variable or option) and the range.
void check_policy_values(const Policy& policy);

}  // namespace corral
