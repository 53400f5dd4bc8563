// The reaper's name tables (runtime/reaper.hpp: ties, spare reasons, outcomes)
// held to docs/runtime.md "corral reap" both ways: every name in code is
// documented, every documented name is in code, in the same order; the spare
// reasons' and outcomes' meanings word for word. And the names are what
// `corral reap --json` (corral.reap/1) and its text output print.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/reaper.hpp"

namespace corral::reap {
namespace {

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string without_backticks(std::string s) {
    std::erase(s, '`');
    return s;
}

// The rows (cells trimmed) of the Markdown table in docs/runtime.md whose
// header row is `| first | second |`; empty when there is none.
std::vector<std::vector<std::string>> docs_table(const std::string& first,
                                                 const std::string& second) {
    std::ifstream in(std::string(CORRAL_SOURCE_DIR) + "/docs/runtime.md");
    std::vector<std::vector<std::string>> rows;
    bool in_table = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind('|', 0) != 0) {
            if (in_table) break;
            continue;
        }
        std::vector<std::string> cells;
        std::stringstream ss(line.substr(1));
        for (std::string cell; std::getline(ss, cell, '|');)
            cells.push_back(trim(cell));
        if (!in_table) {
            in_table = cells.size() >= 2 && cells[0] == first && cells[1] == second;
            continue;
        }
        if (cells.at(0).find("---") != std::string::npos) continue;
        rows.push_back(cells);
    }
    return rows;
}

// The first cell of each row, `name` -> name.
std::vector<std::string> documented_names(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::string> names;
    for (const auto& r : rows) {
        const auto& c = r.at(0);
        EXPECT_TRUE(c.size() > 2 && c.front() == '`' && c.back() == '`') << c;
        names.push_back(without_backticks(c));
    }
    return names;
}

template <class E, size_t N>
std::vector<std::string> code_names(const NameRow<E> (&table)[N]) {
    std::vector<std::string> names;
    for (const auto& row : table)
        names.emplace_back(row.name);
    return names;
}

// Every enum value has exactly one row (the enums are dense from 0).
template <class E, size_t N>
void expect_complete(const NameRow<E> (&table)[N], int count) {
    ASSERT_EQ(static_cast<int>(N), count);
    for (int v = 0; v < count; ++v) {
        int rows = 0;
        for (const auto& row : table)
            rows += static_cast<int>(row.value) == v;
        EXPECT_EQ(rows, 1) << "enum value " << v;
    }
}

TEST(ReapNames, TiesAreTheDocumentedTieTable) {
    auto rows = docs_table("tie", "rule");
    ASSERT_FALSE(rows.empty()) << "docs/runtime.md: no `| tie | rule |` table";
    EXPECT_EQ(documented_names(rows), code_names(kTieNames));
    expect_complete(kTieNames, 5);
    for (const auto& row : kTieNames) {
        EXPECT_EQ(parse_tie(row.name), row.value);
        EXPECT_STREQ(tie_name(row.value), row.name);
    }
    EXPECT_EQ(parse_tie("pid"), std::nullopt);
    // --match reads the same names: each switches on its own tie only.
    for (const auto& row : kTieNames) {
        auto m = parse_match_set(row.name);
        for (const auto& other : kTieNames)
            EXPECT_EQ(m[other.value], other.value == row.value) << row.name << " " << other.name;
    }
}

TEST(ReapNames, SpareReasonsAreTheDocumentedNeverTouchedTable) {
    auto rows = docs_table("reason", "who");
    ASSERT_FALSE(rows.empty()) << "docs/runtime.md: no `| reason | who |` table";
    EXPECT_EQ(documented_names(rows), code_names(kSpareReasonNames));
    expect_complete(kSpareReasonNames, 7);
    for (size_t i = 0; i < rows.size() && i < std::size(kSpareReasonNames); ++i)
        EXPECT_EQ(without_backticks(rows[i].at(1)), kSpareReasonNames[i].meaning);
}

TEST(ReapNames, OutcomesAreTheDocumentedOutcomeTable) {
    auto rows = docs_table("outcome", "meaning");
    ASSERT_FALSE(rows.empty()) << "docs/runtime.md: no `| outcome | meaning |` table";
    EXPECT_EQ(documented_names(rows), code_names(kOutcomeNames));
    expect_complete(kOutcomeNames, 5);
    for (size_t i = 0; i < rows.size() && i < std::size(kOutcomeNames); ++i)
        EXPECT_EQ(without_backticks(rows[i].at(1)), kOutcomeNames[i].meaning);
}

// The JSON and text output carry the table's names (corral.reap/1 keeps the
// strings it always had: "ancestor", "other-user", "cwd", "killed", ...).
TEST(ReapNames, JsonAndTextPrintTheNames) {
    ReapReport report;
    report.scope_paths = {"/s/001"};
    report.rounds = 1;
    proc::ProcessInfo p;
    p.pid = 4242;
    p.comm = "server";
    p.argv = {"/usr/bin/server", "--data=/s/001"};
    report.found.push_back(
        Found{Candidate{p, Tie::Argv, "--data=/s/001"}, "default", 1, Outcome::Killed});
    int pid = 5000;
    for (const auto& row : kSpareReasonNames) {
        proc::ProcessInfo s = p;
        s.pid = pid++;
        report.spared.push_back(Spared{s, Tie::Cwd, "/s/001", row.value});
    }
    auto j = to_json(report);
    EXPECT_EQ(j["found"][0]["matched_by"], "argv");
    EXPECT_EQ(j["found"][0]["outcome"], "killed");
    EXPECT_EQ(j["summary"]["killed"], 1);
    ASSERT_EQ(j["spared"].size(), std::size(kSpareReasonNames));
    std::vector<std::string> reasons;
    for (const auto& s : j["spared"]) {
        EXPECT_EQ(s["matched_by"], "cwd");
        reasons.push_back(s["reason"]);
    }
    EXPECT_EQ(reasons, (std::vector<std::string>{"self", "ancestor", "pid-1", "kernel-thread",
                                                 "other-user", "launched", "reaper"}));
    std::ostringstream text;
    describe(text, report);
    EXPECT_NE(text.str().find("  killed  pid 4242  round 1  [default]"), std::string::npos)
        << text.str();
    EXPECT_NE(text.str().find("tied by argv: --data=/s/001"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("spared (other-user)  pid 5004"), std::string::npos) << text.str();
    EXPECT_EQ(text.str().find("spared (self)"), std::string::npos) << "self is JSON-only";
}

}  // namespace
}  // namespace corral::reap
