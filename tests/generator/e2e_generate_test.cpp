// `corral generate` and the single-output commands through the real program:
// consistent outputs, bad input refused with its message and nothing written,
// and every file old-or-complete however the run is interrupted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "generator/output_writer.hpp"
#include "generator_test_util.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::slurp;
using test::spit;
using test::TempDir;

const std::vector<std::string> kOutputs = {
    "facts.json", "plan.json", "resources.json", "pools.cmake",         "pools.ninja",
    "plan.cmake", "env.sh",    "github.env",     "github-workflow.yml", "forgejo-workflow.yml",
    "report.txt"};

std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(dir))  // the names, not the generations behind
        if (auto name = e.path().filename().string(); name[0] != '.')
            files[name] = e.is_regular_file() ? slurp(e.path()) : "<dir>";
    return files;
}

TEST(Generate, WritesEveryOutputAndTheSingleCommandsAgree) {
    TempDir dir("gen");
    auto out = dir / "corral";
    std::vector<std::string> inputs = {"--cpus", "4", "--memory", "4G"};
    auto args = std::vector<std::string>{CORRAL_EXE, "generate", "--out", out.string()};
    args.insert(args.end(), inputs.begin(), inputs.end());
    auto r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto files = snapshot(out);
    for (const auto& name : kOutputs)
        EXPECT_TRUE(files.count(name)) << name;
    EXPECT_EQ(files.size(), kOutputs.size());

    auto single = [&](std::vector<std::string> cmd) {
        cmd.insert(cmd.begin(), CORRAL_EXE);
        cmd.insert(cmd.end(), inputs.begin(), inputs.end());
        auto res = run(cmd);
        EXPECT_EQ(res.exit_code, 0) << res.err;
        return res.out;
    };
    EXPECT_EQ(single({"spec"}), files["resources.json"]);
    EXPECT_EQ(single({"pools", "--cmake"}), files["pools.cmake"]);
    EXPECT_EQ(single({"pools", "--ninja"}), files["pools.ninja"]);
    EXPECT_EQ(single({"env"}), files["env.sh"]);
    EXPECT_EQ(single({"env", "--format", "sh"}), files["env.sh"]);
    EXPECT_EQ(single({"env", "--format", "github"}), files["github.env"]);

    // The plan's numbers reach the environment a shell sees.
    auto plan = nlohmann::json::parse(files["plan.json"]);
    auto sh = run({"/bin/sh", "-c", ". ./env.sh && echo $CTEST_PARALLEL_LEVEL"}, out);
    EXPECT_EQ(sh.out, std::to_string(plan.at("test_parallel_level").get<int>()) + "\n");
    EXPECT_NE(files["report.txt"].find("Warnings: "), std::string::npos);
}

// Each kind of bad input: exit 2, a message naming what is wrong, and the
// outputs of an earlier good run left byte for byte.
TEST(Generate, BadInputWritesNothing) {
    TempDir dir("bad");
    auto out = dir / "corral";
    auto good =
        run({CORRAL_EXE, "generate", "--out", out.string(), "--cpus", "4", "--memory", "4G"});
    ASSERT_EQ(good.exit_code, 0) << good.err;
    spit(dir / "single.txt", "old single output\n");
    auto before = snapshot(out);

    struct Case {
        std::string what;
        std::string yaml;  // written to corral.yaml when not empty
        std::vector<std::string> args;
        std::map<std::string, std::string> env;
        std::vector<std::string> message;  // all must appear in stderr
    };
    const std::string cfg = (dir / "corral.yaml").string();
    spit(dir / "bad-facts.json", "{\"schema\": 3}\n");
    std::vector<Case> cases = {
        {"unknown key",
         "cpu:\n  oversubscribtion: 2\n",
         {},
         {},
         {"corral.yaml:2:3", "oversubscribtion", "oversubscription"}},
        {"unknown section", "memroy:\n  per_test: 1G\n", {}, {}, {"corral.yaml:1:1", "memroy"}},
        {"wrong type",
         "cpu:\n  oversubscription: lots\n",
         {},
         {},
         {"corral.yaml:2:", "cpu.oversubscription", "lots"}},
        {"bad size",
         "memory:\n  per_test: 12 parsecs\n",
         {},
         {},
         {"corral.yaml:2:", "memory.per_test"}},
        {"bad duration", "tests:\n  timeout: soon\n", {}, {}, {"corral.yaml:2:", "tests.timeout"}},
        {"YAML syntax", "cpu: [1, 2\n", {}, {}, {"corral.yaml"}},
        {"bad env name", "env:\n  \"NOT VALID\": x\n", {}, {}, {"corral.yaml:2:", "NOT VALID"}},
        {"missing config", "", {"--config", (dir / "nope.yaml").string()}, {}, {"nope.yaml"}},
        {"bad --memory", "", {"--memory", "lots"}, {}, {"--memory", "lots"}},
        {"bad --cpus", "", {"--cpus", "0"}, {}, {"--cpus"}},
        {"bad CORRAL_CPUS", "", {}, {{"CORRAL_CPUS", "many"}}, {"CORRAL_CPUS", "many"}},
        {"bad CORRAL_MEMORY", "", {}, {{"CORRAL_MEMORY", "12 parsecs"}}, {"CORRAL_MEMORY"}},
        {"bad --facts",
         "",
         {"--facts", (dir / "bad-facts.json").string()},
         {},
         {"bad-facts.json", "corral.facts/1"}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        fs::remove(cfg);
        std::vector<std::string> config;
        if (!c.yaml.empty()) {
            spit(cfg, c.yaml);
            config = {"--config", cfg};
        }
        std::vector<std::vector<std::string>> commands = {
            {"generate", "--out", out.string()},
            {"spec", "-o", (dir / "single.txt").string()},
            {"pools", "--cmake", "-o", (dir / "single.txt").string()},
            {"env", "-o", (dir / "single.txt").string()},
            {"ci", "--github", "-o", (dir / "single.txt").string()},
        };
        for (auto cmd : commands) {
            cmd.insert(cmd.begin(), CORRAL_EXE);
            cmd.insert(cmd.end(), config.begin(), config.end());
            cmd.insert(cmd.end(), c.args.begin(), c.args.end());
            auto r = run(cmd, dir.path(), c.env);
            EXPECT_EQ(r.exit_code, 2) << cmd[1] << ": " << r.err;
            for (const auto& m : c.message)
                EXPECT_NE(r.err.find(m), std::string::npos)
                    << cmd[1] << ": stderr lacks \"" << m << "\": " << r.err;
            EXPECT_EQ(r.out, "") << cmd[1];
        }
        EXPECT_EQ(snapshot(out), before);
        EXPECT_EQ(slurp(dir / "single.txt"), "old single output\n");
    }
}

// Kill `corral generate` at random moments: every output must then be, byte
// for byte, either the old version or the new one. Timing only varies where
// the kill lands; the assertion holds wherever it does.
TEST(Generate, KilledAtAnyMomentLeavesEachFileOldOrComplete) {
    TempDir dir("kill");
    auto facts = dir / "facts.json";
    auto probe = run({CORRAL_EXE, "probe", "--json"});
    ASSERT_EQ(probe.exit_code, 0) << probe.err;
    spit(facts, probe.out);
    auto gen = [&](const fs::path& out, const std::string& cpus) {
        return std::vector<std::string>{CORRAL_EXE, "generate", "--facts", facts.string(),
                                        "--cpus",   cpus,       "--out",   out.string()};
    };
    // The two versions every file may hold. Timing the second run only
    // calibrates where kills land (spread over a whole run, sanitizers or not).
    ASSERT_EQ(run(gen(dir / "old", "2")).exit_code, 0);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(run(gen(dir / "new", "3")).exit_code, 0);
    auto run_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    auto old_files = snapshot(dir / "old"), new_files = snapshot(dir / "new");
    ASSERT_NE(old_files["plan.json"], new_files["plan.json"]);

    auto target = dir / "target";
    std::mt19937 random(12345);
    int killed_mid_run = 0, left_staging = 0, mixed = 0;
    for (int round = 0; round < 20; ++round) {
        fs::remove_all(target);
        fs::create_directories(target);
        for (const auto& [name, content] : old_files)  // plain files, as an older corral left
            spit(target / name, content);
        auto argv = gen(target, "3");
        pid_t pid = ::fork();
        if (pid == 0) {
            std::vector<char*> args;
            for (auto& a : argv)
                args.push_back(a.data());
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        ::usleep(static_cast<useconds_t>(
            std::uniform_int_distribution<long>(0, run_us * 5 / 4)(random)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (WIFSIGNALED(status)) ++killed_mid_run;
        int new_count = 0, old_count = 0;  // files that differ between the versions
        for (const auto& [name, content] : snapshot(target)) {
            if (name.starts_with(kStagingPrefix)) {  // removed by the next run
                ++left_staging;
                continue;
            }
            new_count += content == new_files[name] && content != old_files[name];
            old_count += content == old_files[name] && content != new_files[name];
            EXPECT_TRUE(content == old_files[name] || content == new_files[name])
                << "round " << round << ": " << name << " is torn or foreign";
        }
        if (new_count > 0 && old_count > 0) ++mixed;
        // The next run finishes the job and cleans up.
        ASSERT_EQ(run(gen(target, "3")).exit_code, 0);
        EXPECT_EQ(snapshot(target), new_files) << "round " << round;
    }
    std::cout << killed_mid_run << " of 20 runs killed before they finished; " << left_staging
              << " left a staging directory, " << mixed << " were killed while renaming\n";
    // One rename switches the whole set (docs/outputs.md): never a mix.
    EXPECT_EQ(mixed, 0);
}

TEST(Generate, JsonSaysWhatWasWritten) {
    TempDir dir("gen-json");
    auto r = run({CORRAL_EXE, "generate", "--json", "--out", (dir / "out").string(), "--cpus", "64",
                  "--memory", "8G"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["schema"], "corral.generate/1");
    EXPECT_EQ(j["out"], fs::absolute(dir / "out").lexically_normal().string());
    ASSERT_EQ(j["files"].size(), 11u);
    for (const auto& f : j["files"])
        EXPECT_TRUE(fs::is_regular_file(f.get<std::string>())) << f;
    // 64 CPUs on 8 GiB: the memory budget fits fewer tests than CPUs.
    ASSERT_FALSE(j["warnings"].empty());
    EXPECT_TRUE(j["warnings"][0].contains("code"));
}

TEST(Cli, TopLevelHelpGivesOneLinePerSubcommand) {
    auto r = run({CORRAL_EXE, "--help"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* sub :
         {"probe", "plan", "generate", "spec", "pools", "env", "ci", "run", "reap"}) {
        auto at = r.out.find("\n  " + std::string(sub) + " ");
        ASSERT_NE(at, std::string::npos) << sub << " missing from:\n" << r.out;
        // The next line is blank or the next subcommand, not a continuation.
        auto next_start = r.out.find('\n', at + 1) + 1;
        auto next = r.out.substr(next_start, r.out.find('\n', next_start) - next_start);
        EXPECT_TRUE(next.empty() || (next.size() > 2 && next.rfind("  ", 0) == 0 && next[2] != ' '))
            << sub << " takes more than one line:\n"
            << r.out;
    }
}

TEST(Cli, OutputThatCannotBeWrittenIsAFailure) {
    for (const char* command :
         {" plan", " spec", " probe --json", " --version", " --help", " run --help"}) {
        auto r = run({"sh", "-c", std::string(CORRAL_EXE) + command + " > /dev/full"});
        EXPECT_EQ(r.exit_code, 1) << command << ": " << r.err;
        EXPECT_EQ(r.err, "corral: cannot write to standard output\n") << command << ": said once";
    }
}

// CLI11's errors name the command, as corral's own messages do.
TEST(Cli, AnErrorAfterACommandNamesTheCommand) {
    auto r = run({CORRAL_EXE, "reap", "--bogus"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err.rfind("corral reap: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("corral reap --help"), std::string::npos) << r.err;
    auto v = run({CORRAL_EXE, "run", "--leak", "often", "--", "true"});
    EXPECT_EQ(v.exit_code, 2);
    EXPECT_EQ(v.err.rfind("corral run: --leak: often", 0), 0u) << v.err;
    EXPECT_EQ(run({CORRAL_EXE}).err.rfind("corral: ", 0), 0u);
}

// A reader that went away ends the command by SIGPIPE, as it ends cat(1):
// 141 in the shell, nothing said (docs/exit-codes.md). The pipe's read end is
// closed before the command starts, so its first write finds no reader.
TEST(Cli, AReaderThatWentAwayEndsTheCommandBySigpipe) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[0]);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::signal(SIGPIPE, SIG_DFL);
        ::dup2(fds[1], 1);
        ::execl(CORRAL_EXE, CORRAL_EXE, "probe", "--json", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exited " << WEXITSTATUS(status);
    EXPECT_EQ(WTERMSIG(status), SIGPIPE);
}

// corral reap with too few descriptors to scan and end processes: refused
// (1, "nothing was scanned"), as `corral run` refuses. Before: with none free
// a false "clean" (0) while a process sat in the scope; with one, SIGABRT
// (134) from the getent pipe's EMFILE, or "1 survived" for a process never
// signalled.
TEST(Cli, ReapWithTooFewDescriptorsRefusesInsteadOfAFalseAnswer) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "the sanitized corral cannot start with one descriptor free (the loader "
                    "opens libasan.so, UBSan's vptr check needs a pipe); runs in the default build";
#endif
    auto scope = fs::temp_directory_path() / ("corral-reap-fd-" + std::to_string(::getpid()));
    fs::create_directories(scope);
    auto reap = [&](rlim_t limit) {
        int err[2];
        if (::pipe2(err, O_CLOEXEC) != 0) return std::pair<int, std::string>{-1, ""};
        pid_t pid = ::fork();
        if (pid == 0) {
            int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1);
            ::dup2(err[1], 2);
            for (int fd = 3; fd < 1024; ++fd)
                ::close(fd);
            struct rlimit rl {
                limit, limit
            };
            ::setrlimit(RLIMIT_NOFILE, &rl);
            ::execl(CORRAL_EXE, CORRAL_EXE, "reap", "--scope", scope.c_str(), "--token", "x",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(err[1]);
        std::string text;
        char buf[512];
        for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;)
            text.append(buf, static_cast<size_t>(n));
        ::close(err[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        return std::pair<int, std::string>{
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
    };
    for (rlim_t limit : {3, 4}) {
        auto [code, err] = reap(limit);
        EXPECT_EQ(code, 1) << "limit " << limit << ": " << err;
        EXPECT_NE(err.find("descriptors are free"), std::string::npos) << err;
        EXPECT_NE(err.find("nothing was scanned"), std::string::npos) << err;
    }
    EXPECT_EQ(reap(64).first, 0);
    fs::remove_all(scope);
}

// Before a command only --help and --version are options: a stray option is
// named (before, CLI11 said "A subcommand is required" and not which word).
TEST(Cli, AnUnknownOptionBeforeTheCommandIsNamed) {
    auto r = run({CORRAL_EXE, "--bogus"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
    EXPECT_EQ(run({CORRAL_EXE, "-h"}).exit_code, 0);
    EXPECT_EQ(run({CORRAL_EXE, "--version"}).exit_code, 0);
}

// corral run names an unknown option, with the closest one, and runs
// nothing. Before, CLI11's "The following arguments were not expected:
// -- --bogus" listed the "--" that separates the test command, as if it too
// were wrong.
TEST(Cli, AnUnknownRunOptionIsNamedWithTheClosest) {
    auto marker = fs::temp_directory_path() / ("corral-bogus-" + std::to_string(::getpid()));
    fs::remove(marker);
    auto r = run({CORRAL_EXE, "run", "--bogus", "--", "touch", marker.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("corral run: unknown option '--bogus'\n"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("not expected"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(marker)) << "the test ran";
    r = run({CORRAL_EXE, "run", "--scratch-rot=/tmp", "--", "true"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown option '--scratch-rot'; did you mean --scratch-root?"),
              std::string::npos)
        << r.err;
    // After the "--" the words are the test's own.
    EXPECT_EQ(run({CORRAL_EXE, "run", "--", "true", "--bogus"}).exit_code, 0);
    // A value may look like an option: it is the option's (CLI11 takes it so).
    EXPECT_EQ(run({CORRAL_EXE, "run", "--name", "--weird", "--", "true"}).exit_code, 0);
    // --help wins over an unknown option, as for every command.
    EXPECT_EQ(run({CORRAL_EXE, "run", "--help", "--bogus"}).exit_code, 0);
    // A short option is named too (CLI11 listed the test's words instead).
    r = run({CORRAL_EXE, "run", "-n", "x", "--", "echo", "hi"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown option '-n'\n"), std::string::npos) << r.err;
    // A command given without "--": the option is the command's, not corral's.
    r = run({CORRAL_EXE, "run", "echo", "--hello"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown option '--hello' after the test command 'echo': the command and "
                         "its arguments go after --"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("did you mean"), std::string::npos) << r.err;
    // An option whose value the "--" took (as CLI11 takes it): said when the
    // command's own option then looks like corral's.
    r = run({CORRAL_EXE, "run", "--name", "--", "sh", "-c", "touch " + marker.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown option '-c' after the test command 'sh'"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("(--name took the \"--\" after it as its value)"), std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(marker)) << "the test ran";
    fs::remove(marker);
}

}  // namespace
}  // namespace corral
