// corral shard end to end: a generated project with 40 tests (fixtures, names
// with regex metacharacters, names that are prefixes of others) configured by
// each CMake release here; the shard files handed to that release's ctest
// together run every test exactly once.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "tests/generator/generator_test_util.hpp"

namespace corral::test {
namespace {

// The project: every test appends its name to ${LOG} (one line per run).
void write_project(const fs::path& src) {
    std::string cml =
        "cmake_minimum_required(VERSION 3.19)\n"
        "project(shardme NONE)\n"
        "enable_testing()\n"
        "set(LOG \"$ENV{SHARD_LOG}\")\n"
        "function(t name)\n"
        "  add_test(NAME \"${name}\" COMMAND sh -c \"echo \\\"$1\\\" >> \\\"$SHARD_LOG\\\"\" _ "
        "\"${name}\")\n"
        "endfunction()\n";
    for (int i = 1; i <= 32; ++i)
        cml += "t(t" + std::to_string(i) + ")\n";  // t1 is a prefix of t10..t19
    cml +=
        "t(\"a.b+c[1]\")\n"
        "t(\"x|y\")\n"
        "t(\"paren(1)$\")\n"
        "t(db_setup)\n"
        "t(db_use1)\n"
        "t(db_use2)\n"
        "t(db_cleanup)\n"
        "t(heavy)\n"
        "set_tests_properties(db_setup PROPERTIES FIXTURES_SETUP db)\n"
        "set_tests_properties(db_use1 db_use2 PROPERTIES FIXTURES_REQUIRED db)\n"
        "set_tests_properties(db_cleanup PROPERTIES FIXTURES_CLEANUP db)\n"
        "set_tests_properties(heavy PROPERTIES PROCESSORS 2 LABELS big)\n";
    fs::create_directories(src);
    spit(src / "CMakeLists.txt", cml);
}

std::vector<int> version_of(const std::string& ctest) {
    auto r = run({ctest, "--version"});
    std::smatch m;
    static const std::regex re(R"(version ([0-9]+)\.([0-9]+))");
    if (!std::regex_search(r.out, m, re)) return {0, 0};
    return {std::stoi(m[1]), std::stoi(m[2])};
}

std::map<std::string, int> count_lines(const fs::path& log) {
    std::map<std::string, int> seen;
    std::istringstream in(slurp(log));
    for (std::string line; std::getline(in, line);)
        ++seen[line];
    return seen;
}

TEST(ShardE2E, ShardFilesRunEveryTestExactlyOnce) {
    auto cmakes = cmake_releases("cmake");
    auto ctests = cmake_releases("ctest");
    ASSERT_EQ(cmakes.size(), ctests.size());
    for (size_t v = 0; v < cmakes.size(); ++v) {
        SCOPED_TRACE(ctests[v]);
        const auto ver = version_of(ctests[v]);
        TempDir dir("shard-e2e");
        write_project(dir / "src");
        auto cfg = run({cmakes[v], "-S", (dir / "src").string(), "-B", (dir / "build").string()});
        ASSERT_EQ(cfg.exit_code, 0) << cfg.err;
        // A cost file as a profile: one test known to be long.
        spit(dir / "costs.txt", "heavy 3 30\nt5 3 12\n---\n");
        auto sh = run({CORRAL_EXE, "shard", "--build-dir", (dir / "build").string(), "--shards",
                       "4", "--profile", (dir / "costs.txt").string(), "--cpus", "2", "--memory",
                       "4G", "--out", (dir / "out").string()});
        ASSERT_EQ(sh.exit_code, 0) << sh.out << sh.err;
        EXPECT_NE(sh.out.find("40 tests in 4 shards"), std::string::npos) << sh.out;

        std::vector<std::string> modes = {"regex"};
        if (ver >= std::vector<int>{3, 29}) modes.push_back("tests-from-file");
        for (const auto& mode : modes) {
            SCOPED_TRACE(mode);
            const fs::path log = dir / ("ran-" + mode + ".log");
            for (int k = 1; k <= 4; ++k) {
                const std::string base = (dir / "out" / ("shard-" + std::to_string(k))).string();
                std::vector<std::string> argv = {ctests[v], "--test-dir", (dir / "build").string(),
                                                 "-j2"};
                if (mode == "regex") {
                    std::string re = slurp(base + ".regex");
                    re.pop_back();  // the newline
                    argv.insert(argv.end(), {"-R", re});
                } else {
                    argv.insert(argv.end(), {"--tests-from-file", base + ".tests"});
                }
                auto r = run(argv, dir.path(), {{"SHARD_LOG", log.string()}});
                EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
            }
            auto seen = count_lines(log);
            EXPECT_EQ(seen.size(), 40u);
            for (const auto& [name, n] : seen)
                EXPECT_EQ(n, 1) << name << " ran " << n << " times";
            for (const char* name : {"t1", "t10", "a.b+c[1]", "x|y", "paren(1)$", "db_setup"})
                EXPECT_EQ(seen[name], 1) << name;
        }
    }
}

TEST(ShardE2E, DeterministicSeededAndStaleFilesRemoved) {
    TempDir dir("shard-det");
    write_project(dir / "src");
    ASSERT_EQ(
        run({"cmake", "-S", (dir / "src").string(), "-B", (dir / "build").string()}).exit_code, 0);
    auto shard = [&](const std::string& n, const std::string& out) {
        return run({CORRAL_EXE, "shard", "--build-dir", (dir / "build").string(), "--shards", n,
                    "--cpus", "2", "--memory", "4G", "--out", (dir / out).string(), "--json"});
    };
    auto a = shard("3", "a");
    auto b = shard("3", "b");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    for (const char* f : {"shard-1.tests", "shard-2.regex", "CTestCostData.txt", "shards.json"})
        EXPECT_EQ(slurp(dir / "a" / f), slurp(dir / "b" / f)) << f;
    EXPECT_NE(a.out.find("\"schema\": \"corral.shards/1\""), std::string::npos);

    // A second run into the same directory is seeded from its shards.json.
    auto again = shard("3", "a");
    EXPECT_NE(again.out.find("\"kept\": 40"), std::string::npos) << again.out;
    // Fewer shards: the files of shards 3.. are gone.
    ASSERT_EQ(shard("2", "a").exit_code, 0);
    EXPECT_TRUE(fs::exists(dir / "a" / "shard-2.tests"));
    EXPECT_FALSE(fs::exists(dir / "a" / "shard-3.tests"));
    EXPECT_FALSE(fs::exists(dir / "a" / "shard-3.regex"));
}

TEST(ShardE2E, BadInputExitsTwoAndWritesNothing) {
    TempDir dir("shard-bad");
    auto r = run({CORRAL_EXE, "shard", "--build-dir", (dir / "nope").string(), "--shards", "2",
                  "--out", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;

    spit(dir / "tests.json", R"({"tests":[{"name":"a"},{"name":"b"}]})");
    spit(dir / "prof.txt", "a 1 2\nb two 3\n");
    r = run({CORRAL_EXE, "shard", "--tests-json", (dir / "tests.json").string(), "--profile",
             (dir / "prof.txt").string(), "--shards", "2", "--out", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("prof.txt:2:"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));

    r = run({CORRAL_EXE, "shard", "--tests-json", (dir / "tests.json").string(), "--shards", "0",
             "--out", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 2);
}

TEST(ShardE2E, HelpTeaches) {
    auto top = run({CORRAL_EXE, "--help"});
    EXPECT_NE(top.out.find("shard"), std::string::npos);
    auto help = run({CORRAL_EXE, "shard", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    for (const char* s :
         {"--build-dir", "--shards", "--profile", "--tests-from-file", "-R", "docs/sharding.md"})
        EXPECT_NE(help.out.find(s), std::string::npos) << s;
}

}  // namespace
}  // namespace corral::test
