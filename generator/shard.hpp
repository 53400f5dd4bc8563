// Sharding a CTest suite across CI machines (`corral shard`): the test list of
// a build tree, a profile of measured durations and memory, a model of how
// CTest schedules one shard on a runner of the planned shape, and the
// partitioner on top. Pure functions only: the command (src/cli/shard_command.cpp)
// runs ctest and reads and writes the files. Docs: docs/sharding.md; the
// profile shape read here: docs/profile.md (corral.profile/1, draft).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace corral::shard {

// Bad input: the message names the file (and where in it) and what was expected.
class ShardError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// One requirement of one resource group ("mem_mib:512" -> {"mem_mib", 512}).
struct ResourceNeed {
    std::string type;
    int64_t slots = 0;
};

// One test as `ctest --show-only=json-v1` lists it (CMake >= 3.14; the format:
// cmake-manual(7) "Show as JSON Object Model"). Properties not listed are ignored.
struct CTestTest {
    std::string name;
    int number = 0;  // 1-based position in the list: the number `ctest -I` selects
    std::vector<std::string> labels;
    int processors = 1;                   // PROCESSORS (default 1)
    bool run_serial = false;              // RUN_SERIAL
    bool disabled = false;                // DISABLED
    double cost = 0;                      // COST (0 = not set)
    double timeout = 0;                   // TIMEOUT in seconds (0 = not set)
    std::vector<ResourceNeed> resources;  // RESOURCE_GROUPS, every group's requirements flattened
    std::vector<std::string> fixtures;    // FIXTURES_SETUP/CLEANUP/REQUIRED names, sorted, unique
};

// Parses the JSON printed by `ctest --show-only=json-v1`. `origin` names the
// source in errors. Throws ShardError on malformed JSON or a test without name.
std::vector<CTestTest> parse_ctest_tests(std::string_view json_text, const std::string& origin);

// What the profile says about one test (docs/profile.md).
struct ProfileEntry {
    double wall_median_seconds = 0;             // the duration the prediction uses
    std::optional<double> wall_max_seconds;     // informative
    std::optional<uint64_t> peak_memory_bytes;  // memory the test needs (max over runs)
};
struct Profile {
    std::string format;                         // "corral.profile/1" or "CTestCostData.txt"
    std::map<std::string, ProfileEntry> tests;  // by CTest test name
};

// Reads a profile: a corral.profile/1 JSON document (docs/profile.md), or a
// CTest cost file (Testing/Temporary/CTestCostData.txt: "<name> <runs> <avg
// seconds>" lines up to "---", as cmCTestMultiProcessHandler::UpdateCostData
// writes it; durations only). Throws ShardError naming origin and line/key.
Profile parse_profile(std::string_view text, const std::string& origin);

// The runner a shard runs on, as CTest sees it: `ctest -j parallel_level` and
// the resource spec's slots per resource type (all ids of a type pooled;
// "mem_mib" is the memory budget in MiB, the plan's spec).
struct Runner {
    int parallel_level = 1;
    std::map<std::string, int64_t> slots;  // resource type -> total slots
};

// One test as the scheduler model sees it.
struct SimTask {
    double duration = 0;  // seconds
    double cost = 0;      // CTest COST: higher starts first
    int processors = 1;   // PROCESSORS
    bool run_serial = false;
    std::map<std::string, int64_t> needs;  // resource type -> slots held while running
};

// Makespan in seconds of `tasks` run by one `ctest -j P` on `runner`, as
// cmCTestMultiProcessHandler schedules them (CMake 3.29-4.3,
// Source/CTest/cmCTestMultiProcessHandler.cxx): tests ordered by COST
// descending (stable: ties keep list order); whenever a test ends, the list is
// walked in that order and every test is started that fits: PROCESSORS
// (capped at P) within the free slots of -j, its resources within the free
// slots of each type, RUN_SERIAL only when nothing runs and then nothing else.
// A need above a type's capacity is capped at the capacity (the test runs
// alone in that type); a type the runner lacks is not limited. DEPENDS is not
// modelled. Pure.
double simulate_makespan(const std::vector<SimTask>& tasks, const Runner& runner);

enum class Strategy {
    corral,  // balanced on the simulated makespan, memory-aware, stable
    greedy,  // duration-only greedy (LPT on duration, ignores CPUs and memory)
    hash,    // name hash modulo N (nextest's hash: partition)
    stride,  // ctest -I k,,N: test numbers k, k+N, ... (CTest's stride)
};
// "corral", "greedy", "hash", "stride"; nullopt for anything else.
std::optional<Strategy> parse_strategy(std::string_view s);

struct ShardOptions {
    int shards = 2;
    Strategy strategy = Strategy::corral;
    // Duration for tests the profile does not know; < 0 = the median of the
    // profile's known durations among this suite's tests, or 1 s without any.
    double default_duration = -1;
    // Stop improving once every shard is within (1 + tolerance) x ideal.
    double tolerance = 0.01;
};

struct TestPrediction {
    std::string name;
    int number = 0;
    std::string duration_source;  // "profile" | "default"
    std::string memory_source;    // "declared" (RESOURCE_GROUPS mem_mib) | "profile" | "none"
    SimTask task;                 // duration, COST, PROCESSORS, RUN_SERIAL, resource needs
    int group = 0;                // tests sharing a fixture share a group (always one shard)
    int shard = -1;               // 0-based
};

struct ShardResult {
    std::vector<double> makespan;  // simulated, per shard (seconds)
    std::vector<int> test_count;   // per shard
    double ideal = 0;              // max(total / N, longest test)
    double total = 0;              // the whole suite's work on one runner (see docs)
    double longest = 0;            // the longest single test
    double max_makespan() const;
};

struct ShardPlan {
    int shards = 0;
    Strategy strategy = Strategy::corral;
    Runner runner;
    double default_duration = 0;
    std::vector<TestPrediction> tests;  // in CTest number order
    ShardResult result;
    int kept = 0;                    // tests seeded from the previous assignment that stayed
    int moved = 0;                   // tests seeded from the previous assignment that moved
    std::vector<std::string> notes;  // human remarks (defaults used, capped needs)
};

// Assigns every test to exactly one of options.shards shards (tests sharing a
// fixture together, so ctest never adds a setup test to a second shard).
// `previous` (name -> 0-based shard) seeds the corral strategy: tests keep
// their shard unless balance needs the move. Deterministic: the same inputs
// give the same plan. Throws ShardError when shards < 1.
ShardPlan make_shards(const std::vector<CTestTest>& tests, const Profile* profile,
                      const Runner& runner, const ShardOptions& options,
                      const std::map<std::string, int>* previous = nullptr);

// Predicted makespan of each shard and the ideal for a given assignment
// (plan.tests[i].shard); used by make_shards and the benchmark.
ShardResult evaluate(const std::vector<TestPrediction>& tests, const Runner& runner, int shards);

// `s` as a literal in a CTest regular expression (cmsys::RegularExpression:
// a backslash makes any following character literal): every character
// outside [A-Za-z0-9_ -] is preceded by a backslash.
std::string ctest_regex_escape(std::string_view s);

// The files of one shard (0-based k): names one per line, for
// `ctest --tests-from-file` (CMake >= 3.29); a single-line `^(a|b)$` regex for
// `ctest -R` (older CMake).
std::string tests_file(const ShardPlan& plan, int k);
std::string regex_file(const ShardPlan& plan, int k);
// A CTestCostData.txt giving every test its predicted duration as cost, so a
// shard's ctest -j starts tests in the order the prediction assumed.
std::string cost_data_file(const ShardPlan& plan);

inline constexpr const char* kShardsSchema = "corral.shards/1";
// The manifest (shards.json, and --json): schema corral.shards/1 (docs/sharding.md).
nlohmann::ordered_json to_json(const ShardPlan& plan);
// The assignment of a previous manifest (name -> 0-based shard); empty when it
// was made for another number of shards. Throws ShardError when malformed.
std::map<std::string, int> parse_previous(std::string_view json_text, const std::string& origin,
                                          int shards);

}  // namespace corral::shard
