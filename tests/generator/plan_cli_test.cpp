// `corral plan` through the real program: saved facts in, JSON or text out;
// policy discovery, precedence of environment and options, bad input -> exit 2.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "plan/plan_json.hpp"
#include "probe/facts_json.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

struct Result {
    int exit_code = -1;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class PlanCli : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("corral-g1-plan-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        facts_ = dir_ / "facts.json";
        std::ofstream(facts_) << to_json(two_cpu_container()).dump(2);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // The 2-CPU, 4 GiB container the unit tests plan for, saved as facts.json.
    static Facts two_cpu_container() {
        Facts f;
        f.cpu.online = 32;
        f.cpu.affinity = 32;
        f.cpu.quota = 1.5;
        f.cpu.effective = 2;
        f.cpu.effective_source = "ceil(quota 1.5) = 2";
        f.memory.total_bytes = 64ull << 30;
        f.memory.limit_bytes = 4ull << 30;
        f.memory.effective_bytes = 4ull << 30;
        f.memory.effective_source = "cgroup memory.max";
        ScratchFacts s;
        s.path = "/tmp";
        s.origin = "/tmp";
        s.usable = true;
        s.fstype = "ext4";
        s.device = "/dev/vda";
        s.mount_point = "/";
        s.filesystem_id = "vda";
        s.free_bytes = 10ull << 30;
        s.socket_headroom = 100;
        f.scratch.push_back(s);
        return f;
    }

    // Runs corral with exactly `env` (nothing inherited) in `cwd`.
    Result run(std::vector<std::string> args, std::vector<std::string> env = {},
               const fs::path& cwd = {}) {
        args.insert(args.begin(), CORRAL_EXE);
        const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
        std::vector<char*> argv, envp;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        env.push_back("PATH=/usr/bin:/bin");
        for (auto& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        pid_t pid = -1;
        Result r;
        int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
            return r;
        }
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        r.out = slurp(out);
        r.err = slurp(err);
        return r;
    }

    nlohmann::ordered_json plan_json(const Result& r) {
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::ordered_json::parse(r.out);
    }

    static bool has_warning(const nlohmann::ordered_json& j, const std::string& message) {
        for (const auto& w : j["warnings"])
            if (w["message"] == message) return true;
        return false;
    }

    fs::path dir_, facts_;
};

TEST_F(PlanCli, JsonFromSavedFacts) {
    auto j = plan_json(run({"plan", "--json", "--facts", facts_}));
    EXPECT_EQ(j["schema"], "corral.plan/1");
    EXPECT_EQ(j["cpus"], 2);
    EXPECT_EQ(j["test_parallel_level"], 2);
    EXPECT_EQ(j["build_parallel_level"], 1);
    EXPECT_EQ(j["memory_budget_bytes"], (4ull << 30) - (512ull << 20));
    EXPECT_EQ(j["scratch_dir"], "/tmp");
    EXPECT_EQ(j["policy_file"], "");
    EXPECT_EQ(j["warnings"].size(), 0u) << j["warnings"].dump();
    // The document is what plan_from_json reads back (corral run depends on it).
    EXPECT_EQ(to_json(plan_from_json(j)), j);
}

TEST_F(PlanCli, EnvironmentOverridesTheProbeAndTheOptionOverridesTheEnvironment) {
    auto j = plan_json(run({"plan", "--json", "--facts", facts_}, {"CORRAL_CPUS=8"}));
    EXPECT_EQ(j["cpus"], 8);
    EXPECT_EQ(j["cpus_source"], "CORRAL_CPUS");
    EXPECT_TRUE(has_warning(j, "CORRAL_CPUS=8 overrides the probed 2 CPUs")) << j["warnings"];

    auto k = plan_json(run({"plan", "--json", "--facts", facts_, "--cpus", "6", "--memory", "8G"},
                           {"CORRAL_CPUS=8"}));
    EXPECT_EQ(k["cpus"], 6);
    EXPECT_EQ(k["cpus_source"], "--cpus");
    EXPECT_EQ(k["memory_bytes"], 8ull << 30);
    EXPECT_TRUE(has_warning(k, "--cpus 6 overrides the probed 2 CPUs"));
    EXPECT_TRUE(has_warning(k, "--memory 8.0 GiB overrides the probed 4.0 GiB of memory"));
}

TEST_F(PlanCli, SanitizerOptionRaisesTheTimeout) {
    auto j = plan_json(run({"plan", "--json", "--facts", facts_, "--sanitizer", "tsan"}));
    EXPECT_EQ(j["timeout_multiplier"], 5.0);
    EXPECT_EQ(j["test_timeout_seconds"], 7500);
}

TEST_F(PlanCli, PolicyDiscoveryOptionThenVariableThenWorkingDirectory) {
    std::ofstream(dir_ / "corral.yaml") << "memory:\n  per_test: 1G\n";
    std::ofstream(dir_ / "other.yaml") << "memory:\n  per_test: 2G\n";
    std::ofstream(dir_ / "third.yaml") << "memory:\n  per_test: 3G\n";

    auto local = plan_json(run({"plan", "--json", "--facts", facts_}, {}, dir_));
    EXPECT_EQ(local["memory_per_test_bytes"], 1ull << 30);
    EXPECT_EQ(local["policy_file"], "corral.yaml");

    auto by_env = plan_json(run({"plan", "--json", "--facts", facts_},
                                {"CORRAL_CONFIG=" + (dir_ / "other.yaml").string()}, dir_));
    EXPECT_EQ(by_env["memory_per_test_bytes"], 2ull << 30);

    auto by_option = plan_json(
        run({"plan", "--json", "--facts", facts_, "--config", (dir_ / "third.yaml").string()},
            {"CORRAL_CONFIG=" + (dir_ / "other.yaml").string()}, dir_));
    EXPECT_EQ(by_option["memory_per_test_bytes"], 3ull << 30);
    EXPECT_EQ(by_option["policy_file"], (dir_ / "third.yaml").string());
}

TEST_F(PlanCli, BadPolicyIsExitTwoWithTheMessageAndNoOutput) {
    auto bad = dir_ / "bad.yaml";
    std::ofstream(bad) << "memory:\n  per_test: lots\n";
    Result r = run({"plan", "--json", "--facts", facts_, "--config", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "corral plan: " + bad.string() +
                         ":2:13: memory.per_test: \"lots\": expected a number with a binary "
                         "unit: K, M, G, T (or KiB, MiB, GiB, TiB; powers of 1024) or B, such as "
                         "512M, 2G or 1.5GiB\n");

    std::ofstream(bad) << "memory:\n  per_tset: 1G\n";
    r = run({"plan", "--facts", facts_, "--config", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(":2:3: memory.per_tset: unknown key; did you mean \"per_test\"?"),
              std::string::npos)
        << r.err;

    std::ofstream(bad) << "env:\n  TEST_PROCESSES: \"{paralel_level}\"\n";
    r = run({"plan", "--facts", facts_, "--config", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown placeholder {paralel_level}"), std::string::npos) << r.err;

    std::ofstream(bad) << "cpu: [\n";
    r = run({"plan", "--facts", facts_, "--config", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("YAML syntax error"), std::string::npos) << r.err;

    r = run({"plan", "--facts", facts_}, {"CORRAL_MEMORY=8"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("CORRAL_MEMORY: \"8\": a unit is required"), std::string::npos) << r.err;

    r = run({"plan", "--facts", facts_, "--cpus", "zero"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "corral plan: --cpus: expected an integer from 1 to 1048576, got \"zero\"\n");

    r = run({"plan", "--facts", facts_, "--config", (dir_ / "missing.yaml").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("cannot read the policy file"), std::string::npos) << r.err;

    r = run({"plan", "--facts", facts_}, {"CORRAL_CONFIG=" + (dir_ / "gone.yaml").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "corral plan: CORRAL_CONFIG: " + (dir_ / "gone.yaml").string() +
                         ": no such policy file (unset CORRAL_CONFIG to use ./corral.yaml or the "
                         "built-in defaults)\n");

    r = run({"plan", "--facts", (dir_ / "missing.json").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("cannot read the saved facts"), std::string::npos) << r.err;

    r = run({"plan", "--facts", facts_, "--root", "/"});  // exclusive options
    EXPECT_EQ(r.exit_code, 2);
}

TEST_F(PlanCli, HumanOutputShowsDecisionsReasonsAndWarnings) {
    Result r = run({"plan", "--facts", facts_, "--cpus", "8"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* needle :
         {"corral plan (corral.plan/1)", "Policy       built-in defaults", "memory-bound",
          "mem_mib", "heavy_io", "fs0  4 slots", "compile (compile jobs)", "link (link jobs)",
          "CTEST_PARALLEL_LEVEL=7", "TMPDIR=/tmp", "Warnings: 2",
          "[probe_overridden] --cpus 8 overrides the probed 2 CPUs", "[memory_tight]"})
        EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
}

// One renderer: `corral plan` prints exactly the report.txt `corral generate`
// writes for the same inputs.
TEST_F(PlanCli, PrintsTheReportThatGenerateWrites) {
    std::ofstream(dir_ / "corral.yaml")
        << "tests:\n  sanitizers: [asan]\nci:\n  tests_run_under_sudo: true\n";
    const std::vector<std::string> env = {"CORRAL_CONFIG=" + (dir_ / "corral.yaml").string()};
    Result plan = run({"plan", "--facts", facts_, "--cpus", "8"}, env);
    ASSERT_EQ(plan.exit_code, 0) << plan.err;
    Result gen = run({"generate", "--facts", facts_, "--cpus", "8", "--out", dir_ / "out"}, env);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    EXPECT_EQ(plan.out, slurp(dir_ / "out" / "report.txt"));
    EXPECT_NE(plan.out.find("Policy       " + (dir_ / "corral.yaml").string()), std::string::npos)
        << plan.out;
    EXPECT_NE(plan.out.find("tests run under sudo"), std::string::npos) << plan.out;
}

// corral run --plan reads through the plan model's validated reader: a facts
// file, another document, another plan version, bad JSON or a missing file is
// an input error (exit 125, corral run's own failure code, docs/exit-codes.md)
// naming the file and what was expected, never silently ignored.
TEST_F(PlanCli, RunRefusesWhatIsNotAPlan) {
    auto expect_refused = [&](const fs::path& file, const std::string& what) {
        Result r = run({"run", "--plan", file.string(), "--", "/bin/true"});
        EXPECT_EQ(r.exit_code, 125) << file << "\n" << r.err;
        EXPECT_NE(r.err.find(file.string() + ":"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    };
    expect_refused(facts_,
                   "a facts document (\"schema\": \"corral.facts/1\", from corral probe "
                   "--json), not a plan; expected a plan (\"schema\": \"corral.plan/1\"");
    std::ofstream(dir_ / "other.json") << R"({"name": "x"})";
    expect_refused(dir_ / "other.json", "without a \"schema\" string; expected a plan");
    std::ofstream(dir_ / "v2.json") << R"({"schema": "corral.plan/2"})";
    expect_refused(dir_ / "v2.json", "plan schema \"corral.plan/2\" is not one this corral reads");
    std::ofstream(dir_ / "list.json") << "[1, 2]";
    expect_refused(dir_ / "list.json", "not an object");
    std::ofstream(dir_ / "broken.json") << "{\n  \"schema\": \n}";
    expect_refused(dir_ / "broken.json", "broken.json:3:1: not valid JSON");
    expect_refused(dir_ / "missing.json", "cannot read the plan: No such file or directory");
    std::ofstream(dir_ / "typed.json")
        << R"({"schema": "corral.plan/1", "timeout_multiplier": "2"})";
    expect_refused(dir_ / "typed.json",
                   "field \"timeout_multiplier\": expected a number, got the string \"2\"");

    // What corral plan --json prints is a plan corral run takes.
    Result plan = run({"plan", "--json", "--facts", facts_});
    ASSERT_EQ(plan.exit_code, 0) << plan.err;
    std::ofstream(dir_ / "plan.json") << plan.out;
    Result ok = run({"run", "--plan", (dir_ / "plan.json").string(), "--", "/bin/true"});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// An empty output path is bad usage, not "not given": `--junit "$UNSET"` wrote
// nothing and exited 0, and `generate --out ''` exited 1 as for a full disk
// (field report). Every option that names a file or directory to write.
TEST_F(PlanCli, AnEmptyOutputPathIsBadUsage) {
    Result rec =
        run({"run", "--records", (dir_ / "r.jsonl").string(), "--name", "t", "--", "/bin/true"});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    const std::string records = (dir_ / "r.jsonl").string();
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"spec", "--facts", facts_.string(), "-o", ""}, "--output"},
        {{"pools", "--facts", facts_.string(), "--output", ""}, "--output"},
        {{"generate", "--facts", facts_.string(), "--out", ""}, "--out"},
        {{"report", "--records", records, "--junit", ""}, "--junit"},
        {{"report", "--records", records, "--markdown", ""}, "--markdown"},
        {{"report", "--records", records, "--html", ""}, "--html"},
        {{"profile", "--records", records, "--out", ""}, "--out"},
        {{"profile", "--records", records, "--cmake", ""}, "--cmake"},
        {{"shard", "--tests-json", records, "--shards", "2", "--out", ""}, "--out"},
        // Inputs named empty were quietly "not given" too.
        {{"generate", "--out", (dir_ / "g").string(), "--config", ""}, "--config"},
        {{"plan", "--facts", ""}, "--facts"},
        // It ran the test first, then exited 125: "cannot open records file ".
        {{"run", "--records", "", "--", "touch", (dir_ / "ran").string()}, "--records"},
    };
    for (const auto& [args, option] : cases) {
        Result r = run(args, {}, dir_);
        EXPECT_EQ(r.exit_code, 2) << args[0] << " " << option << ": " << r.err;
        EXPECT_NE(r.err.find(option + ": expected a path, got an empty string"), std::string::npos)
            << r.err;
        EXPECT_TRUE(r.out.empty()) << args[0] << " " << option << " printed: " << r.out;
    }
    EXPECT_FALSE(fs::exists(dir_ / "ran")) << "a bad command line ran the test";
}

// A whole-number option is read in decimal: CLI11 alone read "--shards 010" as
// octal 8 and wrote an 8-job matrix (field report); "08" was "Could not convert".
TEST_F(PlanCli, AWholeNumberIsReadInDecimal) {
    Result r = run({"ci", "--github", "--facts", facts_.string(), "--shards", "010"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("corral ci --github --shards 10"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("--shards 8"), std::string::npos) << r.out;
    r = run({"ci", "--github", "--facts", facts_.string(), "--shards", "08"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// An unknown CORRAL_* variable gets the did-you-mean an unknown YAML key gets,
// as a warning (docs/policy.md); known non-policy names pass silently.
TEST_F(PlanCli, UnknownCorralVariableWarnsWithDidYouMean) {
    Result r =
        run({"plan", "--json", "--facts", facts_},
            {"CORRAL_MEMROY=8G", "CORRAL_TEST_ID=7", "CORRAL_CPU_BOUND=OFF",
             "CORRAL_PARALLEL_LEVEL=2", "CORRAL_PLAN_CPUS=4", "CORRAL_TIMEOUT_MULTIPLIER=3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err,
              "corral: warning: CORRAL_MEMROY: not a corral variable, ignored; did you mean "
              "CORRAL_MEMORY?\n");
    EXPECT_EQ(nlohmann::ordered_json::parse(r.out)["test_parallel_level"], 2);
}

TEST_F(PlanCli, PlansForThisHost) {
    // The real probe on this machine: whatever it finds, the plan is whole.
    Result r = run({"plan", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::ordered_json::parse(r.out);
    EXPECT_GE(j["cpus"].get<int>(), 1);
    EXPECT_GE(j["test_parallel_level"].get<int>(), 1);
    EXPECT_GT(j["memory_budget_bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(j["resources"][0]["name"], "mem_mib");
}

}  // namespace
}  // namespace corral
