// The profile model: built from hand-written records (the fields corral run
// writes, docs/runtime.md "Records"), merged, aged, serialised, checked.
#include "profile/profile_model.hpp"

#include "common/text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace corral::profile {
namespace {

struct Rec {
    std::string name;
    std::string run;
    double start = 0;
    double wall = 1;
    double cpu = 0.5;
    long long peak_raw = 0;
    long long nonrecl = -1;  // -1: field absent (an older record)
    long long declared = -1;
    int mem_mib_grant = 0;
    int code = 0;
    bool oom = false;
    bool timed_out = false;
};

report::Record make(const Rec& r, int line = 1) {
    std::string text = "{\"schema\":\"corral.record/1\",\"run_id\":\"" + r.run + "\",\"name\":\"" +
                       r.name + "\",\"start_unix\":" + std::to_string(r.start) +
                       ",\"wall_seconds\":" + std::to_string(r.wall) +
                       ",\"cpu_user_seconds\":" + std::to_string(r.cpu) +
                       ",\"peak_memory_bytes\":" + std::to_string(r.peak_raw) +
                       ",\"launcher_exit_code\":" + std::to_string(r.code) +
                       ",\"exit_code\":" + std::to_string(r.oom ? 137 : r.code) +
                       ",\"oom_killed\":" + (r.oom ? "true" : "false") +
                       ",\"timed_out\":" + (r.timed_out ? "true" : "false");
    if (r.nonrecl >= 0) text += ",\"peak_nonreclaimable_bytes\":" + std::to_string(r.nonrecl);
    if (r.declared >= 0) text += ",\"declared_memory_bytes\":" + std::to_string(r.declared);
    if (r.mem_mib_grant)
        text += ",\"resources\":[{\"group\":0,\"type\":\"mem_mib\",\"id\":\"mem\",\"slots\":" +
                std::to_string(r.mem_mib_grant) + "}]";
    text += "}";
    return report::parse_record(text, "test.jsonl", line);
}

constexpr long long MiB = 1 << 20;

std::vector<report::Record> run_of(const std::string& run, double start,
                                   const std::vector<std::string>& names, double wall = 1,
                                   long long mem = 10 * MiB) {
    std::vector<report::Record> out;
    for (const auto& n : names) {
        Rec r{n, run, start};
        r.wall = wall;
        r.nonrecl = mem;
        r.peak_raw = 4 * mem;
        out.push_back(make(r));
        start += 1;
    }
    return out;
}

TEST(ProfileModel, SummarisesRecordsPerTest) {
    std::vector<report::Record> recs;
    Rec a{"a", "r1", 100, 2.0, 3.0, 900 * MiB, 300 * MiB};
    a.mem_mib_grant = 64;
    recs.push_back(make(a));
    a.run = "r2", a.start = 200, a.wall = 4.0, a.nonrecl = 100 * MiB, a.oom = true, a.code = 137;
    recs.push_back(make(a));
    a.run = "r3", a.start = 300, a.wall = 3.0, a.nonrecl = 200 * MiB, a.oom = false, a.code = 0;
    a.timed_out = true, a.code = 124;
    recs.push_back(make(a));
    Profile p;
    add_records(p, recs);
    ASSERT_EQ(p.tests.size(), 1u);
    const auto& t = p.tests.at("a");
    EXPECT_EQ(t.runs, 3);
    EXPECT_DOUBLE_EQ(t.wall_median, 3.0);
    EXPECT_DOUBLE_EQ(t.wall_max, 4.0);
    EXPECT_DOUBLE_EQ(t.cpu_median, 3.0);
    EXPECT_EQ(t.memory_max, static_cast<uint64_t>(300 * MiB));  // not the raw 900 MiB
    EXPECT_EQ(t.memory_p90, static_cast<uint64_t>(300 * MiB));
    EXPECT_EQ(t.memory_source, "nonreclaimable");
    EXPECT_EQ(t.declared_memory_bytes, std::optional<uint64_t>(64 * MiB));  // the grant
    EXPECT_EQ(t.granted_memory_bytes, std::optional<uint64_t>(64 * MiB));
    EXPECT_EQ(t.oom_kills, 1);
    EXPECT_EQ(t.timeouts, 1);
    EXPECT_EQ(t.failures, 2);
    EXPECT_EQ(p.fallback_tests, 0);
}

TEST(ProfileModel, DeclaredMemoryFieldWinsOverTheGrant) {
    Rec a{"a", "r1", 100};
    a.nonrecl = MiB;
    a.declared = 32 * MiB;
    a.mem_mib_grant = 64;
    Profile p;
    add_records(p, {make(a)});
    EXPECT_EQ(p.tests.at("a").declared_memory_bytes, std::optional<uint64_t>(32 * MiB));
}

TEST(ProfileModel, OldRecordsFallBackToTheCgroupPeakAndSaySo) {
    Rec a{"old", "r1", 100, 1, 0, 700 * MiB};  // no peak_nonreclaimable_bytes
    Profile p;
    add_records(p, {make(a)});
    EXPECT_EQ(p.tests.at("old").memory_max, static_cast<uint64_t>(700 * MiB));
    EXPECT_EQ(p.tests.at("old").memory_source, "cgroup-peak");
    EXPECT_EQ(p.fallback_tests, 1);
    EXPECT_NE(render_table(p).find("no peak_nonreclaimable_bytes"), std::string::npos);
    auto c = check(p);
    ASSERT_EQ(c.notes.size(), 1u);
    EXPECT_NE(c.notes[0].find("old: peak is the cgroup's raw peak"), std::string::npos);
}

// A command that never ran (not found: no exit code, no signal) measured the
// launcher only: it is no sample of the test's needs. Before, nine not-found
// runs beside one real run made the test's wall median 2 ms and its memory
// "mixed".
TEST(ProfileModel, ARunThatNeverStartedIsNoSample) {
    Rec real{"t", "r1", 100, 0.585, 0.5};
    real.nonrecl = 93 * MiB;
    std::vector<report::Record> recs = {make(real)};
    for (int i = 0; i < 9; ++i)
        recs.push_back(report::parse_record(
            "{\"schema\":\"corral.record/1\",\"run_id\":\"r" + std::to_string(i + 2) +
                "\",\"name\":\"t\",\"start_unix\":" + std::to_string(200 + i) +
                ",\"wall_seconds\":0.002,\"launcher_exit_code\":127,\"exit_code\":null,"
                "\"peak_memory_bytes\":0,\"peak_memory_source\":\"none\"}",
            "test.jsonl", 2 + i));
    recs.push_back(report::parse_record(
        "{\"schema\":\"corral.record/1\",\"run_id\":\"r1\",\"name\":\"missing\","
        "\"start_unix\":101,\"wall_seconds\":0.005,\"launcher_exit_code\":127}",
        "test.jsonl", 20));
    Profile p;
    add_records(p, recs);
    ASSERT_EQ(p.tests.count("missing"), 0u) << "a test that never ran has no needs to profile";
    const auto& t = p.tests.at("t");
    EXPECT_EQ(t.runs, 1);
    EXPECT_DOUBLE_EQ(t.wall_median, 0.585);
    EXPECT_EQ(t.memory_max, static_cast<uint64_t>(93 * MiB));
    EXPECT_EQ(t.memory_source, "nonreclaimable");
}

TEST(ProfileModel, PercentileIsNearestRank) {
    std::vector<report::Record> recs;
    for (int i = 1; i <= 10; ++i) {
        Rec r{"t", cat({"r", std::to_string(100 + i)}), 100.0 * i};
        r.nonrecl = i * MiB;
        recs.push_back(make(r));
    }
    Profile p;
    add_records(p, recs);
    EXPECT_EQ(p.tests.at("t").memory_p90, static_cast<uint64_t>(9 * MiB));
    EXPECT_EQ(p.tests.at("t").memory_max, static_cast<uint64_t>(10 * MiB));
}

TEST(ProfileModel, HistoryIsBoundedToTheNewestSamples) {
    Profile p;
    for (int i = 0; i < kHistory + 5; ++i)
        add_records(p, run_of(cat({"r", std::to_string(100 + i)}), 1000.0 * i, {"t"}, 1.0 + i));
    const auto& t = p.tests.at("t");
    EXPECT_EQ(t.runs, kHistory);
    ASSERT_EQ(t.samples.size(), static_cast<size_t>(kHistory));
    EXPECT_EQ(t.samples.front().run_id, "r105");  // the 5 oldest went
    EXPECT_EQ(p.runs.size(), static_cast<size_t>(kKeepRuns));
}

TEST(ProfileModel, TwoRunsMergeLikeOneReadOfBoth) {
    auto run1 = run_of("r1", 100, {"a", "b"}, 2.0);
    auto run2 = run_of("r2", 200, {"a", "c"}, 4.0);
    Profile one, two, both, reversed;
    add_records(one, run1);
    add_records(two, run2);
    merge(one, two);
    std::vector<report::Record> all = run1;
    all.insert(all.end(), run2.begin(), run2.end());
    add_records(both, all);
    EXPECT_EQ(to_json(one), to_json(both));
    // Merging the other way round, or the same run twice, changes nothing.
    add_records(reversed, run2);
    add_records(reversed, run1);
    add_records(reversed, run1);
    EXPECT_EQ(to_json(reversed), to_json(both));
    EXPECT_EQ(both.tests.at("a").runs, 2);
    EXPECT_DOUBLE_EQ(both.tests.at("a").wall_median, 3.0);
    EXPECT_EQ(both.tests.size(), 3u);
}

TEST(ProfileModel, ARenamedTestAgesOutAfterKeepRunsNewerRuns) {
    Profile p;
    add_records(p, run_of("r00", 0, {"old_name", "other"}));
    for (int i = 1; i < kKeepRuns; ++i) {
        char id[8];
        std::snprintf(id, sizeof id, "r%02d", i);
        add_records(p, run_of(id, 100.0 * i, {"new_name", "other"}));
    }
    EXPECT_EQ(p.tests.count("old_name"), 1u) << "still within the newest runs";
    add_records(p, run_of("r99", 100.0 * kKeepRuns, {"new_name", "other"}));
    EXPECT_EQ(p.tests.count("old_name"), 0u) << to_json(p);
    EXPECT_EQ(p.aged_out, 1);
    EXPECT_EQ(p.tests.count("new_name"), 1u);
    EXPECT_EQ(p.tests.count("other"), 1u);
    // Reading the old records again does not bring it back: its run is old.
    add_records(p, run_of("r00", 0, {"old_name", "other"}));
    EXPECT_EQ(p.tests.count("old_name"), 0u);
}

TEST(ProfileModel, OutputIsByteIdenticalForIdenticalInputs) {
    auto recs = run_of("r1", 100.123456, {"z", "a", "m"}, 1.23456789, 123456789);
    auto shuffled = recs;
    std::swap(shuffled[0], shuffled[2]);
    Profile p1, p2;
    add_records(p1, recs);
    add_records(p2, shuffled);
    std::string text = to_json(p1);
    EXPECT_EQ(text, to_json(p2));
    // Through the file format and back: the same bytes.
    EXPECT_EQ(to_json(from_json(text, "p.json")), text);
    EXPECT_NE(text.find("\"median\": 1.235"), std::string::npos) << text;  // rounded to 1 ms
    EXPECT_LT(text.find("\"a\""), text.find("\"m\""));
    EXPECT_LT(text.find("\"m\""), text.find("\"z\""));
}

TEST(ProfileModel, CheckFlagsUnderOverAndHeavyUndeclared) {
    std::vector<report::Record> recs;
    Rec under{"under", "r1", 1};
    under.nonrecl = 300 * MiB, under.declared = 64 * MiB;
    Rec fine{"fine", "r1", 2};
    fine.nonrecl = 60 * MiB, fine.declared = 64 * MiB;
    Rec over{"over", "r1", 3};
    over.nonrecl = 10 * MiB, over.declared = 1024 * MiB;
    Rec heavy{"heavy", "r1", 4};
    heavy.nonrecl = 512 * MiB;
    Rec light{"light", "r1", 5};
    light.nonrecl = 20 * MiB;
    for (const auto& r : {under, fine, over, heavy, light})
        recs.push_back(make(r));
    Profile p;
    add_records(p, recs);
    auto c = check(p);
    ASSERT_EQ(c.under_declared.size(), 1u);
    EXPECT_EQ(c.under_declared[0],
              "under: declared 64.0 MiB (67108864 B), peak 300.0 MiB (314572800 B)");
    ASSERT_EQ(c.over_declared.size(), 1u);
    EXPECT_EQ(c.over_declared[0],
              "over: declared 1.00 GiB (1073741824 B), peak 10.0 MiB (10485760 B) (more than 4x)");
    ASSERT_EQ(c.heavy_undeclared.size(), 1u);
    EXPECT_EQ(c.heavy_undeclared[0],
              "heavy: declared nothing, peak 512.0 MiB (536870912 B), at least the heavy "
              "threshold 256.0 MiB");
    EXPECT_EQ(c.heavy_bytes, kHeavyBytes);
    EXPECT_EQ(check(p, kOverFactor, 1024 * MiB).heavy_undeclared.size(), 0u);
    EXPECT_TRUE(c.notes.empty());
}

TEST(ProfileModel, NeedAddsTheMarginAndReadsCpusFromCpuOverWall) {
    TestProfile t;
    t.memory_max = 100 * MiB;
    t.wall_median = 2.0;
    t.cpu_median = 5.9;
    Need n = need_of(t, 20);
    EXPECT_EQ(n.mem_mib, 120u);
    EXPECT_DOUBLE_EQ(n.cost, 240.0);
    EXPECT_EQ(n.processors, 3);
    t.memory_max = 100 * MiB + 1;  // rounds up
    EXPECT_EQ(need_of(t, 0).mem_mib, 101u);
    t.cpu_median = 2.4;  // 1.2 CPUs: not more than one
    EXPECT_EQ(need_of(t, 20).processors, 1);
    t.memory_max = 0;
    EXPECT_EQ(need_of(t, 20).mem_mib, 1u);
}

TEST(ProfileModel, CMakeDataQuotesEveryNameExactly) {
    Profile p;
    add_records(p, run_of("r1", 1, {"plain", "a]]b", "ends]"}, 1.5, 100 * MiB));
    std::string cm = to_cmake(p, 20, "p.json");
    EXPECT_NE(cm.find("_corral_profile_need([[plain]] 120 1500 1)"), std::string::npos) << cm;
    EXPECT_NE(cm.find("_corral_profile_need([=[a]]b]=] 120 1500 1)"), std::string::npos) << cm;
    EXPECT_NE(cm.find("_corral_profile_need([=[ends]]=] 120 1500 1)"), std::string::npos) << cm;
}

TEST(ProfileModel, BadProfilesAreErrorsNamingTheFileAndKey) {
    EXPECT_THROW(from_json("{", "p.json"), ProfileError);
    try {
        from_json(R"({"schema":"corral.profile/1","tests":{"t":{"samples":[{"run_id":"r",)"
                  R"("start_unix":1,"wall_seconds":"slow","cpu_seconds":1,"memory_bytes":1,)"
                  R"("outcome":"passed"}]}}})",
                  "p.json");
        FAIL() << "no error";
    } catch (const ProfileError& e) {
        EXPECT_STREQ(e.what(), "p.json: tests[\"t\"].samples[0].wall_seconds: expected a number");
    }
    EXPECT_THROW(from_json(R"({"schema":"corral.profile/2","tests":{}})", "p.json"), ProfileError);
}

// docs/profile.md: a profile is read strictly, the summary keys too (they are
// recomputed from the samples, but corral shard --profile reads them, and it
// refused files corral profile --merge took: field report).
TEST(ProfileModel, SummaryKeysOfTheWrongTypeAreErrors) {
    const std::string sample = R"("samples":[{"run_id":"r","start_unix":1,"wall_seconds":1,)"
                               R"("cpu_seconds":1,"memory_bytes":1,"outcome":"passed"}])";
    auto message = [&](const std::string& top, const std::string& test) {
        try {
            from_json(R"({"schema":"corral.profile/1",)" + top + R"("tests":{"t":{)" + test +
                          sample + "}}}",
                      "p.json");
        } catch (const ProfileError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message("", ""), "no error");
    EXPECT_EQ(message("", R"("runs":5,"wall_seconds":{"median":1,"max":null},)"
                          R"("memory_bytes":{"max":10,"p90":null},"processors":null,)"),
              "no error");
    EXPECT_EQ(message("", R"("runs":"five",)"),
              "p.json: tests[\"t\"].runs: expected an integer >= 0");
    EXPECT_EQ(message("", R"("wall_seconds":"x",)"),
              "p.json: tests[\"t\"].wall_seconds: expected an object");
    EXPECT_EQ(message("", R"("wall_seconds":{"median":"x"},)"),
              "p.json: tests[\"t\"].wall_seconds.median: expected a number >= 0 or null");
    EXPECT_EQ(message("", R"("timeouts":[1],)"),
              "p.json: tests[\"t\"].timeouts: expected an integer >= 0");
    EXPECT_EQ(message("", R"("memory_bytes":{"max":"big"},)"),
              "p.json: tests[\"t\"].memory_bytes.max: expected an integer >= 0");
    EXPECT_EQ(message(R"("history":"ten",)", ""), "p.json: \"history\": expected an integer >= 1");
    EXPECT_EQ(message("", R"("processors":-4,)"),
              "p.json: tests[\"t\"].processors: expected an integer >= 1 or null");
    // An overflowing number is an error naming the file, not nlohmann's alone.
    EXPECT_EQ(message("", R"("wall_seconds":{"median":1e999},)").rfind("p.json: ", 0), 0u);
}

// A records file passed where a profile belongs (--merge, corral_setup(PROFILE))
// is named as such, with what to run; it was a raw JSON parse error.
TEST(ProfileModel, ARecordsFileIsNamedAsOne) {
    const std::string record = R"({"schema":"corral.record/1","name":"t","wall_seconds":1})";
    for (const std::string& text : {record, record + "\n" + record + "\n"}) {
        try {
            from_json(text, "r.jsonl");
            ADD_FAILURE() << "no error";
        } catch (const ProfileError& e) {
            EXPECT_NE(
                std::string(e.what()).find(
                    "r.jsonl: a records file (corral.record/1, one JSON object per line), not "
                    "a profile: pass it with --records"),
                std::string::npos)
                << e.what();
        }
    }
}

}  // namespace
}  // namespace corral::profile
