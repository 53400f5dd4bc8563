// corral shard, the pure module: the CTest scheduler model, the readers of the
// test list and the profile, the partitioner (balance, stability, fixtures),
// and the acceptance case on 400 heavy-tailed recorded durations.
#include "generator/shard.hpp"

#include "common/text.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace corral::shard {
namespace {

std::string data(const std::string& name) {
    std::ifstream in(std::string(CORRAL_TEST_DATA_DIR) + "/shard/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

SimTask task(double d, double cost = 0, int procs = 1, int64_t mem = 0, bool serial = false) {
    SimTask t;
    t.duration = d;
    t.cost = cost;
    t.processors = procs;
    t.run_serial = serial;
    if (mem > 0) t.needs["mem_mib"] = mem;
    return t;
}

Runner runner(int j, int64_t mem_mib = 0) {
    Runner r;
    r.parallel_level = j;
    if (mem_mib > 0) r.slots["mem_mib"] = mem_mib;
    return r;
}

// --- the scheduler model -------------------------------------------------------

TEST(ShardSimulate, FillsTheSlotsOfJ) {
    EXPECT_DOUBLE_EQ(simulate_makespan({task(1), task(1), task(1), task(1)}, runner(2)), 2);
    EXPECT_DOUBLE_EQ(simulate_makespan({task(1), task(1), task(1), task(1)}, runner(4)), 1);
    EXPECT_DOUBLE_EQ(simulate_makespan({}, runner(4)), 0);
}

TEST(ShardSimulate, StartsHigherCostFirstElseListOrder) {
    // Without COST the list order: 1 and 1 start, 2 waits: 3 s. With the cost
    // of the long test highest it starts first: 2 s.
    EXPECT_DOUBLE_EQ(simulate_makespan({task(1), task(1), task(2)}, runner(2)), 3);
    EXPECT_DOUBLE_EQ(simulate_makespan({task(1, 1), task(1, 1), task(2, 2)}, runner(2)), 2);
}

TEST(ShardSimulate, ProcessorsHoldSlotsAndAreCappedAtJ) {
    // A PROCESSORS 2 test on -j2 runs alone.
    EXPECT_DOUBLE_EQ(simulate_makespan({task(1, 2, 2), task(1, 1), task(1, 1)}, runner(2)), 2);
    // PROCESSORS 8 on -j2 is capped at 2 (cmCTestMultiProcessHandler::GetProcessorsUsed).
    EXPECT_DOUBLE_EQ(simulate_makespan({task(1, 2, 8), task(1, 1)}, runner(2)), 2);
    // A small test is started past one that does not fit yet (the list walk skips it).
    EXPECT_DOUBLE_EQ(simulate_makespan({task(2, 3), task(2, 2, 2), task(1, 1)}, runner(2)), 4);
}

TEST(ShardSimulate, RunSerialRunsAlone) {
    EXPECT_DOUBLE_EQ(simulate_makespan({task(1, 3), task(1, 2, 1, 0, true), task(1, 1)}, runner(4)),
                     2);
}

TEST(ShardSimulate, MemoryBudgetSerialisesBigTests) {
    // Two 600 MiB tests on a 1000 MiB budget cannot overlap, whatever -j says.
    EXPECT_DOUBLE_EQ(simulate_makespan({task(5, 2, 1, 600), task(5, 1, 1, 600)}, runner(4, 1000)),
                     10);
    EXPECT_DOUBLE_EQ(simulate_makespan({task(5, 2, 1, 400), task(5, 1, 1, 400)}, runner(4, 1000)),
                     5);
    // A need above the budget is capped: the test runs, alone.
    EXPECT_DOUBLE_EQ(simulate_makespan({task(5, 2, 1, 5000), task(5, 1, 1, 10)}, runner(4, 1000)),
                     10);
}

// --- readers -------------------------------------------------------------------------

const char* kListing = R"({"kind":"ctestInfo","version":{"major":1,"minor":0},"tests":[
 {"name":"a","command":["/bin/true"],"properties":[
   {"name":"COST","value":3.5},{"name":"LABELS","value":["x","y"]},
   {"name":"RESOURCE_GROUPS","value":[{"requirements":[{".type":"mem_mib","slots":100}]},
                                        {"requirements":[{".type":"mem_mib","slots":100}]}]},
   {"name":"PROCESSORS","value":2},{"name":"RUN_SERIAL","value":true},
   {"name":"FIXTURES_REQUIRED","value":["f"]},{"name":"TIMEOUT","value":10.0}]},
 {"name":"b.c+[1]","command":["/bin/true"],"properties":[{"name":"FIXTURES_SETUP","value":["f"]}]},
 {"name":"c"}]})";

TEST(ShardParse, ReadsTheCTestJsonListing) {
    auto tests = parse_ctest_tests(kListing, "listing");
    ASSERT_EQ(tests.size(), 3u);
    EXPECT_EQ(tests[0].name, "a");
    EXPECT_EQ(tests[0].number, 1);
    EXPECT_EQ(tests[2].number, 3);
    EXPECT_DOUBLE_EQ(tests[0].cost, 3.5);
    EXPECT_EQ(tests[0].processors, 2);
    EXPECT_TRUE(tests[0].run_serial);
    EXPECT_DOUBLE_EQ(tests[0].timeout, 10);
    EXPECT_EQ(tests[0].labels, (std::vector<std::string>{"x", "y"}));
    ASSERT_EQ(tests[0].resources.size(), 2u);
    EXPECT_EQ(tests[0].resources[1].type, "mem_mib");
    EXPECT_EQ(tests[0].resources[1].slots, 100);
    EXPECT_EQ(tests[1].fixtures, std::vector<std::string>{"f"});
}

TEST(ShardParse, BadListingNamesTheSource) {
    try {
        parse_ctest_tests(R"({"tests":[{"name":"a"},{"command":[]}]})", "L.json");
        FAIL() << "no error";
    } catch (const ShardError& e) {
        EXPECT_NE(std::string(e.what()).find("L.json: tests[1]"), std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_ctest_tests("not json", "x"), ShardError);
    EXPECT_THROW(
        parse_ctest_tests(
            R"({"tests":[{"name":"a","properties":[{"name":"PROCESSORS","value":"many"}]}]})", "x"),
        ShardError);
}

TEST(ShardParse, ReadsAProfileAndACostFile) {
    auto p = parse_profile(R"({"schema":"corral.profile/1","tests":{
        "a":{"runs":3,"wall_seconds":{"median":2.5,"max":4},"memory_bytes":{"max":1048576}},
        "b":{"wall_seconds":{"median":0.5},"unknown_field":1}}})",
                           "p.json");
    EXPECT_EQ(p.format, "corral.profile/1");
    ASSERT_EQ(p.tests.size(), 2u);
    EXPECT_DOUBLE_EQ(p.tests["a"].wall_median_seconds, 2.5);
    EXPECT_EQ(p.tests["a"].peak_memory_bytes, 1048576u);
    EXPECT_FALSE(p.tests["b"].peak_memory_bytes);

    auto c = parse_profile("name with spaces 3 1.25\nb 1 0.5\n---\nb\n", "CTestCostData.txt");
    EXPECT_EQ(c.format, "CTestCostData.txt");
    ASSERT_EQ(c.tests.size(), 2u);
    EXPECT_DOUBLE_EQ(c.tests["name with spaces"].wall_median_seconds, 1.25);
}

// CTest averages only passed runs into CTestCostData.txt; a test that never
// passed is "<name> 0 0" (field report: a timed-out 7 s test predicted at 0 s,
// and the zeros pulled the default duration down). Unknown, not 0 s.
TEST(ShardParse, ACostFileTestThatNeverPassedIsUnknown) {
    auto c = parse_profile("hang 0 0\nslow 4 7.5\nquick 2 0.5\nmid 1 2\n---\nhang\n",
                           "CTestCostData.txt");
    EXPECT_EQ(c.tests.count("hang"), 0u);
    ASSERT_EQ(c.tests.size(), 3u);
    std::vector<CTestTest> tests(4);
    const char* names[] = {"hang", "slow", "quick", "mid"};
    for (size_t i = 0; i < tests.size(); ++i) {
        tests[i].name = names[i];
        tests[i].number = static_cast<int>(i) + 1;
    }
    ShardOptions o;
    o.shards = 2;
    auto plan = make_shards(tests, &c, runner(1), o);
    EXPECT_DOUBLE_EQ(plan.default_duration, 2);  // the median of 7.5, 0.5 and 2
    EXPECT_EQ(plan.tests[0].duration_source, "default");
    EXPECT_DOUBLE_EQ(plan.tests[0].task.duration, 2);
    EXPECT_EQ(plan.tests[1].duration_source, "profile");
}

TEST(ShardParse, BadProfileSaysWhereAndWhat) {
    auto message = [](const char* text) {
        try {
            parse_profile(text, "prof");
        } catch (const ShardError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message(R"({"schema":"corral.profile/2","tests":{}})").find("corral.profile/1"),
              std::string::npos);
    // Typed as corral profile --merge reads them (field report: the two
    // disagreed): no median, or a null one, is an unknown test; a string is
    // an error; an overflowing number names the file.
    const std::string head = R"({"schema":"corral.profile/1","tests":{"a":)";
    EXPECT_EQ(message((head + R"({"wall_seconds":{}}}})").c_str()), "no error");
    EXPECT_EQ(message((head + R"({"wall_seconds":{"median":null}}}})").c_str()), "no error");
    EXPECT_EQ(message((head + R"({"runs":1}}})").c_str()), "no error");
    EXPECT_EQ(parse_profile(head + R"({"wall_seconds":{"median":null}}}})", "p").tests.size(), 0u);
    EXPECT_EQ(message((head + R"({"wall_seconds":{"median":"30"}}}})").c_str()),
              "prof: tests[\"a\"].wall_seconds.median: expected seconds >= 0");
    EXPECT_EQ(message((head + R"({"wall_seconds":"x"}}})").c_str()),
              "prof: tests[\"a\"].wall_seconds: expected an object");
    EXPECT_EQ(message((head + R"({"wall_seconds":{"median":1e999}}}})").c_str()).rfind("prof: ", 0),
              0u);
    EXPECT_NE(message("a 1 2\nb x 2\n").find("prof:2:"), std::string::npos);
    // A records file, one line or several: say what it is and what to run.
    const std::string record = R"({"schema":"corral.record/1","name":"t","wall_seconds":1})";
    for (const std::string& text : {record, record + "\n" + record + "\n"})
        EXPECT_NE(message(text.c_str())
                      .find("a records file (corral.record/1, one JSON object per "
                            "line), not a profile: make one with `corral profile "
                            "--records prof --out corral-profile.json`"),
                  std::string::npos)
            << message(text.c_str());
    EXPECT_NE(message("a 1 -2\n").find("prof:1:"), std::string::npos);
}

TEST(ShardRegex, EscapesEveryMetaCharacter) {
    EXPECT_EQ(ctest_regex_escape("a.b+c[1]"), "a\\.b\\+c\\[1\\]");
    EXPECT_EQ(ctest_regex_escape("x_y-z 2"), "x_y-z 2");
    EXPECT_EQ(ctest_regex_escape("^(a|b)$*?\\"), "\\^\\(a\\|b\\)\\$\\*\\?\\\\");
}

// --- the partitioner ---------------------------------------------------------------

std::vector<CTestTest> synthetic(int n, int first = 0) {
    std::vector<CTestTest> out;
    for (int i = first; i < first + n; ++i) {
        CTestTest t;
        t.name = cat({"t", std::to_string(i)});
        t.number = static_cast<int>(out.size()) + 1;
        out.push_back(t);
    }
    return out;
}

Profile profile_for(const std::vector<CTestTest>& tests) {
    Profile p;
    for (const auto& t : tests) {
        // Deterministic heavy-ish tail from the name.
        unsigned h = 0;
        for (char c : t.name)
            h = h * 131 + static_cast<unsigned char>(c);
        double d = 0.2 + (h % 1000) / 200.0;
        if (h % 37 == 0) d *= 8;
        p.tests[t.name].wall_median_seconds = d;
    }
    return p;
}

std::set<std::string> names_in(const ShardPlan& plan, int k) {
    std::set<std::string> s;
    for (const auto& t : plan.tests)
        if (t.shard == k) s.insert(t.name);
    return s;
}

void expect_partition(const ShardPlan& plan, size_t n_tests) {
    std::set<std::string> all;
    size_t sum = 0;
    for (int k = 0; k < plan.shards; ++k) {
        auto s = names_in(plan, k);
        sum += s.size();
        all.insert(s.begin(), s.end());
    }
    EXPECT_EQ(sum, n_tests) << "a test is in two shards or none";
    EXPECT_EQ(all.size(), n_tests);
    for (const auto& t : plan.tests) {
        EXPECT_GE(t.shard, 0);
        EXPECT_LT(t.shard, plan.shards);
    }
}

TEST(ShardPartition, KeepsFixturesTogether) {
    auto tests = synthetic(40);
    for (int i : {3, 17, 29, 38})
        tests[static_cast<size_t>(i)].fixtures = {"db"};
    tests[5].fixtures = {"net"};
    tests[6].fixtures = {"net", "db"};  // joins both into one group
    auto prof = profile_for(tests);
    ShardOptions o;
    o.shards = 4;
    auto plan = make_shards(tests, &prof, runner(2), o);
    expect_partition(plan, tests.size());
    for (int i : {17, 29, 38, 5, 6})
        EXPECT_EQ(plan.tests[static_cast<size_t>(i)].shard, plan.tests[3].shard) << i;
}

TEST(ShardPartition, DeterministicAndDefaultsStated) {
    auto tests = synthetic(100);
    auto prof = profile_for(tests);
    prof.tests.erase("t7");
    ShardOptions o;
    o.shards = 3;
    auto a = to_json(make_shards(tests, &prof, runner(2), o)).dump(2);
    auto b = to_json(make_shards(tests, &prof, runner(2), o)).dump(2);
    EXPECT_EQ(a, b);
    auto plan = make_shards(tests, &prof, runner(2), o);
    EXPECT_EQ(plan.tests[7].duration_source, "default");
    ASSERT_FALSE(plan.notes.empty());
    EXPECT_NE(plan.notes[0].find("1 of 100 tests are not in the profile"), std::string::npos)
        << plan.notes[0];
    o.default_duration = 42;
    EXPECT_DOUBLE_EQ(make_shards(tests, &prof, runner(2), o).tests[7].task.duration, 42);
}

TEST(ShardPartition, EmptyShardsSelectNothing) {
    auto tests = synthetic(2);
    ShardOptions o;
    o.shards = 4;
    auto plan = make_shards(tests, nullptr, runner(1), o);
    expect_partition(plan, 2);
    int empty = 0;
    for (int k = 0; k < 4; ++k)
        if (tests_file(plan, k).empty()) {
            ++empty;
            EXPECT_EQ(regex_file(plan, k), "^$a\n");
        }
    EXPECT_EQ(empty, 2);
    EXPECT_THROW(make_shards(tests, nullptr, runner(1), ShardOptions{0}), ShardError);
}

// Tests that changed shard between two plans (over the tests in both).
int moved(const ShardPlan& a, const ShardPlan& b) {
    std::map<std::string, int> before;
    for (const auto& t : a.tests)
        before[t.name] = t.shard;
    int n = 0;
    for (const auto& t : b.tests) {
        auto it = before.find(t.name);
        if (it != before.end() && it->second != t.shard) ++n;
    }
    return n;
}

std::map<std::string, int> assignment(const ShardPlan& p) {
    std::map<std::string, int> m;
    for (const auto& t : p.tests)
        m[t.name] = t.shard;
    return m;
}

TEST(ShardPartition, StableWhenAFewTestsComeAndGo) {
    auto base = synthetic(400);
    auto added = synthetic(405);                                          // t400..t404 added
    auto removed = std::vector<CTestTest>(base.begin() + 5, base.end());  // t0..t4 removed
    Profile prof = profile_for(added);
    ShardOptions o;
    o.shards = 4;
    const Runner r = runner(2);
    auto p0 = make_shards(base, &prof, r, o);
    auto greedy_o = o;
    greedy_o.strategy = Strategy::greedy;

    // Seeded from the previous assignment (shards.json in OUTDIR).
    auto prev = assignment(p0);
    auto pa = make_shards(added, &prof, r, o, &prev);
    auto pr = make_shards(removed, &prof, r, o, &prev);
    std::cout << "seeded: +5 moved " << moved(p0, pa) << ", -5 moved " << moved(p0, pr) << "\n";
    EXPECT_LE(moved(p0, pa), 10);
    EXPECT_LE(moved(p0, pr), 10);
    for (const auto* p : {&pa, &pr})
        EXPECT_LE(p->result.max_makespan(), 1.05 * p->result.ideal);

    // Without a previous assignment: rendezvous placement keeps most tests.
    auto sa = make_shards(added, &prof, r, o);
    auto sr = make_shards(removed, &prof, r, o);
    int ga = moved(make_shards(base, &prof, r, greedy_o), make_shards(added, &prof, r, greedy_o));
    std::cout << "stateless: +5 moved " << moved(p0, sa) << ", -5 moved " << moved(p0, sr)
              << " (duration-only greedy: +5 moved " << ga << ")\n";
    EXPECT_LE(moved(p0, sa), 80);
    EXPECT_LE(moved(p0, sr), 80);
}

// --- acceptance: 400 tests with heavy-tailed recorded durations ----------------------

ShardPlan from_data(const std::string& suite, Strategy s, int n, const Runner& r) {
    auto tests = parse_ctest_tests(data(suite + ".tests.json"), suite + ".tests.json");
    auto prof = parse_profile(data(suite + ".profile.json"), suite + ".profile.json");
    ShardOptions o;
    o.shards = n;
    o.strategy = s;
    return make_shards(tests, &prof, r, o);
}

TEST(ShardAcceptance, Heavy400InFourShardsWithinFivePercentOfIdeal) {
    for (int j : {2, 4}) {
        auto plan = from_data("heavy400", Strategy::corral, 4, runner(j));
        ASSERT_EQ(plan.tests.size(), 400u);
        expect_partition(plan, 400);
        const auto& r = plan.result;
        std::cout << "-j" << j << ": ideal " << r.ideal << " s, largest " << r.max_makespan()
                  << " s, ratio " << r.max_makespan() / r.ideal << "\n";
        EXPECT_LE(r.max_makespan(), 1.05 * r.ideal) << "-j" << j;
        // and the files select each test exactly once
        std::multiset<std::string> listed;
        for (int k = 0; k < 4; ++k) {
            std::istringstream in(tests_file(plan, k));
            for (std::string line; std::getline(in, line);)
                listed.insert(line);
        }
        EXPECT_EQ(listed.size(), 400u);
        EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(), 400u);
    }
}

TEST(ShardAcceptance, MemoryBoundNeverWorseThanDurationOnlyGreedy) {
    // 4 CPUs, a 6 GiB budget: a fifth of the tests hold 1-3 GiB.
    for (int n : {2, 4, 8}) {
        auto corral = from_data("memory400", Strategy::corral, n, runner(4, 6144));
        auto greedy = from_data("memory400", Strategy::greedy, n, runner(4, 6144));
        expect_partition(corral, 400);
        std::cout << "N=" << n << ": corral " << corral.result.max_makespan() / corral.result.ideal
                  << " x ideal, greedy " << greedy.result.max_makespan() / greedy.result.ideal
                  << "\n";
        EXPECT_LE(corral.result.max_makespan(), greedy.result.max_makespan()) << n;
    }
}

}  // namespace
}  // namespace corral::shard
