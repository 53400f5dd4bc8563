// corral profile as a program: exit codes (docs/exit-codes.md "corral profile"),
// --out merging and byte-identical rewrites, errors naming file and line.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Result {
    int code = -1;
    std::string out;
};

// Runs corral with `args` (a shell word list we write ourselves), stdout captured.
Result corral(const std::string& args) {
    std::string cmd = std::string("'") + CORRAL_EXE + "' " + args + " 2>&1";
    Result r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
        r.out.append(buf.data(), n);
    int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class ProfileCli : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("corral-profile-cli-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name, std::ios::binary) << text;
        return (dir_ / name).string();
    }
    static std::string rec(const std::string& run, const std::string& name, int start,
                           long long nonrecl, const std::string& extra = "") {
        return "{\"schema\":\"corral.record/1\",\"run_id\":\"" + run + "\",\"name\":\"" + name +
               "\",\"start_unix\":" + std::to_string(start) +
               ",\"wall_seconds\":1.5,\"cpu_user_seconds\":1,\"peak_memory_bytes\":" +
               std::to_string(nonrecl * 3) +
               ",\"peak_nonreclaimable_bytes\":" + std::to_string(nonrecl) +
               ",\"launcher_exit_code\":0,\"exit_code\":0" + extra + "}\n";
    }
    fs::path dir_;
};

TEST_F(ProfileCli, TableWithoutOut) {
    auto r1 = write("r1.jsonl", rec("r1", "alpha", 100, 300 << 20));
    auto r = corral("profile --records '" + r1 + "'");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("alpha"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("300.0 MiB"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 tests from 1 runs"), std::string::npos) << r.out;
}

TEST_F(ProfileCli, OutMergesRunsAndRewritesByteIdentically) {
    auto r1 = write("r1.jsonl", rec("r1", "alpha", 100, 10 << 20));
    auto r2 = write("r2.jsonl", rec("r2", "alpha", 200, 30 << 20) + rec("r2", "beta", 201, 1));
    auto out = (dir_ / "p.json").string();
    ASSERT_EQ(corral("profile --records '" + r1 + "' --out '" + out + "'").code, 0);
    ASSERT_EQ(corral("profile --records '" + r2 + "' --out '" + out + "'").code, 0);
    std::string first = slurp(out);
    EXPECT_NE(first.find("\"runs\": 2,"), std::string::npos) << first;  // alpha: both runs
    EXPECT_NE(first.find("\"beta\""), std::string::npos);
    // The same records again: not a byte changes.
    ASSERT_EQ(corral("profile --records '" + r1 + "' '" + r2 + "' --out '" + out + "'").code, 0);
    EXPECT_EQ(slurp(out), first);
    // Two profiles merge into what one read of both records gives.
    auto a = (dir_ / "a.json").string(), b = (dir_ / "b.json").string();
    auto m = (dir_ / "m.json").string();
    ASSERT_EQ(corral("profile --records '" + r1 + "' --out '" + a + "'").code, 0);
    ASSERT_EQ(corral("profile --records '" + r2 + "' --out '" + b + "'").code, 0);
    ASSERT_EQ(corral("profile --merge '" + a + "' --merge '" + b + "' --out '" + m + "'").code, 0);
    EXPECT_EQ(slurp(m), first);
}

TEST_F(ProfileCli, CheckExitsOneOnAnUnderDeclaredTest) {
    auto ok = write("ok.jsonl", rec("r1", "fits", 100, 10 << 20,
                                    ",\"declared_memory_bytes\":" + std::to_string(64 << 20)));
    auto r = corral("profile --records '" + ok + "' --check");
    EXPECT_EQ(r.code, 0) << r.out;
    auto bad = write("bad.jsonl", rec("r1", "hog", 100, 300 << 20,
                                      ",\"declared_memory_bytes\":" + std::to_string(64 << 20)));
    r = corral("profile --records '" + bad + "' --check");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("UNDER-DECLARED hog: declared 64.0 MiB (67108864 B), peak 300.0 MiB "
                         "(314572800 B)"),
              std::string::npos)
        << r.out;
    r = corral("profile --records '" + bad + "' --check --json");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("\"under_declared\": ["), std::string::npos) << r.out;
}

// docs/exit-codes.md "corral profile": standard output that cannot be written
// is 1, said on stderr (as for every command); an --out or --cmake file that
// cannot be written is 2.
TEST_F(ProfileCli, AnUnwritableOutputHasTheCodeTheDocsGive) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this host";
    auto ok = write("ok.jsonl", rec("r1", "fits", 100, 10 << 20));
    for (const std::string extra : {"", " --json", " --check"}) {
        // stderr to the pipe, stdout to /dev/full; `exit` keeps the helper's
        // own 2>&1 off this command.
        auto r = corral("profile --records '" + ok + "'" + extra + " 2>&1 >/dev/full; exit $?");
        EXPECT_EQ(r.code, 1) << extra << ": " << r.out;
        EXPECT_NE(r.out.find("cannot write to standard output"), std::string::npos) << r.out;
    }
    const std::string out = (dir_ / "no/such/p.json").string();
    const std::string cmake = (dir_ / "no/such/p.cmake").string();
    auto r = corral("profile --records '" + ok + "' --out '" + out + "'");
    EXPECT_EQ(r.code, 2) << r.out;
    r = corral("profile --records '" + ok + "' --cmake '" + cmake + "'");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "no"));
}

// --check states the "heavy" threshold it used and where it came from: the
// default (profile::kHeavyBytes, 256 MiB) or --heavy; in text and in --json.
TEST_F(ProfileCli, CheckStatesTheHeavyThresholdAndItsSource) {
    auto recs = write("r.jsonl", rec("r1", "big", 100, 300 << 20));
    auto r = corral("profile --records '" + recs + "' --check");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("undeclared big: declared nothing, peak 300.0 MiB (314572800 B), at "
                         "least the heavy threshold 256.0 MiB"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("heavy undeclared: no declaration and a peak of at least 256.0 MiB "
                         "(268435456 B; the default; --heavy SIZE sets it)"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("over-declared: declared more than 4x the peak and at least 64.0 MiB "
                         "more (the default; --over-factor X sets it)"),
              std::string::npos)
        << r.out;

    r = corral("profile --records '" + recs + "' --check --heavy 1G");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find("undeclared big"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("0 heavy undeclared of 1 tests"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("a peak of at least 1.00 GiB (1073741824 B; --heavy 1G)"),
              std::string::npos)
        << r.out;

    r = corral("profile --records '" + recs + "' --check --json");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"heavy_bytes\": 268435456"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"heavy_source\": \"default\""), std::string::npos) << r.out;
    r = corral("profile --records '" + recs + "' --check --json --heavy 512M --over-factor 3");
    EXPECT_NE(r.out.find("\"heavy_bytes\": 536870912"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"heavy_source\": \"--heavy\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"over_factor\": 3.0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"over_factor_source\": \"--over-factor\""), std::string::npos) << r.out;

    // "nan" passed CLI::Range (every comparison with NaN is false) and
    // switched the over-declared check off; "x" was "not in range".
    for (const char* bad : {"nan", "inf", "x"}) {
        r = corral("profile --records '" + recs + "' --check --over-factor " + bad);
        EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
        EXPECT_NE(r.out.find("expected a number from 1 to 1000, got '" + std::string(bad) + "'"),
                  std::string::npos)
            << r.out;
    }
}

TEST_F(ProfileCli, BadInputIsExitTwoNamingFileAndLine) {
    auto f = write("bad.jsonl", rec("r1", "a", 1, 1) + "{\"schema\":\"corral.record/1\"}\n");
    auto r = corral("profile --records '" + f + "'");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find(f + ":2: field \"name\" is missing"), std::string::npos) << r.out;
    r = corral("profile");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("nothing to read"), std::string::npos) << r.out;
    auto p = write("p.json", "{\"schema\":\"other\"}");
    r = corral("profile --merge '" + p + "'");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find(p + ": expected \"schema\": \"corral.profile/1\""), std::string::npos);
    r = corral("profile --records '" + f + "' --margin lots");
    EXPECT_EQ(r.code, 2);
    // A bad profile at --out is left as it was.
    auto out = write("keep.json", "not json");
    auto good = write("good.jsonl", rec("r1", "a", 1, 1));
    r = corral("profile --records '" + good + "' --out '" + out + "'");
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(slurp(out), "not json");
}

}  // namespace
