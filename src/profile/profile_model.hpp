// The profile model: what Corral measured about each test, built from run
// records (src/report/records_model, the one reader of records) and merged
// with earlier profiles. Serialised as corral.profile/1 (docs/profile.md).
// Data flows one way: records -> Profile -> JSON / table / check / CMake data.
//
// Determinism: every collection is ordered (tests by name, samples by start
// time then run id), numbers are rounded once (seconds to 1 ms) and written by
// nlohmann::json (sorted keys, shortest round-trip doubles), so identical
// inputs give byte-identical output.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "report/records_model.hpp"

namespace corral::profile {

// Samples kept per test (the newest, by start time): bounded history.
inline constexpr int kHistory = 10;
// A test ages out when none of its samples comes from the newest kKeepRuns runs
// (distinct run ids, ordered by their first start) the profile knows of.
inline constexpr int kKeepRuns = 10;
// Margin on the measured peak when a profile becomes a memory grant (mem_mib):
// percent. docs/profile.md "Applying a profile" justifies the default.
inline constexpr int kDefaultMarginPercent = 20;
// --check: over-declared when declared > factor x peak (and at least 64 MiB
// more); heavy undeclared when the peak is at least this many bytes.
inline constexpr double kOverFactor = 4.0;
inline constexpr uint64_t kOverSlackBytes = 64ull << 20;
inline constexpr uint64_t kHeavyBytes = 256ull << 20;

// One run of one test, as the profile keeps it.
struct Sample {
    std::string run_id;
    double start_unix = 0;
    double wall_seconds = 0;  // rounded to 1 ms
    double cpu_seconds = 0;   // user + system, rounded to 1 ms
    // Non-reclaimable peak (peak_nonreclaimable_bytes); when the record has
    // none, the cgroup's raw peak (peak_memory_bytes) and memory_fallback = true.
    uint64_t memory_bytes = 0;
    bool memory_fallback = false;
    std::optional<uint64_t> declared_memory_bytes;
    std::optional<uint64_t> granted_memory_bytes;  // mem_mib grant
    std::optional<int> processors;
    std::string outcome;  // report::outcome_name()
};

struct Run {
    std::string id;
    double start_unix = 0;  // first start seen in the run
};

// Summary of one test, computed from its samples (summarise()).
struct TestProfile {
    std::vector<Sample> samples;  // oldest first, at most kHistory
    int runs = 0;
    double wall_median = 0, wall_max = 0;
    double cpu_median = 0, cpu_max = 0;
    uint64_t memory_max = 0, memory_p90 = 0;
    std::string memory_source;  // "nonreclaimable", "cgroup-peak (fallback)", "mixed"
    std::optional<uint64_t> declared_memory_bytes;  // newest sample's
    std::optional<uint64_t> granted_memory_bytes;   // newest sample's
    std::optional<int> processors;                  // newest sample's
    int timeouts = 0, oom_kills = 0, leaks = 0, failures = 0;
};

struct Profile {
    std::vector<Run> runs;  // newest kKeepRuns, oldest first
    std::map<std::string, TestProfile> tests;
    int aged_out = 0;        // tests dropped by the last merge (not serialised)
    int fallback_tests = 0;  // tests whose memory is the raw cgroup peak (not serialised)
};

// A bad profile document: "FILE: where: what was expected".
class ProfileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Adds records (any order, any number of runs) to `p`: samples deduplicated by
// (name, run id, start), history trimmed, runs aged, summaries recomputed.
void add_records(Profile& p, const std::vector<report::Record>& records);
// Merges another profile into `p` (same rules as add_records).
void merge(Profile& p, const Profile& other);

// corral.profile/1 text (2-space indented JSON, sorted keys, trailing newline).
std::string to_json(const Profile& p);
// Parses corral.profile/1 written by to_json. Throws ProfileError naming `origin`.
Profile from_json(const std::string& text, const std::string& origin);

// "256.0 MiB", "1.50 GiB": how the profile's table and findings write bytes.
std::string human(uint64_t bytes);

// The readable table (one line per test) and a note on fallback memory.
std::string render_table(const Profile& p);

// --check findings; every line names the test and both numbers (a heavy
// undeclared line also the threshold it met). `over_factor` and `heavy_bytes`
// are the thresholds check() used, for the output to state (docs/profile.md
// "--check").
struct CheckResult {
    std::vector<std::string> under_declared, over_declared, heavy_undeclared;
    std::vector<std::string> notes;  // e.g. peaks that are raw cgroup peaks
    double over_factor = kOverFactor;
    uint64_t heavy_bytes = kHeavyBytes;
};
CheckResult check(const Profile& p, double over_factor = kOverFactor,
                  uint64_t heavy_bytes = kHeavyBytes);

// What a test gets from the profile when it declares nothing itself
// (docs/profile.md "Applying a profile").
struct Need {
    uint64_t mem_mib = 0;  // ceil(memory_max x (1 + margin) / MiB), >= 1
    double cost = 0;       // wall_median x mem_mib, MiB*s (CTest COST: higher starts first)
    int processors = 1;    // round(cpu_median / wall_median) when that is > 1.25, else 1
};
Need need_of(const TestProfile& t, int margin_percent);

// CMake data for CorralCoverage.cmake: one `_corral_profile_need(<name> <mem_mib>
// <median wall ms> <processors>)` per test (COST = wall x the test's mem_mib), names as bracket
// arguments (CMake 3.16).
std::string to_cmake(const Profile& p, int margin_percent, const std::string& origin);

}  // namespace corral::profile
