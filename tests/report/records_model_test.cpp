// The records model and the renderers on hand-written records: outcomes,
// tolerance, errors with file:line, run selection, the schedule numbers, and
// escaping in every output format.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/render.hpp"

namespace fs = std::filesystem;
using namespace corral::report;
using testing::HasSubstr;

namespace {

std::string rec(const std::string& extra, const std::string& name = "t", double start = 100,
                double end = 101, const std::string& run = "ctest-1-2") {
    return R"({"schema":"corral.record/1","run_id":")" + run + R"(","name":")" + name +
           R"(","start_unix":)" + std::to_string(start) + R"(,"end_unix":)" + std::to_string(end) +
           R"(,"wall_seconds":)" + std::to_string(end - start) +
           R"(,"exit_code":0,"signal":null,"launcher_exit_code":0)" + extra + "}";
}

Record parse(const std::string& line) {
    return parse_record(line, "r.jsonl", 7);
}

class TempDir : public testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("corral-report-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

}  // namespace

TEST(Outcome, OneTableFromRecordToOutcome) {
    EXPECT_EQ(parse(rec("")).outcome, Outcome::Passed);
    EXPECT_EQ(parse(rec(R"(,"exit_code":3,"launcher_exit_code":3)")).outcome, Outcome::Failed);
    EXPECT_EQ(parse(rec(R"(,"exit_code":null,"signal":6,"launcher_exit_code":134)")).outcome,
              Outcome::Signalled);
    EXPECT_EQ(parse(rec(R"(,"timed_out":true,"launcher_exit_code":124,"signal":15)")).outcome,
              Outcome::TimedOut);
    EXPECT_EQ(parse(rec(R"(,"oom_killed":true,"signal":9,"launcher_exit_code":137)")).outcome,
              Outcome::OomKilled);
    EXPECT_EQ(parse(rec(R"(,"exit_code":null,"launcher_exit_code":127)")).outcome,
              Outcome::NotFound);
    EXPECT_EQ(parse(rec(R"(,"exit_code":null,"launcher_exit_code":126)")).outcome,
              Outcome::NotFound);
    // The test's own 127 (a script's missing command) and 124 (its own
    // `timeout`): it ran and failed; only the record's fields say otherwise.
    EXPECT_EQ(parse(rec(R"(,"exit_code":127,"launcher_exit_code":127)")).outcome, Outcome::Failed);
    EXPECT_EQ(parse(rec(R"(,"exit_code":124,"launcher_exit_code":124,"timed_out":false)")).outcome,
              Outcome::Failed);
    EXPECT_EQ(parse(rec(R"(,"exit_code":null,"launcher_exit_code":125)")).outcome,
              Outcome::LauncherFailed);
    auto leak = parse(rec(R"(,"leaked":[{"pid":42,"command":"sleep 300"}])"));
    EXPECT_EQ(leak.outcome, Outcome::Leaked);
    EXPECT_TRUE(leak.passed());  // --leak warn: CTest saw it pass
    EXPECT_THAT(what_happened(leak), HasSubstr("passed, but left 1 process: sleep 300"));
    auto leak_fail = parse(rec(R"(,"launcher_exit_code":122,"leaked":[{"pid":4,"command":"x"}])"));
    EXPECT_EQ(leak_fail.outcome, Outcome::Leaked);
    EXPECT_FALSE(leak_fail.passed());
}

TEST(Records, UnknownFieldsAndOldRecordsWithoutRunIdAreRead) {
    auto r = parse(R"({"schema":"corral.record/1","name":"old","future":{"x":[1,2]},)"
                   R"("start_unix":5,"end_unix":6,"launcher_exit_code":0,"exit_code":0})");
    EXPECT_EQ(r.run_id, "");
    EXPECT_EQ(r.name, "old");
    EXPECT_EQ(r.outcome, Outcome::Passed);
}

TEST(Records, BadLinesNameFileAndLine) {
    try {
        parse("{not json");
        FAIL();
    } catch (const RecordsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("r.jsonl:7: not a JSON record"));
    }
    EXPECT_THROW(parse("[1,2]"), RecordsError);
    try {
        parse(rec(R"(,"peak_memory_bytes":"lots")"));
        FAIL();
    } catch (const RecordsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("r.jsonl:7: field \"peak_memory_bytes\" must be"));
    }
    try {
        parse(R"({"schema":"corral.plan/1","name":"x"})");
        FAIL();
    } catch (const RecordsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("corral.record/1"));
    }
}

TEST_F(TempDir, ReadRecordsCountsLinesAndSkipsBlankOnes) {
    auto f = dir_ / "r.jsonl";
    std::ofstream(f) << rec("") << "\n\n" << rec("", "u") << "\n{\"schema\":\n";
    try {
        read_records(f.string());
        FAIL();
    } catch (const RecordsError& e) {
        EXPECT_THAT(e.what(), HasSubstr(f.string() + ":4:"));
    }
    EXPECT_THROW(read_records((dir_ / "missing").string()), RecordsError);
    // A directory opens as a std::ifstream that reads nothing: it was taken as
    // an empty records file. The error names the failing call's errno.
    try {
        read_records(dir_.string());
        ADD_FAILURE() << "a directory was read as a records file";
    } catch (const RecordsError& e) {
        EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
    }
}

TEST(Runs, LastAllAndPrefix) {
    std::vector<Record> all = {parse(rec("", "a", 1, 2, "ctest-10-1")),
                               parse(rec("", "b", 3, 4, "ctest-20-2")),
                               parse(rec("", "c", 3, 5, "ctest-20-2"))};
    std::string label;
    EXPECT_EQ(select_run(all, "last", label).size(), 2u);
    EXPECT_EQ(label, "ctest-20-2");
    EXPECT_EQ(select_run(all, "all", label).size(), 3u);
    EXPECT_EQ(select_run(all, "ctest-1", label).size(), 1u);
    try {
        select_run(all, "ctest-", label);
        FAIL();
    } catch (const RecordsError& e) {
        EXPECT_THAT(e.what(), HasSubstr("more than one run"));
        EXPECT_THAT(e.what(), HasSubstr("ctest-10-1"));
    }
    EXPECT_THROW(select_run(all, "nope", label), RecordsError);
}

TEST(Summary, LanesMakespanAndLowerBound) {
    // a [0,4], b [1,2], c [2,3] (b's lane is free again), d [3,5]
    std::vector<Record> tests = {
        parse(rec(R"(,"peak_memory_bytes":100)", "a", 0, 4)),
        parse(rec(R"(,"peak_memory_bytes":10)", "b", 1, 2)),
        parse(rec(R"(,"peak_memory_bytes":20)", "c", 2, 3)),
        parse(rec(R"(,"peak_memory_bytes":30,"exit_code":1,"launcher_exit_code":1)", "d", 3, 5))};
    auto s = summarise(tests, "run", {});
    EXPECT_EQ(s.lanes, 2);
    EXPECT_EQ(s.lane, (std::vector<int>{0, 1, 1, 1}));
    EXPECT_DOUBLE_EQ(s.makespan, 5);
    EXPECT_DOUBLE_EQ(s.total_wall, 8);
    EXPECT_EQ(s.slots, 2);               // peak concurrency without a plan
    EXPECT_DOUBLE_EQ(s.lower_bound, 4);  // max(longest 4, 8 / 2)
    EXPECT_DOUBLE_EQ(s.busy, 0.8);
    EXPECT_FALSE(s.passed);
    EXPECT_EQ(s.counts[Outcome::Failed], 1);
    EXPECT_EQ(s.memory_peak_sum, 130u);  // a + d at t=3 (c ended as d started)
    auto planned = summarise(tests, "run", {PlanNumbers{4, 1000}});
    EXPECT_EQ(planned.slots, 4);
    EXPECT_DOUBLE_EQ(planned.lower_bound, 4);  // max(4, 8 / 4)
    EXPECT_DOUBLE_EQ(planned.busy, 0.4);
}

// docs/report.md "Counts": passed/failed as CTest saw them (launcher exit 0
// or not), leaked = tests that left processes, passed or failed; the failed
// ones by outcome. A leak-failed test (exit 0, launcher 122) is failed.
TEST(Summary, CountsFailedAsCtestSawItAndLeakedApart) {
    std::vector<Record> tests = {
        parse(rec("", "ok", 0, 1)),
        parse(rec(R"(,"leaked":[{"pid":8,"command":"d"}])", "leak_warn", 0, 1)),
        parse(rec(R"(,"launcher_exit_code":122,"leaked":[{"pid":9,"command":"d"}])", "leak_fail", 0,
                  1)),
        parse(rec(R"(,"exit_code":3,"launcher_exit_code":3)", "exit3", 0, 1)),
        parse(rec(R"(,"timed_out":true,"launcher_exit_code":124)", "hang", 0, 1))};
    auto s = summarise(tests, "r", {});
    EXPECT_EQ(s.passed_count, 2);
    EXPECT_EQ(s.failed_count, 3);
    EXPECT_EQ(s.leaking, 2);
    EXPECT_EQ(s.failed_by[Outcome::Leaked], 1);
    EXPECT_EQ(s.failed_by[Outcome::Failed], 1);
    EXPECT_EQ(s.failed_by[Outcome::TimedOut], 1);
    EXPECT_EQ(failed_breakdown(s),
              "of the failed: 1 non-zero exit, 1 timed out, 1 leaked (--leak fail)");
    std::ostringstream text;
    render_text(s, text, false);
    EXPECT_THAT(text.str(), HasSubstr("  passed 2   failed 3   leaked 2\n"));
    auto j = render_json(s);
    EXPECT_EQ(j["schema"], "corral.report/2");  // counts as CTest saw the tests
    EXPECT_EQ(j["counts"], nlohmann::json({{"passed", 2}, {"failed", 3}, {"leaked", 2}}));
    EXPECT_EQ(j["failed_by_outcome"]["leaked"], 1);
    EXPECT_THAT(render_markdown(s),
                HasSubstr("passed **2** · failed **3** (of the failed: 1 "
                          "non-zero exit, 1 timed out, 1 leaked (--leak fail)) · "
                          "leaked **2**"));
    EXPECT_THAT(render_html(s), HasSubstr("failed 3 (of the failed: 1 non-zero exit"));
    EXPECT_THAT(render_junit(s), HasSubstr("failures=\"2\" errors=\"1\""));
}

TEST(Escaping, XmlCarriesEveryName) {
    EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    EXPECT_EQ(xml_escape(std::string("x\x01y\x1b") + "\tz"), "x\\x01y\\x1b\tz");
}

TEST(Renderers, TextFitsEightyColumnsAndNamesTheProblems) {
    std::string long_name(120, 'n');
    std::vector<Record> tests = {
        parse(rec(R"(,"exit_code":1,"launcher_exit_code":1)", long_name, 0, 1)),
        parse(rec(R"(,"timed_out":true,"launcher_exit_code":124,"timeout_seconds":2,)"
                  R"("killed_on_timeout":[{"pid":9,"command":"sleep 300"}])",
                  "hang", 0, 3)),
        parse(rec(R"(,"leaked":[{"pid":8,"command":"daemon --forever"}])", "leaky", 1, 2))};
    std::ostringstream out;
    render_text(summarise(tests, "ctest-1-2", {}), out, false);
    std::istringstream lines(out.str());
    std::string line;
    while (std::getline(lines, line))
        EXPECT_LE(line.size(), 80u) << line;
    EXPECT_THAT(out.str(), HasSubstr("TIMED OUT"));
    EXPECT_THAT(out.str(), HasSubstr("killed 1: sleep 300"));
    EXPECT_THAT(out.str(), HasSubstr("left 1 process: daemon --forever"));
    EXPECT_THAT(out.str(), testing::Not(HasSubstr("\033[")));
}

TEST(Renderers, MarkdownPutsFailuresFirstAndEscapesCells) {
    std::vector<Record> tests = {
        parse(rec("", "ok", 0, 1)),
        parse(rec(R"(,"exit_code":1,"launcher_exit_code":1)", "bad|<b>", 0, 1))};
    auto md = render_markdown(summarise(tests, "r", {}));
    EXPECT_THAT(md, HasSubstr("| test | outcome |"));
    auto bad = md.find("bad\\|&lt;b&gt;");
    auto ok = md.find("| ok |");
    ASSERT_NE(bad, std::string::npos) << md;
    ASSERT_NE(ok, std::string::npos) << md;
    EXPECT_LT(bad, ok);
}

// Names and commands with every character XML cares about, and control
// characters it cannot carry at all, still give a document the schema accepts.
TEST_F(TempDir, JunitWithHostileNamesValidatesAgainstTheSchema) {
    if (std::system("command -v xmllint >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "xmllint (Debian libxml2-utils) is missing: ./bootstrap installs it";
    std::vector<Record> tests = {
        parse(rec(R"(,"exit_code":1,"launcher_exit_code":1)", R"(a<b&c\"d'e\u0001\u001b]0;x)")),
        parse(rec(R"(,"leaked":[{"pid":1,"command":"x <&> \"\u0002\""}])", "]]></system-out>")),
        parse(rec(R"(,"timed_out":true,"launcher_exit_code":124,"timeout_seconds":1,)"
                  R"("killed_on_timeout":[{"pid":2,"command":"<sleep>"}])",
                  "t\\ttab"))};
    auto file = dir_ / "junit.xml";
    std::ofstream(file) << render_junit(summarise(tests, "run<&>", {}));
    std::string cmd = "xmllint --noout --schema '" + std::string(CORRAL_SOURCE_DIR) +
                      "/tests/report/junit.xsd' '" + file.string() + "' 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << std::ifstream(file).rdbuf();
}
