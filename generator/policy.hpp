// Policy: corral.yaml + CORRAL_* environment + command line, over built-in
// defaults (that order; later wins). Every knob remembers where its value came
// from ("default", "corral.yaml:12:5", "CORRAL_CPUS", "--cpus"), so the plan
// can say why. The file format and every knob are documented in docs/policy.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "probe/facts.hpp"

namespace corral {

// Bad planning input: a policy file, a CORRAL_* variable, a command-line value
// or a saved facts file. what() is the whole human message, e.g.
//   corral.yaml:12:5: scratch.min_write_mb_per_s: expected a number, got "fast"
// Nothing may be written when one is thrown (callers exit 2).
class PolicyError : public std::runtime_error {
  public:
    // `where` is "corral.yaml" (with line/column), "CORRAL_CPUS" or "--cpus" (no line).
    PolicyError(std::string where, int line, int column, std::string key, std::string expected,
                std::string got = {});
    // A message that fits none of the fields (e.g. a YAML syntax error's own
    // text); what() is "where[:line:column]: [key: ]message".
    static PolicyError other(std::string where, int line, int column, std::string key,
                             std::string message);

    const std::string& file() const { return file_; }  // or variable / option name
    int line() const { return line_; }                 // 1-based; 0 = none
    int column() const { return column_; }             // 1-based; 0 = none
    const std::string& key() const { return key_; }    // "scratch.min_write_mb_per_s"
    const std::string& expected() const { return expected_; }

  private:
    struct Formatted {};
    PolicyError(Formatted, std::string what, std::string where, int line, int column,
                std::string key);
    std::string file_;
    int line_ = 0;
    int column_ = 0;
    std::string key_;
    std::string expected_;
};

// A knob's value and where it came from.
template <typename T>
struct Setting {
    T value{};
    std::string source = "default";
};

// An extra Ninja pool: a fixed depth, or a depth derived from memory per job.
struct ExtraPool {
    std::string name;  // ^[A-Za-z_][A-Za-z0-9_]*$, not "compile"/"link"/"console"
    std::optional<int> depth;
    std::optional<uint64_t> memory_per_job_bytes;
    std::string source;
};

// A named CTest resource (e.g. a licence server with 2 seats): one id "0".
struct NamedResource {
    std::string name;  // ^[a-z_][a-z0-9_]*$, not mem_mib/heavy_io/gpus
    int slots = 1;
    std::string source;
};

// An extra environment variable; `value` may hold {placeholders} (see
// kEnvPlaceholders), checked when the policy is read and filled by the planner.
struct EnvExtra {
    std::string name;  // ^[A-Za-z_][A-Za-z0-9_]*$
    std::string value;
    std::string source;
};

// The placeholders an env extra may use; "{{" and "}}" are literal braces.
inline constexpr const char* kEnvPlaceholders[] = {
    "parallel_level",  // = test_parallel_level
    "test_parallel_level",  "build_parallel_level", "cpus",
    "memory_budget_mib",    "memory_per_test_mib",  "compile_pool_depth",
    "link_pool_depth",      "scratch_dir",          "timeout_multiplier",
    "test_timeout_seconds",
};

// Every knob's value and source. The built-in defaults are not here: they are
// the knob table's (policy_knobs.cpp, default_policy()); a value-initialised
// Policy holds zeros, which check_policy_values() refuses.
struct Policy {
    std::string file;  // the policy file read, or "" (built-in defaults only)

    // --- cpu
    Setting<double> cpu_oversubscription;             // cpu.oversubscription
    Setting<int> cpus_keep_free;                      // cpu.keep_free
    Setting<std::optional<int>> cpus_override;        // cpu.cpus / CORRAL_CPUS / --cpus
    Setting<std::optional<int>> test_parallel_level;  // tests.parallel_level (null = auto)

    // --- memory
    // memory.reserve: auto (null) = measured: in use beside the tests + launcher
    // overhead per concurrent test + margin; a SIZE = that flat reserve.
    Setting<std::optional<uint64_t>> memory_reserve_bytes;
    // memory.reserve_fraction / reserve_min: the flat reserve max(fraction x memory,
    // min), used when either is set (source != "default") or when the memory in use
    // cannot be measured.
    Setting<double> memory_reserve_fraction;        // memory.reserve_fraction
    Setting<uint64_t> memory_reserve_min_bytes;     // memory.reserve_min
    Setting<uint64_t> memory_reserve_margin_bytes;  // memory.reserve_margin
    // memory.launcher_overhead: RSS of one `corral run` beside its test (bench/memory
    // measures it; docs/policy.md gives the number).
    Setting<uint64_t> launcher_overhead_bytes;
    Setting<uint64_t> memory_per_test_bytes;           // memory.per_test
    Setting<std::optional<uint64_t>> memory_override;  // memory.total / CORRAL_MEMORY

    // --- build
    // LLVM's proposed LLVM_RAM_PER_COMPILE_JOB default (2000 MB) and Chromium's
    // get_concurrent_links.py --mem_per_link_gb default (8); docs/policy.md says why.
    Setting<uint64_t> compile_job_memory_bytes;  // build.compile_job_memory
    Setting<uint64_t> link_job_memory_bytes;     // build.link_job_memory
    std::vector<ExtraPool> extra_pools;          // build.pools

    // --- scratch
    std::vector<std::string> scratch_candidates;        // scratch.candidates
    Setting<bool> reflink_required;                     // scratch.reflink_required
    Setting<std::optional<double>> min_write_mb_per_s;  // scratch.min_write_mb_per_s
    Setting<int> socket_headroom_needed;                // scratch.socket_headroom
    Setting<std::string> cache_dir;                     // scratch.cache_dir

    // --- resources
    Setting<int> heavy_io_slots;  // resources.heavy_io_slots (per scratch filesystem)
    // resources.heavy_io_filesystems: spread heavy_io over up to N policy-clean,
    // disk-backed scratch filesystems (1: only the chosen scratch directory's).
    Setting<int> heavy_io_filesystems;
    Setting<int> gpu_slots;                      // resources.gpu_slots (per device)
    std::vector<NamedResource> named_resources;  // resources.named

    // --- timeouts
    Setting<int> test_timeout_seconds;                  // tests.timeout
    Setting<std::optional<double>> timeout_multiplier;  // tests.timeout_multiplier (null=auto)
    Setting<std::vector<std::string>> sanitizers;       // tests.sanitizers / --sanitizer

    // --- ci
    Setting<bool> stop_on_failure;       // ci.stop_on_failure
    Setting<int> repeat_after_timeout;   // ci.repeat_after_timeout
    Setting<int> job_timeout_minutes;    // ci.job_timeout_minutes
    Setting<bool> tests_run_under_sudo;  // ci.tests_run_under_sudo

    // --- env extras, in file order
    std::vector<EnvExtra> env;  // env: {NAME: "value with {placeholders}"}
};

Policy default_policy();

// Reads a corral.yaml over `policy`. Throws PolicyError naming the file, line,
// column, key path and what was expected; unknown keys get a did-you-mean.
// On throw, `policy` may be partly updated: callers discard it.
void load_policy_file(Policy& policy, const std::filesystem::path& file);
// Same, from text (tests; `file_name` is used in messages).
void load_policy_text(Policy& policy, std::string_view text, const std::string& file_name);

// CORRAL_* variables (the knob table's; docs/policy.md lists them). Errors
// name the variable. Returns one warning per CORRAL_* variable that is neither
// a knob's nor a known non-policy one (policy_knobs.hpp), with a did-you-mean:
// "CORRAL_MEMROY: not a corral variable, ignored; did you mean CORRAL_MEMORY?".
std::vector<std::string> apply_environment(Policy& policy, const Environment& env);

// Command-line overrides share the value parsers; `option` names the flag.
void apply_cpus_option(Policy& policy, const std::string& value, const std::string& option);
void apply_memory_option(Policy& policy, const std::string& value, const std::string& option);
void apply_sanitizer_option(Policy& policy, const std::vector<std::string>& names,
                            const std::string& option);

// Sizes, durations and switches are parsed by src/common/units.hpp, the one
// grammar shared with corral run and the CMake functions.

// Known sanitizer / slow-tool names and their timeout factors (docs/policy.md).
std::optional<double> slowdown_factor(std::string_view name);
std::vector<std::string> known_slowdowns();

// Fills {placeholders} in an env extra's value with `lookup`; "{{" and "}}"
// are literal braces. Throws std::invalid_argument (message says what is
// wrong, e.g. "unknown placeholder {cpu}; known: ...") on a bad template.
std::string expand_placeholders(
    std::string_view text,
    const std::function<std::optional<std::string>(std::string_view name)>& lookup);

// Edit distance for did-you-mean suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest of `candidates` to `word`, ignoring case: within
// max(2, length / 3) edits, or sharing a long stem (6+ characters, two
// thirds of the shorter); "" when none is close. The one did-you-mean rule of
// YAML keys, CORRAL_* variables and corral run's options.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace corral
