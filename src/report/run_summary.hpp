// One run, summarised: which records belong to it, the counts by outcome,
// the lanes of its timeline, its makespan against a lower bound, and memory
// in use over time. Pure: records (+ optional plan numbers) in, numbers out;
// every renderer reads this and nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/records_model.hpp"

namespace corral::report {

// --run: "last" (the run of the last record read), "all", or a run id (or a
// unique prefix of one). Throws RecordsError listing the runs it knows.
std::vector<Record> select_run(const std::vector<Record>& all, const std::string& which,
                               std::string& selected_label);

// Numbers from plan.json (docs/plan-schema.md) that the records lack.
struct PlanNumbers {
    std::optional<int> test_parallel_level;       // the slots ctest -j had
    std::optional<uint64_t> memory_budget_bytes;  // the mem_mib budget
};
// Reads `path` (corral.plan/1). Throws RecordsError "FILE: ..." when it is not one.
PlanNumbers read_plan_numbers(const std::string& path);

struct MemoryPoint {
    double t = 0;           // seconds after the run's start
    uint64_t peak_sum = 0;  // Σ peak memory of the tests running (each held its peak throughout)
    uint64_t granted_sum = 0;  // Σ mem_mib granted to the tests running
};

struct Summary {
    std::string label;          // the run id, "all runs", or "(no run id)"
    std::vector<Record> tests;  // by start time
    std::vector<int> lane;      // lane of tests[i], 0-based: lowest lane free at its start
    int lanes = 0;
    // The summary counts every renderer shows (docs/report.md "Counts"): a
    // test passed or failed as CTest saw it (launcher exit code 0 or not), so
    // passed + failed = tests.size(); a test failed for leaking (--leak fail,
    // exit 122) is failed. `leaking` counts the tests that left processes,
    // whether they passed (--leak warn) or failed.
    int passed_count = 0;
    int failed_count = 0;
    int leaking = 0;
    std::map<Outcome, int> counts;     // every test by its outcome (sums to tests.size())
    std::map<Outcome, int> failed_by;  // the failed tests by outcome (sums to failed_count)
    bool passed = true;                // failed_count == 0
    double run_start = 0;              // Unix seconds
    double makespan = 0;               // last end − first start
    double longest = 0;                // the longest test's wall time
    double total_wall = 0;             // Σ wall time (one slot per test)
    double total_cpu = 0;
    int slots = 0;  // the plan's test level, else the peak concurrency
    bool slots_from_plan = false;
    double lower_bound = 0;  // max(longest, total_wall / slots)
    double busy = 0;         // total_wall / (slots × makespan), 0..1
    double lock_wait = 0;    // Σ lock/slot wait
    std::optional<uint64_t> memory_budget;
    std::vector<MemoryPoint> memory;  // step function, one point per start/end
    uint64_t memory_peak_sum = 0;     // max of peak_sum over time
};

Summary summarise(std::vector<Record> tests, const std::string& label, const PlanNumbers& plan);

// "1.2 s", "3 min 4 s", "45 ms": for humans.
std::string human_seconds(double s);

}  // namespace corral::report
