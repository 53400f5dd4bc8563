// Acceptance of `corral report` (issue 14): a small suite under real ctest,
// every test under `corral run --records`, with a passing, a failing, a
// timing-out, a leaking and a memory-holding test. The report names the
// problems; the JUnit file validates against tests/report/junit.xsd (xmllint)
// and parses with Python's xml.etree; the Markdown has the table; headless
// Chromium renders the HTML with one bar per test. Also: run ids (one per
// ctest invocation) and the exit codes 0/1/2.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernel/process.hpp"
#include "tests/support/build_scopes.hpp"
#include "tests/support/spawn.hpp"

using testing::HasSubstr;

namespace {

// Runs argv with `env` added, stdout/stderr to files in `dir` (no pipe a
// leaked grandchild could hold open), and waits.
Result run(const std::vector<std::string>& args, const fs::path& dir,
           const std::map<std::string, std::string>& env = {}) {
    return run_to_files(args, env, dir / "stdout.txt", dir / "stderr.txt");
}

std::optional<std::string> find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        auto end = dirs.find(':', start);
        auto dir = dirs.substr(start, end == std::string::npos ? end : end - start);
        auto candidate = fs::path(dir) / name;
        if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return std::nullopt;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
        ++n;
    return n;
}

class Report : public testing::Test {
  protected:
    void SetUp() override {
        static int counter = 0;
        dir_ = fs::temp_directory_path() / ("corral-report-e2e-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter++));
        fs::create_directories(dir_ / "scratch");
        fs::create_directories(dir_ / "runtime");
        env_ = {{"CORRAL_RUNTIME_DIR", (dir_ / "runtime").string()}};
        records_ = dir_ / "records.jsonl";
    }
    void TearDown() override {
        // Kill only what this test started: processes carrying our tokens.
        for (pid_t pid : corral::proc::list_pids()) {
            auto info = corral::proc::read_process(pid);
            if (!info) continue;
            for (const auto& a : info->argv)
                if (tokens_.count(a)) ::kill(pid, SIGKILL);
        }
        corral::test::remove_build_scopes(dir_);
        fs::remove_all(dir_);
    }
    // A unique `sleep` argument that identifies this test's processes.
    std::string token() {
        auto t =
            std::to_string(3000 + (::getpid() % 1000)) + "." + std::to_string(tokens_.size() + 1);
        tokens_.insert(t);
        return t;
    }
    // Configures a project whose tests are `lines` (add_test calls; @RUN@ is
    // corral run with --records and --scratch-root), and runs ctest on it.
    Result ctest(const std::string& lines, const std::vector<std::string>& ctest_args = {}) {
        auto proj = dir_ / "proj";
        fs::create_directories(proj);
        std::string launcher = std::string("\"") + CORRAL_EXE + "\" run --records \"" +
                               records_.string() + "\" --scratch-root \"" +
                               (dir_ / "scratch").string() + "\"";
        std::string body = std::regex_replace(lines, std::regex("@RUN@"), launcher);
        std::ofstream(proj / "CMakeLists.txt")
            << "cmake_minimum_required(VERSION 3.16)\nproject(acceptance NONE)\n"
            << "enable_testing()\n"
            << body;
        auto cfg = run({CMAKE_EXE, "-S", proj.string(), "-B", (proj / "b").string()}, dir_, env_);
        EXPECT_EQ(cfg.code, 0) << cfg.out << cfg.err;
        std::vector<std::string> args = {CTEST_EXE, "--test-dir", (proj / "b").string()};
        args.insert(args.end(), ctest_args.begin(), ctest_args.end());
        return run(args, dir_, env_);
    }
    Result report(std::vector<std::string> args) {
        args.insert(args.begin(), {CORRAL_EXE, "report"});
        return run(args, dir_, {{"NO_COLOR", ""}});
    }

    fs::path dir_;
    fs::path records_;
    std::map<std::string, std::string> env_;
    std::set<std::string> tokens_;
};

}  // namespace

TEST_F(Report, AcceptanceSuiteReportedInEveryFormat) {
    auto hang = token(), daemon = token();
    std::ofstream(dir_ / "spec.json")
        << R"({"version":{"major":1,"minor":0},"local":[{"mem_mib":[{"id":"0","slots":1024}]}]})";
    auto ct = ctest(
        "add_test(NAME passing COMMAND @RUN@ --name passing -- sh -c \"exit 0\")\n"
        "add_test(NAME failing COMMAND @RUN@ --name failing -- sh -c \"exit 3\")\n"
        "add_test(NAME timing_out COMMAND @RUN@ --name timing_out --timeout 1 "
        "--grace 1 -- sleep " +
            hang +
            ")\n"
            "add_test(NAME leaking COMMAND @RUN@ --name leaking -- sh -c \"sleep " +
            daemon +
            " & exit 0\")\n"
            "add_test(NAME holding_memory COMMAND @RUN@ --name holding_memory "
            "--memory-limit 512M -- \"" TOUCH_MEMORY_EXE
            "\" 64)\n"
            "set_tests_properties(holding_memory PROPERTIES RESOURCE_GROUPS mem_mib:64)\n",
        {"-j3", "--resource-spec-file", (dir_ / "spec.json").string()});
    ASSERT_NE(ct.code, 0) << "the suite has failing tests: " << ct.out;
    ASSERT_THAT(ct.out, HasSubstr("out of 5")) << ct.out << ct.err;

    auto junit = dir_ / "junit.xml", md = dir_ / "summary.md", html = dir_ / "report.html";
    auto r = report({"--records", records_.string(), "--junit", junit.string(), "--markdown",
                     md.string(), "--html", html.string()});
    EXPECT_EQ(r.code, 1) << "the run failed: " << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("5 tests"));
    EXPECT_THAT(r.out, HasSubstr("FAILED"));
    EXPECT_THAT(r.out, testing::ContainsRegex("passed 3 +failed 2 +leaked 1"));
    EXPECT_THAT(r.out, HasSubstr("of the failed: 1 non-zero exit, 1 timed out"));
    EXPECT_THAT(r.out, testing::ContainsRegex("FAILED +failing"));
    EXPECT_THAT(r.out, HasSubstr("exit code 3"));
    EXPECT_THAT(r.out, testing::ContainsRegex("TIMED OUT +timing_out"));
    EXPECT_THAT(r.out, HasSubstr("killed 1: sleep " + hang));
    EXPECT_THAT(r.out, testing::ContainsRegex("LEAKED +leaking"));
    EXPECT_THAT(r.out, HasSubstr("left 1 process: sleep " + daemon));
    EXPECT_THAT(r.out, testing::ContainsRegex(
                           "holding_memory +[0-9.]+ MiB +512(\\.0)? MiB +64(\\.0)? MiB"));
    EXPECT_THAT(r.out, HasSubstr("makespan"));
    EXPECT_THAT(r.out, HasSubstr("lower bound"));
    EXPECT_EQ(r.out.find("\033["), std::string::npos) << "no colour when not a terminal";

    // JUnit: a real schema validator and a real XML parser.
    auto xmllint = find_program("xmllint");
    if (!xmllint) {
        ADD_FAILURE() << "xmllint (Debian libxml2-utils) is missing: ./bootstrap installs it";
    } else {
        auto v = run({*xmllint, "--noout", "--schema",
                      std::string(CORRAL_SOURCE_DIR) + "/tests/report/junit.xsd", junit.string()},
                     dir_);
        EXPECT_EQ(v.code, 0) << v.out << v.err << slurp(junit);
    }
    auto py = run({"python3", "-c",
                   "import sys, xml.etree.ElementTree as ET\n"
                   "cases = ET.parse(sys.argv[1]).getroot().iter('testcase')\n"
                   "for c in cases:\n"
                   "  props = {p.get('name'): p.get('value') for p in c.iter('property')}\n"
                   "  bad = [(e.tag, e.get('type')) for e in c if e.tag in ('failure', 'error')]\n"
                   "  print(c.get('name'), c.get('time'), bad, props.get('corral.leaked', ''),\n"
                   "        props['corral.peak_memory_bytes'])\n",
                   junit.string()},
                  dir_);
    ASSERT_EQ(py.code, 0) << py.err;
    EXPECT_EQ(count(py.out, "\n"), 5u) << py.out;
    EXPECT_THAT(py.out, HasSubstr("timing_out"));
    EXPECT_THAT(py.out,
                testing::ContainsRegex("timing_out [0-9.]+ \\[\\('error', 'timed out'\\)\\]"));
    EXPECT_THAT(py.out, testing::ContainsRegex("failing [0-9.]+ \\[\\('failure', 'failed'\\)\\]"));
    EXPECT_THAT(py.out, testing::ContainsRegex("leaking [0-9.]+ \\[\\] [0-9]+ sleep " + daemon));
    EXPECT_THAT(slurp(junit), HasSubstr("LEAKED"));

    // Markdown: the table, the failures first.
    auto m = slurp(md);
    EXPECT_THAT(m, HasSubstr("| | test | outcome | time | peak memory | what happened |"));
    EXPECT_LT(m.find("| failing |"), m.find("| passing |")) << m;
    EXPECT_LT(m.find("| timing\\_out |"), m.find("| passing |")) << m;

    // HTML: self-contained (nothing fetched), and a real browser draws one bar per test.
    auto page = slurp(html);
    for (const char* fetches : {"<link", " src=", "url(", "@import", "fetch(", "XMLHttpRequest"})
        EXPECT_EQ(page.find(fetches), std::string::npos) << fetches;
    auto chromium = find_program("chromium");
    if (!chromium) chromium = find_program("chromium-browser");
    if (!chromium) GTEST_SKIP() << "Debian's chromium is not installed (./bootstrap installs it)";
    std::vector<std::string> flags = {"timeout",
                                      "120",
                                      *chromium,
                                      "--headless",
                                      "--no-sandbox",
                                      "--disable-gpu",
                                      "--disable-background-networking",
                                      "--disable-component-update",
                                      "--disable-sync",
                                      "--no-first-run",
                                      "--disable-breakpad",
                                      "--user-data-dir=" + (dir_ / "chromium-profile").string()};
    auto dump_args = flags;
    dump_args.push_back("--dump-dom");
    dump_args.push_back("file://" + html.string());
    auto dom = run(dump_args, dir_);
    ASSERT_EQ(dom.code, 0) << dom.err;
    EXPECT_THAT(dom.out, HasSubstr("data-bars=\"5\"")) << "the script ran to its end";
    EXPECT_EQ(count(dom.out, "class=\"bar "), 5u);
    for (const char* name : {"passing", "failing", "timing_out", "leaking", "holding_memory"})
        EXPECT_THAT(dom.out, HasSubstr(std::string("data-test=\"") + name + "\"")) << name;
    EXPECT_THAT(dom.out, HasSubstr("class=\"bar timed-out\""));
    EXPECT_THAT(dom.out, HasSubstr("class=\"peak\""));

    auto shot_args = flags;
    auto png = dir_ / "report.png";
    shot_args.push_back("--screenshot=" + png.string());
    shot_args.push_back("--window-size=1200,900");
    shot_args.push_back("file://" + html.string());
    auto shot = run(shot_args, dir_);
    ASSERT_EQ(shot.code, 0) << shot.err;
    EXPECT_EQ(slurp(png).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(Report, OneRunIdPerCtestInvocation) {
    auto ct1 = ctest(
        "add_test(NAME a COMMAND @RUN@ --name a -- true)\n"
        "add_test(NAME b COMMAND @RUN@ --name b -- true)\n",
        {"-j2"});
    ASSERT_EQ(ct1.code, 0) << ct1.out << ct1.err;
    auto ct2 = run({CTEST_EXE, "--test-dir", (dir_ / "proj" / "b").string()}, dir_, env_);
    ASSERT_EQ(ct2.code, 0) << ct2.out << ct2.err;
    std::vector<std::string> ids;
    std::ifstream in(records_);
    std::string line;
    while (std::getline(in, line))
        ids.push_back(nlohmann::json::parse(line)["run_id"].get<std::string>());
    ASSERT_EQ(ids.size(), 4u);
    EXPECT_EQ(ids[0], ids[1]);
    EXPECT_EQ(ids[2], ids[3]);
    EXPECT_NE(ids[0], ids[2]);
    EXPECT_THAT(ids[0], testing::StartsWith("ctest-"));

    auto last = report({"--records", records_.string(), "--json"});
    EXPECT_EQ(last.code, 0) << last.err;
    auto j = nlohmann::json::parse(last.out);
    EXPECT_EQ(j["run"], ids[2]);
    EXPECT_EQ(j["tests"].size(), 2u);
    auto all = report({"--records", records_.string(), "--run", "all", "--json"});
    EXPECT_EQ(nlohmann::json::parse(all.out)["tests"].size(), 4u);
    auto first = report({"--records", records_.string(), "--run", ids[0], "--json"});
    EXPECT_EQ(nlohmann::json::parse(first.out)["run"], ids[0]);
}

TEST_F(Report, BadInputExitsTwoWithFileAndLine) {
    auto bad = dir_ / "bad.jsonl";
    std::ofstream(bad) << R"({"schema":"corral.record/1","name":"a","launcher_exit_code":0})"
                       << "\n{\"schema\": \"corral.record/1\", \"name\": \n";
    auto r = report({"--records", bad.string()});
    EXPECT_EQ(r.code, 2);
    EXPECT_THAT(r.err, HasSubstr(bad.string() + ":2:"));
    auto none = report({"--records", (dir_ / "missing.jsonl").string()});
    EXPECT_EQ(none.code, 2);
    EXPECT_THAT(none.err, HasSubstr("missing.jsonl"));
    auto run_missing = report({"--records", bad.string(), "--run", "nope"});
    EXPECT_EQ(run_missing.code, 2);
}

// A report that cannot be written is no report: 2 (docs/exit-codes.md), not
// 1, which says the run failed. Before, stdout on a full disk gave 1 (or 0
// for a passing run whose report was lost).
TEST_F(Report, AReportThatCannotBeWrittenExitsTwo) {
    auto recs = dir_ / "passing.jsonl";
    std::ofstream(recs) << R"({"schema":"corral.record/1","name":"a","launcher_exit_code":0,)"
                        << R"("exit_code":0,"start_unix":5,"end_unix":6})"
                        << "\n";
    for (const char* format : {"", " --json"}) {
        auto r = run({"sh", "-c",
                      std::string(CORRAL_EXE) + " report --records " + recs.string() + format +
                          " > /dev/full"},
                     dir_, env_);
        EXPECT_EQ(r.code, 2) << format << ": " << r.err;
        EXPECT_EQ(r.err, "corral report: cannot write to standard output\n")
            << format << ": said once, by the command that knows";
    }
}

// A test that passed by its own code but left a process, under --leak fail:
// corral run exits 122, CTest sees it fail, and every output counts it as
// failed (and as leaked), not as "failed 0 ... leaked 1" (docs/report.md
// "Counts"). A second test leaks under --leak warn: leaked but passed.
// A test's own 124 (its `timeout`) and 127 (a script's missing command) are
// failures of a test that ran; "timed out" and "not found" come from the
// record (timed_out; no exit code: never ran), not from the number. Before,
// both were misnamed and the missing command's record carried exit_code 127.
TEST_F(Report, ATestsOwn124And127AreFailuresNotTimeoutOrNotFound) {
    auto corral_run = [&](const std::string& name, std::vector<std::string> command) {
        std::vector<std::string> argv = {CORRAL_EXE,
                                         "run",
                                         "--records",
                                         records_.string(),
                                         "--scratch-root",
                                         (dir_ / "scratch").string(),
                                         "--name",
                                         name,
                                         "--"};
        argv.insert(argv.end(), command.begin(), command.end());
        return run(argv, dir_, env_);
    };
    EXPECT_EQ(corral_run("own_timeout", {"sh", "-c", "exit 124"}).code, 124);
    EXPECT_EQ(corral_run("own_missing", {"sh", "-c", "exit 127"}).code, 127);
    EXPECT_EQ(corral_run("missing", {"/nonexistent/corral-test-command"}).code, 127);
    std::vector<nlohmann::json> recs;
    std::istringstream lines(slurp(records_));
    for (std::string line; std::getline(lines, line);)
        recs.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_EQ(recs[1]["exit_code"], 127);
    EXPECT_TRUE(recs[2]["exit_code"].is_null()) << recs[2].dump();
    EXPECT_TRUE(recs[2]["signal"].is_null());

    auto j = nlohmann::json::parse(
        report({"--records", records_.string(), "--run", "all", "--json"}).out);
    std::map<std::string, std::string> outcome;
    for (const auto& t : j["tests"])
        outcome[t["name"]] = t["outcome"];
    EXPECT_EQ(outcome["own_timeout"], "failed") << j.dump();
    EXPECT_EQ(outcome["own_missing"], "failed");
    EXPECT_EQ(outcome["missing"], "not found");

    // A test that never ran held no memory: its record says 0 ("none"), not
    // the launcher's own size, and the text report's heaviest list leaves it out.
    EXPECT_EQ(recs[2]["peak_memory_bytes"], 0) << recs[2].dump();
    EXPECT_EQ(recs[2]["peak_memory_source"], "none");
    for (const auto& t : j["tests"]) {
        if (t["name"] == "missing") {
            EXPECT_EQ(t["peak_memory_bytes"], 0) << t.dump();
        }
    }
    auto text = report({"--records", records_.string(), "--run", "all"}).out;
    auto heaviest = text.substr(text.find("Heaviest (memory)"));
    heaviest = heaviest.substr(0, heaviest.find("\n\n"));
    EXPECT_THAT(heaviest, HasSubstr("own_timeout")) << text;
    EXPECT_THAT(heaviest, testing::Not(testing::ContainsRegex("\n  missing "))) << text;
}

TEST_F(Report, LeakFailedTestCountsAsFailedInEveryFormat) {
    auto fails = token(), warns = token();
    auto corral_run = [&](const std::string& name, const std::string& leak,
                          const std::string& daemon) {
        return run({CORRAL_EXE, "run", "--records", records_.string(), "--scratch-root",
                    (dir_ / "scratch").string(), "--name", name, "--leak", leak, "--", "sh", "-c",
                    "sleep " + daemon + " & exit 0"},
                   dir_, env_);
    };
    EXPECT_EQ(corral_run("leak_fails", "fail", fails).code, 122);
    EXPECT_EQ(corral_run("leak_warns", "warn", warns).code, 0);
    auto rec = nlohmann::json::parse(slurp(records_).substr(0, slurp(records_).find('\n')));
    ASSERT_EQ(rec["exit_code"], 0);
    ASSERT_EQ(rec["launcher_exit_code"], 122);

    auto junit = dir_ / "junit.xml", md = dir_ / "summary.md", html = dir_ / "report.html";
    auto r = report({"--records", records_.string(), "--run", "all", "--junit", junit.string(),
                     "--markdown", md.string(), "--html", html.string()});
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_THAT(r.out, testing::ContainsRegex("passed 1 +failed 1 +leaked 2")) << r.out;
    EXPECT_THAT(r.out, HasSubstr("of the failed: 1 leaked (--leak fail)")) << r.out;

    auto j = nlohmann::json::parse(
        report({"--records", records_.string(), "--run", "all", "--json"}).out);
    EXPECT_EQ(j["counts"], nlohmann::json({{"passed", 1}, {"failed", 1}, {"leaked", 2}}));
    EXPECT_EQ(j["failed_by_outcome"]["leaked"], 1);
    EXPECT_EQ(j["failed_by_outcome"]["failed"], 0);
    EXPECT_EQ(j["tests_leaking"], 2);

    EXPECT_THAT(slurp(md), HasSubstr("passed **1** · failed **1** (of the failed: 1 leaked (--leak "
                                     "fail)) · leaked **2**"));
    EXPECT_THAT(slurp(html), HasSubstr("failed 1 (of the failed: 1 leaked (--leak fail))"));

    // JUnit, read by a real XML parser: the leak-failed test is a <failure>,
    // the suite counts it, the --leak warn one passed.
    auto py = run({"python3", "-c",
                   "import sys, xml.etree.ElementTree as ET\n"
                   "root = ET.parse(sys.argv[1]).getroot()\n"
                   "print('suite failures', root.get('failures'), 'errors', root.get('errors'))\n"
                   "for c in root.iter('testcase'):\n"
                   "  print(c.get('name'), [(e.tag, e.get('type')) for e in c\n"
                   "                        if e.tag in ('failure', 'error')])\n",
                   junit.string()},
                  dir_);
    ASSERT_EQ(py.code, 0) << py.err;
    EXPECT_THAT(py.out, HasSubstr("suite failures 1 errors 0"));
    EXPECT_THAT(py.out, HasSubstr("leak_fails [('failure', 'leaked')]"));
    EXPECT_THAT(py.out, HasSubstr("leak_warns []"));
}
