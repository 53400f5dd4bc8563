// CPU and memory facts of recorded host trees (tests/data/hosts/cgroup-*/), each
// checked against its expected.json: once through the library (probe_cpu /
// probe_memory with a RecordedHost on the tree) and once through the real program
// (`corral probe --json --root TREE`).
#include <gtest/gtest.h>

#include <sstream>

#include "cgroup_test_support.hpp"
#include "probe/facts_json.hpp"
#include "probe/probe.hpp"

namespace corral {
namespace {

using test::cgroup_tree_names;
using test::expect_section;
using test::expected_of;
using test::hosts_dir;

class CgroupTree : public ::testing::TestWithParam<std::string> {};

TEST_P(CgroupTree, LibraryMatchesExpected) {
    const auto tree = GetParam();
    RecordedHost host(hosts_dir() / tree);
    Facts facts;
    facts.cpu = probe_cpu(host);
    facts.memory = probe_memory(host);
    const auto json = to_json(facts);
    const auto expected = expected_of(tree);
    SCOPED_TRACE(expected.value("description", ""));
    expect_section(json.at("cpu"), expected.at("cpu"), tree + " cpu");
    expect_section(json.at("memory"), expected.at("memory"), tree + " memory");
}

TEST_P(CgroupTree, ProgramJsonMatchesExpected) {
    const auto tree = GetParam();
    auto r =
        test::run_program({CORRAL_EXE, "probe", "--json", "--root", (hosts_dir() / tree).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto json = nlohmann::json::parse(r.out);
    EXPECT_EQ(json.at("schema"), "corral.facts/1");
    EXPECT_EQ(json.at("root"), (hosts_dir() / tree).string());
    const auto expected = expected_of(tree);
    expect_section(json.at("cpu"), expected.at("cpu"), tree + " cpu");
    expect_section(json.at("memory"), expected.at("memory"), tree + " memory");
}

TEST_P(CgroupTree, HumanSummaryExplainsEveryNumber) {
    const auto tree = GetParam();
    RecordedHost host(hosts_dir() / tree);
    auto cpu = probe_cpu(host);
    auto memory = probe_memory(host);
    std::ostringstream out;
    describe_cpu(out, cpu);
    describe_memory(out, memory);
    const auto text = out.str();
    EXPECT_NE(text.find("CPUs: " + std::to_string(cpu.effective) + " effective = "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(cpu.quota_source), std::string::npos) << text;
    EXPECT_NE(text.find(memory.limit_source), std::string::npos) << text;
    EXPECT_NE(text.find(memory.available_source), std::string::npos) << text;
    for (const auto& note : cpu.notes)
        EXPECT_NE(text.find(note), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(Hosts, CgroupTree, ::testing::ValuesIn(cgroup_tree_names()),
                         [](const auto& info) { return test::test_name_of(info.param); });

// Guards against a moved data directory making the suite above silently empty,
// and names every situation the issue asks for.
TEST(CgroupTrees, EverySituationHasATree) {
    auto names = cgroup_tree_names();
    for (const char* required :
         {"cgroup-v2-leaf-limit", "cgroup-v2-ancestor-limit", "cgroup-v2-ancestor-stricter",
          "cgroup-v1-container-bind", "cgroup-hybrid-host", "cgroup-no-limits", "cgroup-quota-half",
          "cgroup-quota-above-affinity", "cgroup-memory-sentinels", "cgroup-memory-max-zero",
          "cgroup-escaped-space", "cgroup-untranslatable-root", "cgroup-garbage",
          "cgroup-missing-proc", "cgroup-v1-limit-above-mount-root", "cgroup-v2-high-ancestor",
          "cgroup-v1-soft-limit"})
        EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
}

// The human line the issue shows, on the hybrid tree (v1 cpu, 1.5 CPUs).
TEST(ProbeDescribeCpu, ShowsTheFormulaAndWhereTheQuotaCameFrom) {
    RecordedHost host(hosts_dir() / "cgroup-hybrid-host");
    std::ostringstream out;
    describe_cpu(out, probe_cpu(host));
    EXPECT_NE(out.str().find("CPUs: 2 effective = min(affinity 2, ceil(quota 1.5)) — quota from "
                             "cgroup v1 cpu cpu.cfs_quota_us/cpu.cfs_period_us = 150000/100000 at "
                             "/sys/fs/cgroup/cpu/build/job7 (leaf)\n"),
              std::string::npos)
        << out.str();
}

TEST(ProbeDescribeMemory, ShowsMinOfTotalAndTheLowestLimit) {
    // memory.high 1 GiB on the leaf undercuts the parent's memory.max 2 GiB.
    RecordedHost host(hosts_dir() / "cgroup-v2-ancestor-stricter");
    std::ostringstream out;
    describe_memory(out, probe_memory(host));
    EXPECT_NE(out.str().find("Memory: 1.0 GiB effective = min(MemTotal 16.0 GiB, memory.high "
                             "1.0 GiB) — memory.high from cgroup v2 memory.high = 1073741824 (1.0 "
                             "GiB) at /sys/fs/cgroup/tenant/build (leaf) (below memory.max "
                             "2147483648 (2.0 GiB))"),
              std::string::npos)
        << out.str();
    EXPECT_NE(out.str().find("in use     600.0 MiB"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("high       1.0 GiB"), std::string::npos) << out.str();
}

// An empty directory as root: nothing is known, nothing is invented.
TEST(ProbeBadRoot, EmptyDirectoryGivesUnknownsNotNumbers) {
    auto dir = std::filesystem::temp_directory_path() /
               ("corral-p1-empty-root-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    RecordedHost host(dir);
    auto cpu = probe_cpu(host);
    auto memory = probe_memory(host);
    std::filesystem::remove_all(dir);
    EXPECT_FALSE(cpu.online);
    EXPECT_FALSE(cpu.affinity);
    EXPECT_FALSE(cpu.quota);
    EXPECT_EQ(cpu.effective, 1);
    EXPECT_NE(cpu.effective_source.find("safe minimum"), std::string::npos) << cpu.effective_source;
    EXPECT_NE(cpu.online_source.find("unknown: /sys/devices/system/cpu/online"), std::string::npos)
        << cpu.online_source;
    EXPECT_FALSE(memory.total_bytes);
    EXPECT_FALSE(memory.available_bytes);
    EXPECT_FALSE(memory.limit_bytes);
    EXPECT_FALSE(memory.effective_bytes);
    EXPECT_NE(memory.limit_source.find("unknown"), std::string::npos) << memory.limit_source;
}

TEST(ProbeBadRoot, ProgramReportsARootThatIsNotADirectoryAndCarriesOn) {
    const auto file = (hosts_dir() / "cgroup-v2-leaf-limit" / "expected.json").string();
    auto r = test::run_program({CORRAL_EXE, "probe", "--json", "--root", file});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;
    auto json = nlohmann::json::parse(r.out);  // still the full, valid facts document
    EXPECT_TRUE(json.at("cpu").at("quota").is_null());
    EXPECT_TRUE(json.at("memory").at("total_bytes").is_null());
    EXPECT_EQ(json.at("cpu").at("effective"), 1);
}

TEST(ProbeBadRoot, ProgramReportsAMissingRoot) {
    auto r = test::run_program({CORRAL_EXE, "probe", "--root", "/nonexistent/corral-p1"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/corral-p1"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("CPUs: 1 effective"), std::string::npos) << r.out;
}

TEST(ProbeCommand, UnknownOptionIsAUsageError) {
    auto r = test::run_program({CORRAL_EXE, "probe", "--no-such-flag"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(ProbeCommand, HelpExplainsRootAndJson) {
    auto r = test::run_program({CORRAL_EXE, "probe", "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--root"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Exit status"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace corral
