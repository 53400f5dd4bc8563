// The one RunOutcome table (common/run_outcome.hpp) and docs/exit-codes.md
// "corral run" must say the same: every (code, outcome) row of one is a row of
// the other.
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/run_outcome.hpp"

namespace {

using corral::RunFacts;
using corral::RunOutcome;

std::string trim(std::string s) {
    auto b = s.find_first_not_of(" \t");
    auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

TEST(RunOutcome, DocsExitCodesMatchTheTable) {
    std::ifstream in(std::string(CORRAL_SOURCE_DIR) + "/docs/exit-codes.md");
    ASSERT_TRUE(in) << "docs/exit-codes.md";
    std::string line;
    bool in_section = false;
    std::set<std::pair<std::string, std::string>> documented;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0) in_section = line == "## corral run";
        if (!in_section || line.rfind("| ", 0) != 0) continue;
        std::vector<std::string> cells;
        std::stringstream ss(line.substr(1));
        std::string cell;
        while (std::getline(ss, cell, '|'))
            cells.push_back(trim(cell));
        if (cells.size() < 3 || cells[0] == "code" || cells[1] == "—") continue;
        documented.insert({cells[0], cells[1]});
    }
    std::set<std::pair<std::string, std::string>> table;
    for (const auto& row : corral::kRunExitCodes)
        table.insert({row.code, corral::outcome_name(row.outcome)});
    EXPECT_EQ(documented, table);
    // Every outcome has at least one code.
    for (auto o : corral::kAllRunOutcomes) {
        bool found = false;
        for (const auto& row : corral::kRunExitCodes)
            found = found || row.outcome == o;
        EXPECT_TRUE(found) << corral::outcome_name(o);
    }
}

// decide_outcome + exit_code_of give the codes the table names.
TEST(RunOutcome, DecidesAndMapsToTheDocumentedCodes) {
    auto code = [](RunFacts f) { return exit_code_of(decide_outcome(f), f); };
    RunFacts passed;
    passed.exit_code = 0;
    EXPECT_EQ(decide_outcome(passed), RunOutcome::Passed);
    EXPECT_EQ(code(passed), 0);
    RunFacts failed;
    failed.exit_code = 7;
    EXPECT_EQ(decide_outcome(failed), RunOutcome::Failed);
    EXPECT_EQ(code(failed), 7);
    RunFacts sig;
    sig.signal = 10;
    EXPECT_EQ(decide_outcome(sig), RunOutcome::Signalled);
    EXPECT_EQ(code(sig), 138);
    RunFacts oom = sig;
    oom.signal = 9;
    oom.oom_killed = true;
    EXPECT_EQ(decide_outcome(oom), RunOutcome::OomKilled);
    EXPECT_EQ(code(oom), 137);
    RunFacts leak = passed;
    leak.leaked = true;
    EXPECT_EQ(decide_outcome(leak), RunOutcome::Passed);  // --leak warn
    leak.leak_fails = true;
    EXPECT_EQ(decide_outcome(leak), RunOutcome::Leaked);
    EXPECT_EQ(code(leak), corral::kExitLeaked);
    RunFacts failed_leak = failed;
    failed_leak.leaked = failed_leak.leak_fails = true;
    EXPECT_EQ(code(failed_leak), 7);  // a failed test keeps its code
    RunFacts timeout = failed;
    timeout.timed_out = true;
    EXPECT_EQ(decide_outcome(timeout), RunOutcome::TimedOut);
    EXPECT_EQ(code(timeout), corral::kExitTimeout);
    RunFacts stopped = passed;
    stopped.launcher_signal = 15;
    EXPECT_EQ(decide_outcome(stopped), RunOutcome::Signalled);
    EXPECT_EQ(code(stopped), 143);
}

}  // namespace
