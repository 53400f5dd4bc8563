// Over ~400 lines on purpose: every policy error kind and precedence rule,
// with one set of YAML and environment helpers.
// Policy: corral.yaml parsing (every error kind with its message), CORRAL_*
// variables, command-line overrides, precedence and provenance.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "generator/planner.hpp"
#include "generator/policy.hpp"
#include "plan/plan_json.hpp"

namespace corral {
namespace {

Policy load(const std::string& yaml) {
    Policy p = default_policy();
    load_policy_text(p, yaml, "corral.yaml");
    return p;
}

// The full message of the PolicyError `yaml` raises ("" if none).
std::string error_of(const std::string& yaml) {
    try {
        load(yaml);
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "";
}

std::string env_error_of(const Environment& env) {
    Policy p = default_policy();
    try {
        apply_environment(p, env);
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "";
}

TEST(PolicyFile, EmptyFileKeepsDefaults) {
    Policy p = load("");
    EXPECT_EQ(p.memory_per_test_bytes.value, 512ull << 20);
    EXPECT_EQ(p.memory_per_test_bytes.source, "default");
    EXPECT_EQ(p.heavy_io_slots.value, 4);
    EXPECT_DOUBLE_EQ(p.cpu_oversubscription.value, 1.0);
    EXPECT_EQ(p.cpus_keep_free.value, 0);
    EXPECT_FALSE(p.timeout_multiplier.value);  // auto
    EXPECT_EQ(p.file, "corral.yaml");
}

TEST(PolicyFile, EveryKnobWithProvenance) {
    Policy p = load(R"(version: 1
cpu:
  oversubscription: 1.5
  keep_free: 1
  cpus: 6
memory:
  reserve_fraction: 15%
  reserve_min: 1GiB
  per_test: 1.5GiB
  total: 16G
build:
  compile_job_memory: 3G
  link_job_memory: 6GiB
  pools:
    lto: {memory_per_job: 10G}
    codegen: 2
    tablegen:
      depth: 1
scratch:
  candidates: [/ci, /scratch]
  reflink_required: yes
  min_write_mb_per_s: 100
  socket_headroom: 50
  cache_dir: /ci/cache
resources:
  heavy_io_slots: 2
  heavy_io_filesystems: 3
  gpu_slots: 3
  named:
    licence_server: 2
tests:
  parallel_level: 12
  timeout: 5m
  timeout_multiplier: 2.5
  sanitizers: [asan, ubsan]
ci:
  stop_on_failure: true
  repeat_after_timeout: 2
  job_timeout_minutes: 45
  tests_run_under_sudo: on
env:
  TEST_PROCESSES: "{parallel_level}"
  LITERAL: "{{not a placeholder}}"
)");
    EXPECT_DOUBLE_EQ(p.cpu_oversubscription.value, 1.5);
    EXPECT_EQ(p.cpu_oversubscription.source, "corral.yaml:3:21");
    EXPECT_EQ(p.cpus_keep_free.value, 1);
    EXPECT_EQ(p.cpus_override.value, 6);
    EXPECT_DOUBLE_EQ(p.memory_reserve_fraction.value, 0.15);
    EXPECT_EQ(p.memory_reserve_min_bytes.value, 1ull << 30);
    EXPECT_EQ(p.memory_per_test_bytes.value, 3ull << 29);
    EXPECT_EQ(p.memory_per_test_bytes.source, "corral.yaml:9:13");
    EXPECT_EQ(p.memory_override.value, 16ull << 30);
    EXPECT_EQ(p.compile_job_memory_bytes.value, 3ull << 30);
    EXPECT_EQ(p.link_job_memory_bytes.value, 6ull << 30);
    ASSERT_EQ(p.extra_pools.size(), 3u);
    EXPECT_EQ(p.extra_pools[0].name, "lto");
    EXPECT_EQ(p.extra_pools[0].memory_per_job_bytes, 10ull << 30);
    EXPECT_FALSE(p.extra_pools[0].depth);
    EXPECT_EQ(p.extra_pools[1].name, "codegen");
    EXPECT_EQ(p.extra_pools[1].depth, 2);
    EXPECT_EQ(p.extra_pools[2].depth, 1);
    EXPECT_EQ(p.scratch_candidates, (std::vector<std::string>{"/ci", "/scratch"}));
    EXPECT_TRUE(p.reflink_required.value);
    EXPECT_EQ(p.min_write_mb_per_s.value, 100.0);
    EXPECT_EQ(p.socket_headroom_needed.value, 50);
    EXPECT_EQ(p.cache_dir.value, "/ci/cache");
    EXPECT_EQ(p.heavy_io_slots.value, 2);
    EXPECT_EQ(p.heavy_io_filesystems.value, 3);
    EXPECT_EQ(p.gpu_slots.value, 3);
    ASSERT_EQ(p.named_resources.size(), 1u);
    EXPECT_EQ(p.named_resources[0].name, "licence_server");
    EXPECT_EQ(p.named_resources[0].slots, 2);
    EXPECT_EQ(p.test_parallel_level.value, 12);
    EXPECT_EQ(p.test_timeout_seconds.value, 300);
    EXPECT_EQ(p.timeout_multiplier.value, 2.5);
    EXPECT_EQ(p.sanitizers.value, (std::vector<std::string>{"asan", "ubsan"}));
    EXPECT_TRUE(p.stop_on_failure.value);
    EXPECT_EQ(p.repeat_after_timeout.value, 2);
    EXPECT_EQ(p.job_timeout_minutes.value, 45);
    EXPECT_TRUE(p.tests_run_under_sudo.value);
    ASSERT_EQ(p.env.size(), 2u);
    EXPECT_EQ(p.env[0].name, "TEST_PROCESSES");
    EXPECT_EQ(p.env[0].value, "{parallel_level}");
    EXPECT_EQ(p.env[0].source, "corral.yaml:42:19");
}

TEST(PolicyFile, AutoAndNullMeanAuto) {
    Policy p =
        load("cpu:\n  cpus: auto\ntests:\n  parallel_level: ~\n  timeout_multiplier: auto\n");
    EXPECT_FALSE(p.cpus_override.value);
    EXPECT_FALSE(p.test_parallel_level.value);
    EXPECT_FALSE(p.timeout_multiplier.value);
}

TEST(PolicyErrors, BadSizeNamesFileLineColumnKeyAndExpectation) {
    EXPECT_EQ(error_of("memory:\n  per_test: lots\n"),
              "corral.yaml:2:13: memory.per_test: \"lots\": expected a number with a binary "
              "unit: K, M, G, T (or KiB, MiB, GiB, TiB; powers of 1024) or B, such as 512M, 2G or "
              "1.5GiB");
    EXPECT_EQ(error_of("memory:\n  per_test: 512\n"),
              "corral.yaml:2:13: memory.per_test: \"512\": a unit is required (a bare number "
              "could mean bytes or MiB); expected a number with a binary unit: K, M, G, T (or "
              "KiB, MiB, GiB, TiB; powers of 1024) or B, such as 512M, 2G or 1.5GiB");
    // The rule the old parser broke: GB was 10^9 here and 2^30 in corral run.
    EXPECT_EQ(error_of("memory:\n  per_test: 16GB\n"),
              "corral.yaml:2:13: memory.per_test: \"16GB\": \"GB\" is ambiguous (10^n or 2^n "
              "bytes?); corral's sizes are binary: write 16G or 16GiB (G = 2^30)");
}

TEST(PolicyErrors, BadNumberAndBadType) {
    EXPECT_EQ(error_of("scratch:\n  min_write_mb_per_s: fast\n"),
              "corral.yaml:2:23: scratch.min_write_mb_per_s: expected a number of MB/s above "
              "0, e.g. 100, got \"fast\"");
    EXPECT_EQ(error_of("resources:\n  heavy_io_slots: [1, 2]\n"),
              "corral.yaml:2:19: resources.heavy_io_slots: expected a single value, got a list");
    EXPECT_EQ(error_of("cpu: 4\n"), "corral.yaml:1:6: cpu: expected a mapping of keys, got \"4\"");
    EXPECT_EQ(error_of("ci:\n  stop_on_failure: maybe\n"),
              "corral.yaml:2:20: ci.stop_on_failure: expected true or false (also yes/no, on/off, "
              "1/0), got \"maybe\"");
    EXPECT_EQ(error_of("cpu:\n  keep_free: -1\n"),
              "corral.yaml:2:14: cpu.keep_free: expected an integer >= 0, got \"-1\"");
    EXPECT_EQ(error_of("tests:\n  timeout: soon\n"),
              "corral.yaml:2:12: tests.timeout: expected a duration such as 90s, 5m, 1h30m or a "
              "number of seconds, got \"soon\"");
    EXPECT_EQ(error_of("scratch:\n  candidates: [relative/dir]\n"),
              "corral.yaml:2:16: scratch.candidates: expected an absolute path, got "
              "\"relative/dir\"");
    EXPECT_EQ(error_of("version: 2\n"),
              "corral.yaml:1:10: version: expected 1 (the only policy format so far), got \"2\"");
    EXPECT_EQ(error_of("- just\n- a list\n"),
              "corral.yaml:1:1: expected a mapping of sections (cpu, memory, build, ...), got a "
              "list");
}

TEST(PolicyErrors, UnknownKeyWithDidYouMean) {
    EXPECT_EQ(error_of("memory:\n  per_tset: 1G\n"),
              "corral.yaml:2:3: memory.per_tset: unknown key; did you mean \"per_test\"?");
    EXPECT_EQ(error_of("scrach:\n  reflink_required: true\n"),
              "corral.yaml:1:1: scrach: unknown key; did you mean \"scratch\"?");
    // Another form of the same word.
    EXPECT_EQ(error_of("cpu:\n  oversubscribe: 2\n"),
              "corral.yaml:2:3: cpu.oversubscribe: unknown key; did you mean "
              "\"oversubscription\"?");
    // A known key in the wrong section points at its real place.
    EXPECT_EQ(error_of("per_test: 1G\n"),
              "corral.yaml:1:1: per_test: unknown key; did you mean \"memory.per_test\"?");
    // Nothing close: list what is known there.
    EXPECT_EQ(error_of("ci:\n  colour: blue\n"),
              "corral.yaml:2:3: ci.colour: unknown key (known here: stop_on_failure, "
              "repeat_after_timeout, job_timeout_minutes, tests_run_under_sudo)");
    EXPECT_EQ(error_of("build:\n  pools:\n    lto: {dept: 2}\n"),
              "corral.yaml:3:11: build.pools.lto.dept: unknown key; did you mean \"depth\"?");
}

TEST(PolicyErrors, DuplicateKey) {
    EXPECT_EQ(error_of("cpu:\n  keep_free: 1\n  keep_free: 2\n"),
              "corral.yaml:3:3: cpu.keep_free: duplicate key (it appears earlier in the file)");
}

TEST(PolicyErrors, YamlSyntaxError) {
    std::string e = error_of("cpu:\n  keep_free: [1, 2\n");
    EXPECT_EQ(e.rfind("corral.yaml:", 0), 0u) << e;
    EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
    EXPECT_EQ(error_of("cpu:\n\tkeep_free: 1\n").find("corral.yaml:2:"), 0u);
    // A tab in the indentation is named (yaml-cpp says only "illegal map value").
    EXPECT_NE(error_of("cpu:\n\tkeep_free: 1\n")
                  .find("(line 2 is indented with a tab: YAML indents with spaces only)"),
              std::string::npos);
    EXPECT_EQ(e.find("tab"), std::string::npos) << e;
    // A tab on another line (a comment) is not blamed for this error.
    e = error_of("# c\n\t# tabbed comment\ncpu:\n  keep_free: [1, 2\n");
    EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
    EXPECT_EQ(e.find("tab"), std::string::npos) << e;
}

TEST(PolicyErrors, PolicyErrorCarriesFields) {
    try {
        load("memory:\n  per_test: lots\n");
        FAIL() << "no error";
    } catch (const PolicyError& e) {
        EXPECT_EQ(e.file(), "corral.yaml");
        EXPECT_EQ(e.line(), 2);
        EXPECT_EQ(e.column(), 13);
        EXPECT_EQ(e.key(), "memory.per_test");
        // The size grammar's own sentence (src/common/units.hpp) is the message.
        EXPECT_NE(std::string(e.what()).find("expected a number with a binary unit"),
                  std::string::npos)
            << e.what();
    }
}

TEST(PolicyErrors, UnknownPlaceholderAndBadBraces) {
    EXPECT_EQ(error_of("env:\n  TEST_PROCESSES: \"{paralel_level}\"\n"),
              "corral.yaml:2:19: env.TEST_PROCESSES: unknown placeholder {paralel_level}; did "
              "you mean {parallel_level}? (known: {parallel_level}, {test_parallel_level}, "
              "{build_parallel_level}, {cpus}, {memory_budget_mib}, {memory_per_test_mib}, "
              "{compile_pool_depth}, {link_pool_depth}, {scratch_dir}, {timeout_multiplier}, "
              "{test_timeout_seconds})");
    EXPECT_NE(error_of("env:\n  X: \"{cpus\"\n").find("unclosed \"{\""), std::string::npos);
    EXPECT_NE(error_of("env:\n  X: \"a}b\"\n").find("stray \"}\""), std::string::npos);
    EXPECT_EQ(error_of("env:\n  1BAD: x\n"),
              "corral.yaml:2:3: env.1BAD: expected a variable name of letters, digits and _, got "
              "\"1BAD\"");
}

TEST(PolicyErrors, PoolsAndNamedResources) {
    EXPECT_EQ(error_of("build:\n  pools:\n    compile: 2\n"),
              "corral.yaml:3:5: build.pools.compile: \"compile\" is built in; size it with "
              "build.compile_job_memory / build.link_job_memory");
    EXPECT_EQ(error_of("build:\n  pools:\n    lto: {depth: 2, memory_per_job: 4G}\n"),
              "corral.yaml:3:10: build.pools.lto: expected exactly one of depth or "
              "memory_per_job");
    EXPECT_EQ(error_of("resources:\n  named:\n    Licence: 2\n"),
              "corral.yaml:3:5: resources.named.Licence: expected a CTest resource name matching "
              "^[a-z_][a-z0-9_]*$, got \"Licence\"");
    EXPECT_EQ(error_of("resources:\n  named:\n    heavy_io: 2\n"),
              "corral.yaml:3:5: resources.named.heavy_io: \"heavy_io\" is planned by corral and "
              "cannot be renamed");
    EXPECT_EQ(error_of("resources:\n  named:\n    cpus: 2\n"),
              "corral.yaml:3:5: resources.named.cpus: \"cpus\" is planned by corral and "
              "cannot be renamed");
    EXPECT_EQ(error_of("tests:\n  sanitizers: [asan, purify]\n"),
              "corral.yaml:2:22: tests.sanitizers: expected one of asan, hwasan, lsan, msan, "
              "tsan, ubsan, valgrind, got \"purify\"");
}

TEST(PolicyFile, ReadsARealFileAndReportsAMissingOne) {
    auto dir =
        std::filesystem::temp_directory_path() / ("corral-g1-policy-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "corral.yaml";
    std::ofstream(file) << "memory:\n  per_test: 2G\n";
    Policy p = default_policy();
    load_policy_file(p, file);
    EXPECT_EQ(p.memory_per_test_bytes.value, 2ull << 30);
    EXPECT_EQ(p.memory_per_test_bytes.source, file.string() + ":2:13");
    EXPECT_EQ(p.file, file.string());

    Policy q = default_policy();
    try {
        load_policy_file(q, dir / "missing.yaml");
        ADD_FAILURE() << "no error for a missing file";
    } catch (const PolicyError& e) {
        EXPECT_EQ(std::string(e.what()), (dir / "missing.yaml").string() +
                                             ": cannot read the policy file: No such file or "
                                             "directory");
    }
    try {
        load_policy_file(q, dir);
        ADD_FAILURE() << "no error for a directory";
    } catch (const PolicyError& e) {
        EXPECT_EQ(std::string(e.what()),
                  dir.string() + ": is a directory; expected a corral.yaml policy file");
    }
    std::filesystem::remove_all(dir);
}

TEST(PolicyEnvironment, OverridesWithProvenanceAndNamesTheVariableOnError) {
    Policy p = default_policy();
    apply_environment(p, {{"CORRAL_CPUS", "8"},
                          {"CORRAL_MEMORY", "16GiB"},
                          {"CORRAL_SANITIZERS", "tsan, asan"},
                          {"CORRAL_HEAVY_IO_SLOTS", "2"},
                          {"CORRAL_TEST_ID", "ignored: set by corral run"},
                          {"CORRAL_TIMEOUT_MULTIPLIER", "7"}});
    EXPECT_EQ(p.cpus_override.value, 8);
    EXPECT_EQ(p.cpus_override.source, "CORRAL_CPUS");
    EXPECT_EQ(p.memory_override.value, 16ull << 30);
    EXPECT_EQ(p.sanitizers.value, (std::vector<std::string>{"tsan", "asan"}));
    EXPECT_EQ(p.heavy_io_slots.value, 2);
    // CORRAL_TIMEOUT_MULTIPLIER is an output of the plan, never read back.
    EXPECT_FALSE(p.timeout_multiplier.value);

    EXPECT_EQ(env_error_of({{"CORRAL_CPUS", "many"}}),
              "CORRAL_CPUS: expected an integer from 1 to 1048576, got \"many\"");
    EXPECT_EQ(env_error_of({{"CORRAL_MEMORY", "8"}}),
              "CORRAL_MEMORY: \"8\": a unit is required (a bare number could mean bytes or "
              "MiB); expected a number with a binary unit: K, M, G, T (or KiB, MiB, GiB, TiB; "
              "powers of 1024) or B, such as 512M, 2G or 1.5GiB");
    EXPECT_EQ(env_error_of({{"CORRAL_SANITIZERS", "asan,bogus"}}),
              "CORRAL_SANITIZERS: expected one of asan, hwasan, lsan, msan, tsan, ubsan, "
              "valgrind, got \"bogus\"");
    EXPECT_EQ(env_error_of({{"CORRAL_CPUS", ""}}),
              "CORRAL_CPUS: expected a value (unset it instead of leaving it empty), got \"\"");
}

TEST(PolicyPrecedence, DefaultsThenFileThenEnvironmentThenCommandLine) {
    Policy p = default_policy();
    EXPECT_EQ(p.cpus_override.source, "default");
    load_policy_text(p, "cpu:\n  cpus: 4\nmemory:\n  total: 4G\n  per_test: 1G\n", "corral.yaml");
    EXPECT_EQ(p.cpus_override.value, 4);
    apply_environment(p, {{"CORRAL_CPUS", "6"}, {"CORRAL_MEMORY", "6G"}});
    EXPECT_EQ(p.cpus_override.value, 6);
    apply_cpus_option(p, "8", "--cpus");
    EXPECT_EQ(p.cpus_override.value, 8);
    EXPECT_EQ(p.cpus_override.source, "--cpus");
    EXPECT_EQ(p.memory_override.value, 6ull << 30);  // no --memory: the variable stands
    EXPECT_EQ(p.memory_override.source, "CORRAL_MEMORY");
    EXPECT_EQ(p.memory_per_test_bytes.source, "corral.yaml:5:13");  // untouched by later layers

    try {
        apply_memory_option(p, "huge", "--memory");
        ADD_FAILURE() << "no error";
    } catch (const PolicyError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--memory: \"huge\": expected a number with a binary unit: K, M, G, T (or "
                  "KiB, MiB, GiB, TiB; powers of 1024) or B, such as 512M, 2G or 1.5GiB");
    }
    apply_sanitizer_option(p, {"asan,ubsan", "tsan"}, "--sanitizer");
    EXPECT_EQ(p.sanitizers.value, (std::vector<std::string>{"asan", "ubsan", "tsan"}));
    EXPECT_EQ(p.sanitizers.source, "--sanitizer");
}

TEST(PolicyPlaceholders, ExpandsKnownAndEscapes) {
    auto lookup = [](std::string_view name) -> std::optional<std::string> {
        if (name == "parallel_level") return "3";
        return std::nullopt;
    };
    EXPECT_EQ(expand_placeholders("-n {parallel_level} {{x}}", lookup), "-n 3 {x}");
    EXPECT_THROW(expand_placeholders("{nope}", lookup), std::invalid_argument);
}

TEST(PolicyHelpers, EditDistanceAndSlowdowns) {
    EXPECT_EQ(edit_distance("per_tset", "per_test"), 2u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(slowdown_factor("tsan"), 5.0);
    EXPECT_EQ(slowdown_factor("valgrind"), 10.0);
    EXPECT_FALSE(slowdown_factor("purify"));
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

// Drops every "reason"/"*_reason" field and the policy file name: what is left
// is the decisions themselves.
nlohmann::ordered_json decisions(nlohmann::ordered_json j) {
    if (j.is_object()) {
        nlohmann::ordered_json out = nlohmann::ordered_json::object();
        for (auto& [k, v] : j.items()) {
            if (k == "reason" || k == "policy_file" ||
                (k.size() > 7 && k.compare(k.size() - 7, 7, "_reason") == 0))
                continue;
            out[k] = decisions(v);
        }
        return out;
    }
    if (j.is_array()) {
        for (auto& v : j)
            v = decisions(v);
    }
    return j;
}

Facts sample_host() {
    Facts f;
    f.cpu.online = 16;
    f.cpu.affinity = 16;
    f.cpu.effective = 16;
    f.memory.effective_bytes = 32ull << 30;
    ScratchFacts s;
    s.path = "/tmp";
    s.usable = true;
    s.fstype = "ext4";
    s.filesystem_id = "vda";
    s.free_bytes = 10ull << 30;
    s.socket_headroom = 100;
    f.scratch.push_back(s);
    return f;
}

TEST(ExamplePolicies, EveryExampleLoads) {
    const auto dir = std::filesystem::path(CORRAL_SOURCE_DIR) / "examples" / "policies";
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".yaml") continue;
        Policy p = default_policy();
        EXPECT_NO_THROW(load_policy_file(p, entry.path())) << entry.path();
        EXPECT_NO_THROW(make_plan(sample_host(), p)) << entry.path();
        ++count;
    }
    EXPECT_GE(count, 4);
}

TEST(ExamplePolicies, DefaultsFileMatchesTheBuiltInDefaults) {
    Policy from_file = default_policy();
    load_policy_file(from_file, std::filesystem::path(CORRAL_SOURCE_DIR) / "examples" / "policies" /
                                    "defaults.yaml");
    const std::string& source = from_file.memory_per_test_bytes.source;
    EXPECT_TRUE(source.ends_with("/defaults.yaml:14:13")) << source;  // read, not defaulted
    EXPECT_EQ(decisions(to_json(make_plan(sample_host(), from_file))).dump(2),
              decisions(to_json(make_plan(sample_host(), default_policy()))).dump(2));
}

}  // namespace
}  // namespace corral
