// Over ~400 lines on purpose: the end-to-end tests of `corral run` share one
// harness of unique-token processes and their teardown (see below).
// End-to-end tests of `corral run`: the real program, real processes, real
// cgroups, real ctest. Every process a test starts carries a unique token in
// its argv (a unique `sleep` duration); teardown kills survivors by pid.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernel/process.hpp"
#include "run_harness.hpp"
#include "runtime/launcher.hpp"
#include "runtime/scratch_retire.hpp"
#include "tests/support/dentry_probe.hpp"

using testing::HasSubstr;

namespace {

// Waits (bounded, not a timing assertion) until `done` holds.
template <typename F>
bool eventually(F done, double seconds = 60) {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

TEST_F(Run, ExitCodesFollowTimeoutConventions) {
    EXPECT_EQ(run({"--", "sh", "-c", "exit 7"}).code, 7);
    EXPECT_EQ(last_record()["exit_code"], 7);

    EXPECT_EQ(run({"--", "sh", "-c", "kill -USR1 $$"}).code, 128 + SIGUSR1);
    EXPECT_EQ(last_record()["signal"], SIGUSR1);
    EXPECT_TRUE(last_record()["exit_code"].is_null());

    auto missing = run({"--", "corral-no-such-command-r1"});
    EXPECT_EQ(missing.code, 127);
    EXPECT_THAT(missing.err, HasSubstr("not found in PATH"));
    // It never ran: no exit code of its own (corral report calls it "not found").
    EXPECT_TRUE(last_record()["exit_code"].is_null()) << last_record().dump();
    // A path is not looked up in PATH, so the line does not say so.
    auto missing_path = run({"--", (dir_ / "no-such-command").string()});
    EXPECT_EQ(missing_path.code, 127);
    EXPECT_THAT(missing_path.err, HasSubstr("No such file or directory"));
    EXPECT_THAT(missing_path.err, testing::Not(HasSubstr("PATH")));
    // Nothing ran, so there is no evidence to keep: its scratch is removed.
    EXPECT_FALSE(last_record()["scratch_kept"].get<bool>());
    EXPECT_FALSE(fs::exists(last_record()["scratch_dir"].get<std::string>()));
    EXPECT_THAT(missing_path.err, testing::Not(HasSubstr("kept the scratch")));

    fs::path not_exec = dir_ / "not_executable";
    std::ofstream(not_exec) << "#!/bin/sh\n";
    EXPECT_EQ(run({"--", not_exec.string()}).code, 126);
    EXPECT_TRUE(last_record()["exit_code"].is_null());

    // A bad option value is a usage error (2): RunOptionValues below.
    auto bad_slots = run({"--slots", "vm", "--", "true"});
    EXPECT_EQ(bad_slots.code, 2);
    EXPECT_THAT(bad_slots.err, HasSubstr("TYPE:N"));
    // Arguments after the command are the test's, untouched (even --x and [a,b]).
    auto passthrough = run({"--lock", "l", "--", "printf", "<%s>", "--x", "[a,b]", "--"});
    EXPECT_EQ(passthrough.out, "<--x><[a,b]><-->");
    // A repeatable option right before "--" must not swallow the test's own options.
    auto own_options = run(
        {"--slots", "s:2", "--lock", "l", "--", "printf", "<%s>", "--name", "z", "--lock", "w"});
    EXPECT_EQ(own_options.code, 0);
    EXPECT_EQ(own_options.out, "<--name><z><--lock><w>");
}

TEST_F(Run, GivesAShortUniqueScratchDirAndRemovesIt) {
    auto r = run({"--name", "envtest", "--timeout-multiplier", "3", "--", "sh", "-c",
                  "env; head -c 300000 /dev/urandom > \"$TMPDIR/blob\""});
    ASSERT_EQ(r.code, 0) << r.err;
    auto rec = last_record();
    std::string scratch = rec["scratch_dir"];
    std::string id = rec["test_id"];
    EXPECT_EQ(scratch, (dir_ / "scratch" / ("c-" + id)).string());
    EXPECT_THAT(r.out, HasSubstr("TMPDIR=" + scratch + "\n"));
    EXPECT_THAT(r.out, HasSubstr("TMP=" + scratch + "\n"));
    EXPECT_THAT(r.out, HasSubstr("TEMP=" + scratch + "\n"));
    EXPECT_THAT(r.out, HasSubstr("CORRAL_TEST_ID=" + id + "\n"));
    EXPECT_THAT(r.out, HasSubstr("CORRAL_SCOPE=" + scratch + "\n"));
    EXPECT_THAT(r.out, HasSubstr("CORRAL_TIMEOUT_MULTIPLIER=3\n"));
    EXPECT_EQ(rec["name"], "envtest");
    EXPECT_GE(rec["scratch_bytes"].get<uint64_t>(), 300000u);
    EXPECT_FALSE(fs::exists(scratch));
}

TEST_F(Run, ARelativeScratchRootBecomesAbsolute) {
    auto env = env_;
    auto t0 = Clock::now();
    // Run from dir_ so "scratch" names dir_/scratch.
    std::vector<std::string> cmd = {
        "env", "-C", dir_.string(), CORRAL_EXE,        "run", "--scratch-root", "scratch",
        "--",  "sh", "-c",          "echo \"$TMPDIR\""};
    auto r = finish(spawn(cmd, env), t0);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, testing::StartsWith((dir_ / "scratch" / "c-").string()));
}

TEST_F(Run, KeepScratchKeepsItOnlyForFailures) {
    run({"--keep-scratch", "failed", "--", "sh", "-c", "touch $TMPDIR/evidence; exit 1"});
    auto failed = last_record();
    EXPECT_TRUE(failed["scratch_kept"]);
    EXPECT_TRUE(fs::exists(fs::path(failed["scratch_dir"].get<std::string>()) / "evidence"));
    run({"--keep-scratch", "failed", "--", "sh", "-c", "touch $TMPDIR/evidence"});
    EXPECT_FALSE(fs::exists(last_record()["scratch_dir"].get<std::string>()));
}

TEST_F(Run, TranslatesCtestGrantsFromThePlan) {
    auto heavy = dir_ / "heavy_fs";
    fs::create_directories(heavy);
    std::ofstream(dir_ / "plan.json") << nlohmann::json{
        {"schema", "corral.plan/1"},
        {"scratch_dir", (dir_ / "scratch").string()},
        {"timeout_multiplier", 2},
        {"resources",
         {{{"name", "heavy_io"},
           {"ids", {{{"id", "fs_a"}, {"slots", 2}, {"path", heavy.string()}}}}}}}};
    std::map<std::string, std::string> ctest = {
        {"CTEST_RESOURCE_GROUP_COUNT", "2"},
        {"CTEST_RESOURCE_GROUP_0", "gpus,mem_mib,heavy_io"},
        {"CTEST_RESOURCE_GROUP_0_GPUS", "id:nvidia1,slots:1"},
        {"CTEST_RESOURCE_GROUP_0_MEM_MIB", "id:mem,slots:300"},
        {"CTEST_RESOURCE_GROUP_0_HEAVY_IO", "id:fs_a,slots:1"},
        {"CTEST_RESOURCE_GROUP_1", "gpus"},
        {"CTEST_RESOURCE_GROUP_1_GPUS", "id:nvidia0,slots:1"},
    };
    auto r = run({"--plan", (dir_ / "plan.json").string(), "--", "env"}, ctest);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("CUDA_VISIBLE_DEVICES=1,0\n"));
    EXPECT_THAT(r.out, HasSubstr("CORRAL_MEMORY_BYTES=" + std::to_string(300ull << 20) + "\n"));
    EXPECT_THAT(r.out, HasSubstr("TMPDIR=" + heavy.string() + "/c-"));
    EXPECT_THAT(r.out, HasSubstr("CORRAL_TIMEOUT_MULTIPLIER=2\n"));
    auto rec = last_record();
    EXPECT_EQ(rec["resources"].size(), 4u);

    auto bad = run({"--", "true"}, {{"CTEST_RESOURCE_GROUP_COUNT", "1"}});
    EXPECT_EQ(bad.code, 125);
    EXPECT_THAT(bad.err, HasSubstr("CTEST_RESOURCE_GROUP_0"));
}

// Acceptance 1 (run half): a double-fork setsid daemon with stdio on /dev/null.
TEST_F(Run, KillsADoubleForkSetsidDaemon) {
    auto t = token();
    auto pidfile = dir_ / "daemon.pid";
    std::string script = "( setsid sh -c 'echo $$ > " + pidfile.string() + "; exec sleep " + t +
                         "' </dev/null >/dev/null 2>&1 & ); "
                         "while [ ! -s " +
                         pidfile.string() + " ]; do sleep 0.01; done";
    auto r = run({"--grace", "2", "--", "sh", "-c", script});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("LEAK"));
    EXPECT_THAT(r.err, HasSubstr("sleep " + t));
    pid_t daemon = std::stoi(slurp(pidfile));
    auto info = corral::proc::read_process(daemon);
    bool still_ours = info && info->state != 'Z' && !info->argv.empty() && info->argv.back() == t;
    EXPECT_FALSE(still_ours) << "daemon pid " << daemon << " survived";
    EXPECT_TRUE(with_tokens().empty());
    auto rec = last_record();
    ASSERT_EQ(rec["leaked"].size(), 1u);
    EXPECT_EQ(rec["leaked"][0]["pid"], daemon);
}

// Acceptance 2: a grandchild keeping stdout open does not keep anyone waiting.
TEST_F(Run, GrandchildHoldingStdoutEndsPromptlyWithLeakReport) {
    auto t = token();
    auto r = run({"--leak", "fail", "--", "sh", "-c", "sleep " + t + " & echo started"});
    // finish() read the pipes to EOF: the sleep (holding them) is dead.
    EXPECT_LT(r.seconds, 20.0) << "not the sleep's " << t << " s";
    EXPECT_EQ(r.code, 122);
    EXPECT_THAT(r.out, HasSubstr("started"));
    EXPECT_THAT(r.err, HasSubstr("LEAK: test 'sh' left 1 process(es)"));
    EXPECT_THAT(r.err, HasSubstr("--leak fail"));
    EXPECT_TRUE(with_tokens().empty());
}

TEST_F(Run, LeakWarnKeepsTheResultAndIgnoreIsQuiet) {
    auto t = token();
    auto warn = run({"--", "sh", "-c", "sleep " + t + " & exit 0"});
    EXPECT_EQ(warn.code, 0);
    EXPECT_THAT(warn.err, HasSubstr("LEAK"));
    auto ignore = run({"--leak", "ignore", "--", "sh", "-c", "sleep " + token() + " & exit 0"});
    EXPECT_EQ(ignore.code, 0);
    EXPECT_THAT(ignore.err, testing::Not(HasSubstr("LEAK")));
    EXPECT_EQ(last_record()["leaked"].size(), 1u);  // recorded, and killed, all the same
    EXPECT_TRUE(with_tokens().empty());
}

// Acceptance 2, the CTest half: a real ctest run of a tiny project.
TEST_F(Run, CtestDoesNotWaitForALeakedGrandchild) {
    auto proj = dir_ / "proj";
    fs::create_directories(proj);
    auto t = token();
    std::ofstream(proj / "CMakeLists.txt")
        << "cmake_minimum_required(VERSION 3.16)\nproject(leaky NONE)\nenable_testing()\n"
        << "add_test(NAME leaky COMMAND " << CORRAL_EXE << " run --scratch-root "
        << (dir_ / "scratch").string() << " -- sh -c \"sleep " << t << " & echo started\")\n"
        << "set_tests_properties(leaky PROPERTIES TIMEOUT 300)\n";
    auto cfg = finish(spawn({CMAKE_EXE, "-S", proj.string(), "-B", (proj / "b").string()}, env_),
                      Clock::now());
    ASSERT_EQ(cfg.code, 0) << cfg.out << cfg.err;
    auto t0 = Clock::now();
    auto r = finish(spawn({CTEST_EXE, "--test-dir", (proj / "b").string(), "-V"}, env_), t0);
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_LT(r.seconds, 60.0) << "ctest waited for the leaked sleep (TIMEOUT 300)";
    EXPECT_THAT(r.out, HasSubstr("LEAK"));
    EXPECT_THAT(r.out, HasSubstr("sleep " + t));
    EXPECT_TRUE(with_tokens().empty());
}

// Acceptance 10: a hanging test is killed with its whole tree, exit 124.
TEST_F(Run, TimeoutKillsTheWholeTree) {
    auto a = token(), b = token(), c = token();
    auto r = run({"--timeout", "1", "--grace", "2", "--", "sh", "-c",
                  "sleep " + a + " & (setsid sleep " + b + " &) ; sh -c 'sleep " + c + "' & wait"});
    EXPECT_EQ(r.code, 124);
    EXPECT_THAT(r.err, HasSubstr("TIMEOUT"));
    auto rec = last_record();
    EXPECT_TRUE(rec["timed_out"]);
    EXPECT_EQ(rec["timeout_seconds"], 1.0);
    EXPECT_GE(rec["killed_on_timeout"].size(), 4u);  // sh, 3 sleeps (+ inner sh)
    EXPECT_TRUE(with_tokens().empty());
    EXPECT_LT(r.seconds, 30.0);
}

// Acceptance 4 (run's own timeout): TERM ignored -> KILL after the grace period.
TEST_F(Run, TimeoutKillsATermIgnoringProcessAfterGrace) {
    auto t = token();
    auto r = run({"--timeout", "0.5", "--grace", "1", "--", "sh", "-c",
                  "trap '' TERM; sleep " + t + "; echo survived"});
    EXPECT_EQ(r.code, 124);
    EXPECT_THAT(r.out, testing::Not(HasSubstr("survived")));
    EXPECT_LT(r.seconds, 0.5 + 1 + 15) << "grace + a generous margin";
    EXPECT_TRUE(with_tokens().empty());
}

TEST_F(Run, ForwardsSigtermToTheTest) {
    auto ready = dir_ / "ready";
    auto t = token();
    auto s = spawn(corral({"--", "sh", "-c",
                           "trap 'echo got-term; exit 3' TERM; touch " + ready.string() +
                               "; sleep " + t + " & wait"}),
                   env_);
    auto t0 = Clock::now();
    while (!fs::exists(ready) && Clock::now() - t0 < std::chrono::seconds(30))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(fs::exists(ready));
    ::kill(s.pid, SIGTERM);
    auto r = finish(s, t0);
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_THAT(r.out, HasSubstr("got-term"));
    EXPECT_THAT(r.err, HasSubstr("forwarding"));
    EXPECT_TRUE(with_tokens().empty());
}

// A stopped test acts on a forwarded SIGTERM only once continued: the launcher
// sends SIGCONT after it, as a shell does for a stopped job. Before, the test
// stayed stopped through --grace and was KILLed without running its handler.
TEST_F(Run, AStoppedTestIsContinuedToActOnAForwardedSignal) {
    auto t = token();
    auto s = spawn(corral({"--grace", "20", "--", "sh", "-c",
                           "trap 'echo got-term; exit 3' TERM; kill -STOP $$; sleep " + t}),
                   env_);
    auto t0 = Clock::now();
    auto stopped = [&] {
        for (pid_t p : corral::proc::list_pids()) {
            auto info = corral::proc::read_process(p);
            if (info && info->state == 'T' && !info->argv.empty() && info->argv[0] == "sh" &&
                info->argv.size() == 3 && info->argv[2].find(t) != std::string::npos)
                return true;
        }
        return false;
    };
    ASSERT_TRUE(eventually(stopped));
    ::kill(s.pid, SIGTERM);
    auto r = finish(s, t0);
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_THAT(r.out, HasSubstr("got-term"));
    EXPECT_THAT(r.err, testing::Not(HasSubstr("ignored the forwarded signal")));
}

TEST_F(Run, AForwardedSignalTheTestIgnoresStillEndsItAfterGrace) {
    auto ready = dir_ / "ready";
    auto t = token();
    auto s = spawn(corral({"--grace", "1", "--", "sh", "-c",
                           "trap '' TERM; touch " + ready.string() + "; sleep " + t}),
                   env_);
    auto t0 = Clock::now();
    while (!fs::exists(ready) && Clock::now() - t0 < std::chrono::seconds(30))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(fs::exists(ready));
    auto sent = Clock::now();
    ::kill(s.pid, SIGTERM);
    auto r = finish(s, sent);
    EXPECT_EQ(r.code, 128 + SIGKILL) << r.err;
    EXPECT_THAT(r.err, HasSubstr("ignored the forwarded signal"));
    EXPECT_LT(r.seconds, 1 + 15.0) << "grace + a generous margin";
    EXPECT_TRUE(with_tokens().empty());
}

// Acceptance 11: host-wide locks never overlap; SIGKILL of a holder releases.
TEST_F(Run, LockHoldersNeverOverlap) {
    std::vector<Spawned> runs;
    auto t0 = Clock::now();
    for (int i = 0; i < 4; ++i)
        runs.push_back(spawn(corral({"--lock", "x", "--", "sleep", "0.3"}), env_));
    for (auto& s : runs)
        EXPECT_EQ(finish(s, t0).code, 0);
    auto recs = read_records(records_);
    ASSERT_EQ(recs.size(), 4u);
    std::vector<std::pair<double, double>> spans;
    for (const auto& r : recs) {
        spans.emplace_back(r["start_unix"].get<double>(), r["end_unix"].get<double>());
        EXPECT_EQ(r["locks"][0], "lock:x");
    }
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i)
        EXPECT_LE(spans[i - 1].second, spans[i].first) << "runs " << i - 1 << " and " << i;
}

TEST_F(Run, SlotsBoundConcurrency) {
    std::vector<Spawned> runs;
    auto t0 = Clock::now();
    for (int i = 0; i < 5; ++i)
        runs.push_back(spawn(corral({"--slots", "vm:2", "--", "sleep", "0.3"}), env_));
    for (auto& s : runs)
        EXPECT_EQ(finish(s, t0).code, 0);
    auto recs = read_records(records_);
    ASSERT_EQ(recs.size(), 5u);
    std::vector<std::pair<double, int>> events;
    std::map<std::string, int> slot_use;
    for (const auto& r : recs) {
        events.emplace_back(r["start_unix"].get<double>(), +1);
        events.emplace_back(r["end_unix"].get<double>(), -1);
        slot_use[r["locks"][0]]++;
    }
    std::sort(events.begin(), events.end());  // an end sorts before a start at the same time
    int now = 0, most = 0;
    for (auto& [when, delta] : events)
        most = std::max(most, now += delta);
    EXPECT_LE(most, 2);
    for (const auto& [slot, n] : slot_use)
        EXPECT_TRUE(slot == "slot:vm.0" || slot == "slot:vm.1") << slot;
}

TEST_F(Run, LockIsReleasedWhenTheHolderIsKilled) {
    auto ready = dir_ / "holding";
    auto t = token();
    // --cgroup off: a SIGKILLed launcher cannot remove its cgroup (the next
    // launcher removes stale ones after a minute); keep this test tidy.
    auto holder = spawn(corral({"--cgroup", "off", "--lock", "x", "--", "sh", "-c",
                                "touch " + ready.string() + "; exec sleep " + t}),
                        env_, false);
    auto t0 = Clock::now();
    while (!fs::exists(ready) && Clock::now() - t0 < std::chrono::seconds(30))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(fs::exists(ready));
    ::kill(holder.pid, SIGKILL);
    int status = 0;
    ::waitpid(holder.pid, &status, 0);
    auto next = run({"--lock", "x", "--", "true"});
    EXPECT_EQ(next.code, 0);
    EXPECT_LT(next.seconds, 20.0) << "the next holder waited for the killed one";
    // PR_SET_PDEATHSIG: the killed launcher's test died with it.
    for (int i = 0; i < 200 && !with_tokens().empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(with_tokens().empty());
}

// Acceptance 12: a symlink out of the scratch dir leaves its target intact.
TEST_F(Run, ScratchCleanupNeverFollowsASymlinkOut) {
    auto outside = dir_ / "outside";
    fs::create_directories(outside / "nested");
    std::ofstream(outside / "keep.txt") << "precious";
    std::ofstream(outside / "nested" / "deep.txt") << "precious";
    auto r = run({"--", "sh", "-c",
                  "ln -s " + outside.string() + " \"$TMPDIR/out\"; mkdir \"$TMPDIR/d\"; ln -s " +
                      (outside / "keep.txt").string() + " \"$TMPDIR/d/f\"; ln -s " +
                      (outside / "nested").string() + " \"$TMPDIR/d/n\""});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(fs::exists(fs::symlink_status(last_record()["scratch_dir"].get<std::string>())));
    EXPECT_EQ(slurp(outside / "keep.txt"), "precious");
    EXPECT_EQ(slurp(outside / "nested" / "deep.txt"), "precious");
}

// A test that replaced its $TMPDIR itself: removed as what it is now, never
// followed, and not "kept" (there is nothing of the test's in it).
TEST_F(Run, AScratchReplacedByASymlinkOrAFileIsRemovedAsIs) {
    auto outside = dir_ / "outside";
    fs::create_directories(outside);
    std::ofstream(outside / "keep.txt") << "precious";
    auto r = run({"--", "sh", "-c",
                  "rmdir \"$TMPDIR\" && ln -s " + outside.string() + " \"$TMPDIR\" && exit 1"});
    EXPECT_EQ(r.code, 1) << r.err;
    auto rec = last_record();
    std::string scratch = rec["scratch_dir"];
    EXPECT_FALSE(fs::exists(fs::symlink_status(scratch))) << "the symlink is left behind";
    EXPECT_EQ(slurp(outside / "keep.txt"), "precious");
    EXPECT_TRUE(fs::exists(outside));
    EXPECT_THAT(r.err, HasSubstr("replaced its scratch directory with a symlink: " + scratch +
                                 "; removed it (not followed)"));
    EXPECT_THAT(r.err, testing::Not(HasSubstr("WARNING")));
    EXPECT_THAT(r.err, testing::Not(HasSubstr("kept the scratch")));
    EXPECT_FALSE(rec["scratch_kept"]);

    r = run({"--keep-scratch", "always", "--", "sh", "-c",
             "rmdir \"$TMPDIR\" && echo x > \"$TMPDIR\""});
    EXPECT_EQ(r.code, 0) << r.err;
    rec = last_record();
    EXPECT_FALSE(fs::exists(fs::symlink_status(rec["scratch_dir"].get<std::string>())));
    EXPECT_THAT(r.err, HasSubstr("replaced its scratch directory with a file"));
    EXPECT_FALSE(rec["scratch_kept"]);
}

// A command that never ran left no evidence: no scratch is kept, whatever
// --keep-scratch says.
TEST_F(Run, ACommandThatNeverRanKeepsNoScratchEvenWithKeepAlways) {
    auto r = run({"--keep-scratch", "always", "--", (dir_ / "no-such-program").string()});
    EXPECT_EQ(r.code, 127) << r.err;
    auto rec = last_record();
    EXPECT_FALSE(rec["scratch_kept"]);
    EXPECT_FALSE(fs::exists(fs::symlink_status(rec["scratch_dir"].get<std::string>())));
    EXPECT_THAT(r.err, testing::Not(HasSubstr("kept the scratch")));
    // Nothing of the test ran: no memory of its own, not the launcher's size.
    EXPECT_EQ(rec["peak_memory_bytes"], 0);
    EXPECT_TRUE(rec["peak_nonreclaimable_bytes"].is_null()) << rec.dump();
}

// A test that removed its own $TMPDIR: nothing to keep and nothing to warn
// about (before: "open: No such file or directory" and "kept" a directory
// that did not exist, scratch_kept true).
TEST_F(Run, AScratchTheTestRemovedIsNeitherKeptNorAnError) {
    auto r = run({"--", "sh", "-c", "rm -rf \"$TMPDIR\"; exit 1"});
    EXPECT_EQ(r.code, 1) << r.err;
    auto rec = last_record();
    EXPECT_FALSE(rec["scratch_kept"]);
    EXPECT_THAT(r.err, HasSubstr("the test removed its scratch directory itself"));
    EXPECT_THAT(r.err, testing::Not(HasSubstr("WARNING")));
    EXPECT_THAT(r.err, testing::Not(HasSubstr("kept the scratch")));
    r = run({"--keep-scratch", "failed", "--", "sh", "-c", "rm -rf \"$TMPDIR\""});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "") << "a passing test that removed its scratch is said nothing of";
}

// Acceptance 13: 200 tests, 8 at a time, 200 well-formed lines.
TEST_F(Run, RecordsFromManyConcurrentRunsAreWellFormed) {
    std::vector<Spawned> running;
    int started = 0, failures = 0;
    auto t0 = Clock::now();
    while (started < 200 || !running.empty()) {
        while (started < 200 && running.size() < 8) {
            running.push_back(spawn(corral({"--name", corral::cat({"t", std::to_string(started)}),
                                            "--", "sh", "-c", "echo $CORRAL_TEST_ID"}),
                                    env_, false));
            ++started;
        }
        int status = 0;
        pid_t done = ::waitpid(-1, &status, 0);
        auto it = std::find_if(running.begin(), running.end(),
                               [&](const Spawned& s) { return s.pid == done; });
        if (it == running.end()) continue;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
        running.erase(it);
    }
    EXPECT_EQ(failures, 0);
    std::ifstream in(records_);
    std::string line;
    std::set<std::string> names, ids;
    int lines = 0;
    while (std::getline(in, line)) {
        ++lines;
        auto j = nlohmann::json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "line " << lines << ": " << line;
        names.insert(j["name"].get<std::string>());
        ids.insert(j["test_id"].get<std::string>());
        EXPECT_EQ(j["exit_code"], 0);
    }
    EXPECT_EQ(lines, 200);
    EXPECT_EQ(names.size(), 200u);
    EXPECT_EQ(ids.size(), 200u);
    std::cout << "200 runs, 8 at a time: "
              << std::chrono::duration<double>(Clock::now() - t0).count() << " s\n";
}

TEST_F(Run, CgroupGivesTheTruePeakMemory) {
    auto r = run({"--cgroup", "require", "--", TOUCH_MEMORY_EXE, "64"});
    if (r.code == 125 && r.err.find("cgroup") != std::string::npos)
        GTEST_SKIP() << "no writable cgroup hierarchy here: " << r.err;
    ASSERT_EQ(r.code, 0) << r.err;
    auto rec = last_record();
    EXPECT_THAT(rec["peak_memory_source"].get<std::string>(), HasSubstr("cgroup"));
    EXPECT_GE(rec["peak_memory_bytes"].get<uint64_t>(), 64ull << 20);
    EXPECT_LT(rec["peak_memory_bytes"].get<uint64_t>(), 1ull << 30);
    std::string cg = rec["cgroup"];
    EXPECT_FALSE(cg.empty());
    EXPECT_FALSE(fs::exists(cg)) << "the per-test cgroup was not removed";

    auto plain = run({"--cgroup", "off", "--", TOUCH_MEMORY_EXE, "64"});
    EXPECT_EQ(last_record()["peak_memory_source"], "ru_maxrss");
    EXPECT_GE(last_record()["peak_memory_bytes"].get<uint64_t>(), 64ull << 20);
}

TEST_F(Run, MemoryLimitIsEnforced) {
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    while (std::getline(meminfo, line))
        if (line.rfind("SwapTotal:", 0) == 0 && line.find(" 0 kB") == std::string::npos)
            GTEST_SKIP() << "swap is on (" << line << "): a limited test would swap, not die";
    auto r = run({"--cgroup", "require", "--memory-limit", "32M", "--", TOUCH_MEMORY_EXE, "128"});
    if (r.code == 125 && r.err.find("cgroup") != std::string::npos)
        GTEST_SKIP() << "no writable cgroup hierarchy with memory here: " << r.err;
    EXPECT_EQ(r.code, 128 + SIGKILL) << r.err;
    auto rec = last_record();
    EXPECT_TRUE(rec["oom_killed"]);
    EXPECT_EQ(rec["memory_limit_bytes"], 32ull << 20);
    EXPECT_THAT(r.err, HasSubstr("OOM"));
}

TEST_F(Run, HostWideLocksUseThePrivateRuntimeDir) {
    run({"--lock", "pkgcache", "--slots", "vm:3", "--", "true"});
    EXPECT_TRUE(fs::exists(dir_ / "runtime" / "lock.pkgcache"));
    EXPECT_TRUE(fs::exists(dir_ / "runtime" / "slot.vm.0"));
    auto rec = last_record();
    ASSERT_EQ(rec["locks"].size(), 2u);
    EXPECT_EQ(rec["locks"][0], "lock:pkgcache");
}

// What CMake's coverage of every test relies on (docs/cmake.md, "Every test of
// the project"): the command word found as ctest finds it, the test's own
// timeout from the environment, and the record's working directory.
TEST_F(Run, ResolvesTheCommandAsCtestDoesAndRecordsTheWorkingDirectory) {
    fs::create_directories(dir_ / "work" / "Debug");
    {
        std::ofstream script(dir_ / "work" / "tool.sh");
        script << "#!/bin/sh\necho \"tool in $(pwd) says $1\"\n";
    }
    fs::permissions(dir_ / "work" / "tool.sh", fs::perms::owner_all);
    fs::copy_file(dir_ / "work" / "tool.sh", dir_ / "work" / "Debug" / "only-debug.sh");
    auto in_work = [&](std::vector<std::string> args) {
        std::vector<std::string> v = {"sh", "-c", "cd \"$0\" && exec \"$@\"",
                                      (dir_ / "work").string()};
        auto c = corral(std::move(args));
        v.insert(v.end(), c.begin(), c.end());
        return finish(spawn(v, env_), Clock::now());
    };
    // Not on PATH, no slash: ctest finds it in the working directory; execvp would not.
    auto plain = in_work({"--name", "plain", "--", "tool.sh", "x"});
    EXPECT_EQ(plain.code, 127) << plain.err;
    auto r = in_work({"--name", "resolved", "--ctest-resolve", "--", "tool.sh", "x"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("says x"));
    auto rec = last_record();
    EXPECT_EQ(rec["name"], "resolved");
    EXPECT_EQ(rec["working_directory"], (dir_ / "work").string());
    EXPECT_EQ(rec["command"][0], (dir_ / "work" / "tool.sh").string());
    // A configuration subdirectory, as ctest -C Debug looks there.
    auto debug =
        in_work({"--ctest-resolve", "--ctest-config", "Debug", "--", "only-debug.sh", "y"});
    EXPECT_EQ(debug.code, 0) << debug.err;
    EXPECT_THAT(debug.out, HasSubstr("says y"));
    // A bare name ctest finds on PATH stays a PATH lookup.
    auto path = in_work({"--ctest-resolve", "--", "true"});
    EXPECT_EQ(path.code, 0) << path.err;

    // --timeout-env: the environment's timeout wins over --timeout.
    std::string t = token();
    auto timed = run({"--timeout", "600", "--timeout-env", "MY_TIMEOUT", "--", "sleep", t},
                     {{"MY_TIMEOUT", "1"}});
    EXPECT_EQ(timed.code, 124) << timed.err;
    EXPECT_EQ(last_record()["timeout_seconds"], 1.0);
    auto bad = run({"--timeout-env", "MY_TIMEOUT", "--", "true"}, {{"MY_TIMEOUT", "soon"}});
    EXPECT_EQ(bad.code, 125);
    EXPECT_THAT(bad.err, HasSubstr("$MY_TIMEOUT 'soon'"));
}

// docs/exit-codes.md: a value on the command line that cannot be used is
// exit 2 for every option of every command, with a message naming the
// option, the value and what was expected; and nothing runs (no record).
// Values taken from the environment stay the launcher's failure (125).
TEST_F(Run, RunOptionValues) {
    struct Row {
        std::vector<std::string> args;  // after `corral`
        std::string expected;           // a piece of the message besides option and value
    };
    const std::string scope = (dir_ / "scope").string();
    const std::string out = (dir_ / "shards").string();
    const std::vector<Row> rows = {
        {{"run", "--timeout", "abc"}, "seconds above 0"},
        {{"run", "--timeout", "-5"}, "seconds above 0"},
        {{"run", "--timeout", "0"}, "seconds above 0"},
        {{"run", "--timeout-multiplier", "0"}, "above 0"},
        {{"run", "--timeout-multiplier", "x"}, "above 0"},
        {{"run", "--grace", "-1"}, "0 to 3600"},
        {{"run", "--grace", "soon"}, "0 to 3600"},
        {{"run", "--leak-window", "-1"}, "0 to 600000"},
        {{"run", "--keep-scratch-count", "-1"}, "0 to 100000"},
        {{"run", "--keep-scratch-size", "zz"}, "such as 512M"},
        {{"run", "--memory-limit", "lots"}, "such as 512M"},
        {{"run", "--memory-limit", "1K"}, "at least 4K"},
        {{"run", "--lock", "a/b"}, "1 to 100 of"},
        {{"run", "--slots", "vm:0"}, "1 to 4096"},
        {{"run", "--leak", "sometimes"}, "fail,warn,ignore"},
        // Empty paths: the records one ran the test, then exited 125.
        {{"run", "--scratch-root", ""}, "expected a path, got an empty string"},
        // The range as the help shows it (CLI::Range printed "0.000000 to 3600"
        // and "Value abc not in range").
        {{"reap", "--scope", scope, "--grace", "-1"}, "expected a number from 0 to 3600"},
        {{"reap", "--scope", scope, "--max-rounds", "0"},
         "expected a whole number from 1 to 10000"},
        {{"report", "--records", records_.string(), "--top", "abc"},
         "expected a whole number from 0 to 1000"},
        {{"shard", "--out", out, "--shards", "0"}, "expected a whole number from 1 to 1000"},
        {{"ci", "--github", "--shards", "abc"}, "expected a whole number from 1 to 256"},
        {{"profile", "--records", records_.string(), "--over-factor", "nan"},
         "expected a number from 1 to 1000"},
    };
    for (const auto& row : rows) {
        std::vector<std::string> argv = {CORRAL_EXE};
        argv.insert(argv.end(), row.args.begin(), row.args.end());
        const std::string t = token();
        if (row.args[0] == "run")
            argv.insert(argv.end(), {"--records", records_.string(), "--", "sleep", t});
        auto r = finish(spawn(argv, env_), Clock::now());
        const std::string& option = row.args[row.args.size() - 2];
        const std::string& value = row.args.back();
        SCOPED_TRACE(row.args[0] + " " + option + " " + value);
        EXPECT_EQ(r.code, 2) << r.err;
        EXPECT_THAT(r.err, HasSubstr(option));
        EXPECT_THAT(r.err, HasSubstr(value));
        EXPECT_THAT(r.err, HasSubstr(row.expected));
    }
    EXPECT_FALSE(fs::exists(records_)) << "a bad command line runs nothing";

    // From the environment: the command line was right, the launcher failed.
    auto env_limit = run({"--memory-limit-env", "MY_LIMIT", "--", "true"}, {{"MY_LIMIT", "lots"}});
    EXPECT_EQ(env_limit.code, 125) << env_limit.err;
    EXPECT_THAT(env_limit.err, HasSubstr("$MY_LIMIT"));
}

// A leaked tree larger than the descriptors the launcher has (one pidfd per
// process): every process is still ended and listed. Before, a pidfd that
// could not be opened (EMFILE) was taken for a process already gone.
TEST_F(Run, MoreLeakedProcessesThanFreeDescriptorsAreAllEnded) {
    const std::string t = token();
    constexpr int kLeaked = 200;
    auto argv = corral({"--json", "--leak", "warn", "--grace", "1", "--", "sh", "-c",
                        "for i in $(seq " + std::to_string(kLeaked) + "); do sleep " + t +
                            " >/dev/null 2>&1 & done"});
    auto r = finish(spawn(argv, env_, true,
                          [] {
                              struct rlimit rl {
                                  24, 24
                              };
                              ::setrlimit(RLIMIT_NOFILE, &rl);
                          }),
                    Clock::now());
    EXPECT_EQ(r.code, 0) << r.err;
    auto rec = nlohmann::json::parse(r.out.empty() ? "{}" : r.out);
    EXPECT_EQ(rec["leaked"].size(), static_cast<size_t>(kLeaked)) << r.err;
    EXPECT_TRUE(with_tokens().empty())
        << with_tokens().size() << " leaked processes outlived the launcher";
}

// `corral run` registers only the options its command line names (CLI11's
// setup of all 22 was a tenth of a launch): --help still lists every one, a
// name none of them has is still rejected when it stands among known ones,
// and the forms CLI11 takes (--opt=value, repeats) still parse.
TEST_F(Run, OnlyTheNamedOptionsAreSetUpAndTheRestStillBehaves) {
    auto help = finish(spawn({CORRAL_EXE, "run", "--help"}, env_), Clock::now());
    EXPECT_EQ(help.code, 0);
    for (const char* name : {"--name",
                             "--timeout",
                             "--timeout-env",
                             "--locks-env",
                             "--ctest-resolve",
                             "--ctest-config",
                             "--grace",
                             "--timeout-multiplier",
                             "--scratch-root",
                             "--plan",
                             "--records",
                             "--lock",
                             "--slots",
                             "--leak",
                             "--leak-window",
                             "--cgroup",
                             "--memory-limit",
                             "--memory-limit-env",
                             "--keep-scratch",
                             "--keep-scratch-count",
                             "--keep-scratch-size",
                             "--json"})
        EXPECT_THAT(help.out, HasSubstr(std::string(name) + " ")) << name;
    EXPECT_THAT(help.out, HasSubstr("--leak TEXT:{fail,warn,ignore}=warn"));

    auto unknown = run({"--name", "x", "--bogus", "--", "true"});
    EXPECT_EQ(unknown.code, 2);
    EXPECT_THAT(unknown.err, HasSubstr("--bogus"));
    EXPECT_FALSE(fs::exists(records_)) << "a bad command line runs nothing";

    // A value that is "--" itself, and an option after it.
    auto dash = run({"--name", "--", "--json", "--", "true"});
    EXPECT_EQ(dash.code, 0) << dash.err;
    EXPECT_EQ(nlohmann::json::parse(dash.out.empty() ? "{}" : dash.out)["name"], "--");

    auto r = run({"--name=forms", "--lock", "a", "--lock=b", "--leak=ignore", "--json", "--", "sh",
                  "-c", "exit 3"});
    EXPECT_EQ(r.code, 3) << r.err;
    auto rec = nlohmann::json::parse(r.out);
    EXPECT_EQ(rec["name"], "forms");
    EXPECT_EQ(rec["locks"], nlohmann::json::array({"lock:a", "lock:b"}));
    EXPECT_EQ(rec["exit_code"], 3);
}

}  // namespace

// --- issue 10: the launcher is invisible and leaves nothing ------------------

// Item 1: the scratch directory has the mode of the root it stands in for, so a
// harness that, as root, hands a directory under $TMPDIR to an unprivileged
// user works as it does under a plain /tmp.
TEST_F(Run, AnUnprivilegedUserCanUseTheScratchAsUnderAPlainTmp) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand a directory to 'nobody'";
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
    auto root = dir_ / "tmp";
    fs::create_directories(root);
    ::chmod(root.c_str(), 01777);  // as /tmp
    std::string harness =
        "set -e; w=\"$TMPDIR/work\"; mkdir \"$w\"; chown nobody \"$w\"; "
        "setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "
        "'echo data > \"$0/file\" && cat \"$0/file\"' \"$w\"";
    auto plain = finish(spawn({"sh", "-c", harness}, {{"TMPDIR", root.string()}}), Clock::now());
    ASSERT_EQ(plain.code, 0) << "the harness fails even without corral: " << plain.err;
    auto under = [&](const std::string& script) {
        return finish(
            spawn({CORRAL_EXE, "run", "--scratch-root", root.string(), "--", "sh", "-c", script},
                  env_),
            Clock::now());
    };
    auto r = under(harness);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, plain.out);

    // The mode follows the root (not the umask), whatever it is.
    ::chmod(root.c_str(), 0750);
    auto in_scratch = under("umask 077; stat -c %a \"$TMPDIR\"");
    EXPECT_EQ(in_scratch.out, "750\n") << in_scratch.err;
}

// A launch whose test never ran (here: no cgroup for --cgroup require as
// 'nobody') keeps no scratch, even with --keep-scratch always: it is no
// evidence, and a kept one would push a real one out of the bound. Before,
// a failure before the clone kept it as a failed test's.
TEST_F(Run, ALaunchThatFailedBeforeItsTestRanKeepsNoScratch) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the launcher as 'nobody'";
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
    auto root = dir_ / "nobody-tmp";
    auto runtime = dir_ / "nobody-runtime";
    fs::create_directories(root);
    fs::create_directories(runtime);
    ::chmod(root.c_str(), 01777);
    ASSERT_EQ(::chown(runtime.c_str(), 65534, 65534), 0);
    ::chmod(runtime.c_str(), 0700);
    auto r = finish(spawn({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           CORRAL_EXE, "run", "--cgroup", "require", "--keep-scratch", "always",
                           "--scratch-root", root.string(), "--", "true"},
                          {{"CORRAL_RUNTIME_DIR", runtime.string()}}),
                    Clock::now());
    if (r.code == 0) GTEST_SKIP() << "'nobody' can make a cgroup here: the test runs";
    EXPECT_EQ(r.code, 125) << r.err;
    EXPECT_THAT(r.err, testing::Not(HasSubstr("kept the scratch"))) << r.err;
    for (const auto& e : fs::directory_iterator(root))
        EXPECT_NE(e.path().filename().string().rfind("c-", 0), 0u) << "left: " << e.path();
}

// A launcher under a small stack limit (`ulimit -s 48`) runs its test: the
// test's clone gets a stack mapped for it there, not a 48 KiB frame of the
// launcher's own stack, which crossed the limit and crashed every launch
// (SIGSEGV, exit 139 as if the test had crashed, its scratch left behind).
TEST_F(Run, ASmallStackLimitStillLaunchesTheTest) {
    auto root = dir_ / "small-stack";
    fs::create_directories(root);
    for (int i = 0; i < 3; ++i) {
        auto r = finish(
            spawn({"sh", "-c", "ulimit -s 48 && exec \"$0\" run --scratch-root \"$1\" -- echo ran",
                   CORRAL_EXE, root.string()},
                  {}),
            Clock::now());
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "ran\n");
    }
    for (const auto& e : fs::directory_iterator(root))
        EXPECT_NE(e.path().filename().string().rfind("c-", 0), 0u) << "left: " << e.path();
}

// A child process started with a given world (umask, cwd, stdin, ignored and
// blocked signals, a resource limit), running `args`; returns its output.
Result run_in_world(const std::vector<std::string>& args, const fs::path& cwd,
                    const fs::path& stdin_file, const std::map<std::string, std::string>& env) {
    auto t0 = Clock::now();
    auto s = spawn(args, env, true, [&] {
        int in = ::open(stdin_file.c_str(), O_RDONLY);
        ::dup2(in, 0);
        ::umask(027);
        if (::chdir(cwd.c_str()) != 0) ::_exit(120);
        ::signal(SIGUSR2, SIG_IGN);
        ::signal(SIGPIPE, SIG_DFL);
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGUSR1);
        ::sigprocmask(SIG_SETMASK, &block, nullptr);
        struct rlimit lim {};
        ::getrlimit(RLIMIT_NOFILE, &lim);
        lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 777);
        ::setrlimit(RLIMIT_NOFILE, &lim);
        ::getrlimit(RLIMIT_CORE, &lim);
        lim.rlim_cur = 0;
        ::setrlimit(RLIMIT_CORE, &lim);
    });
    return finish(s, t0);
}

// Item 1: umask, working directory, stdin, signal dispositions and mask,
// resource limits and session are the test's as without the launcher (only
// the process group differs, by design; the environment only gains TMPDIR & co).
TEST_F(Run, TheTestsWorldIsTheSameAsWithoutTheLauncher) {
    std::ofstream(dir_ / "stdin.txt") << "line from stdin\n";
    fs::create_directories(dir_ / "cwd");
    std::string probe =
        "umask; pwd; read line; echo \"stdin: $line\"; cat /proc/self/limits; "
        "grep -E '^(SigBlk|SigIgn)' /proc/self/status; "
        "echo \"session: $(cut -d' ' -f6 /proc/self/stat)\"; "
        "env | grep -vE '^(TMPDIR|TMP|TEMP|CORRAL_[A-Z_]*|_)=' | sort";
    auto plain = run_in_world({"sh", "-c", probe}, dir_ / "cwd", dir_ / "stdin.txt", env_);
    ASSERT_EQ(plain.code, 0) << plain.err;
    EXPECT_THAT(plain.out, HasSubstr("stdin: line from stdin"));
    auto wrapped =
        run_in_world(corral({"--", "sh", "-c", probe}), dir_ / "cwd", dir_ / "stdin.txt", env_);
    ASSERT_EQ(wrapped.code, 0) << wrapped.err;
    EXPECT_EQ(wrapped.out, plain.out);
}

// Item 1: a test that drops privileges and runs in its $TMPDIR.
TEST_F(Run, APrivilegeDroppingTestPassesAsWithoutTheLauncher) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
    std::string test =
        "exec setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "
        "'cd \"$TMPDIR\" && mkdir mine && echo ok > mine/f && cat mine/f && id -un'";
    // A fresh world-writable sticky directory stands in for /tmp (so the plain run
    // leaves nothing in the real /tmp), for both runs.
    char tmpl[] = "/tmp/corral-world-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string world = tmpl;
    ASSERT_EQ(::chmod(world.c_str(), 01777), 0);
    auto plain = finish(spawn({"sh", "-c", test}, {{"TMPDIR", world}}), Clock::now());
    fs::remove_all(world + "/mine");
    auto r =
        finish(spawn({CORRAL_EXE, "run", "--records", records_.string(), "--", "sh", "-c", test},
                     {{"CORRAL_RUNTIME_DIR", (dir_ / "runtime").string()}, {"TMPDIR", world}}),
               Clock::now());
    std::error_code ec;
    fs::remove_all(world, ec);
    ASSERT_EQ(plain.code, 0) << plain.err;
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, plain.out);
    EXPECT_FALSE(fs::exists(last_record()["scratch_dir"].get<std::string>()));
}

// --- item 2: a real pseudo-terminal --------------------------------------------

// A session on a new pty. With `job_shell`, the session leader acts as a tiny
// job-control shell: it starts `args` as its own foreground job, and when the
// job stops prints "[shell] stopped", takes the terminal, then puts the job
// back in the foreground (fg) and prints "[shell] exit N" at the end.
struct Pty {
    pid_t pid = -1;
    int master = -1;
    std::string out;

    void start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
               bool job_shell) {
        pid = ::forkpty(&master, nullptr, nullptr, nullptr);
        if (pid < 0) std::abort();
        if (pid != 0) return;
        for (const auto& [k, v] : env)
            ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> argv;
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        if (!job_shell) {
            ::execvp(argv[0], argv.data());
            ::_exit(127);
        }
        ::signal(SIGTTOU, SIG_IGN);
        pid_t job = ::fork();
        if (job == 0) {
            ::setpgid(0, 0);
            ::tcsetpgrp(0, ::getpid());
            ::signal(SIGTTOU, SIG_DFL);
            ::execvp(argv[0], argv.data());
            ::_exit(127);
        }
        ::setpgid(job, job);
        ::tcsetpgrp(0, job);
        for (;;) {
            int status = 0;
            if (::waitpid(job, &status, WUNTRACED) != job) ::_exit(120);
            if (WIFSTOPPED(status)) {
                ::tcsetpgrp(0, ::getpgrp());
                std::string line = "[shell] stopped\n";
                (void)!::write(1, line.data(), line.size());
                ::tcsetpgrp(0, job);
                ::kill(-job, SIGCONT);
                continue;
            }
            std::string line =
                "[shell] exit " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                "\n";
            (void)!::write(1, line.data(), line.size());
            ::_exit(0);
        }
    }

    // Reads until `text` shows (true) or the session ends (false).
    bool read_until(const std::string& text) {
        while (out.find(text) == std::string::npos) {
            char buf[4096];
            ssize_t n = ::read(master, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;  // EIO: the slave side is closed
            out.append(buf, static_cast<size_t>(n));
        }
        return true;
    }

    void type(const std::string& keys) { (void)!::write(master, keys.data(), keys.size()); }

    int wait() {
        read_until("\x01never\x01");
        int status = 0;
        ::waitpid(pid, &status, 0);
        ::close(master);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
};

// Item 2: from a terminal the test reads it (without the fix it is stopped by
// SIGTTIN; --timeout keeps the failure from hanging the suite).
TEST_F(Run, FromATerminalTheTestReadsIt) {
    Pty pty;
    pty.start(corral({"--timeout", "60", "--", "sh", "-c", "echo ready; read x; echo \"got:$x\""}),
              env_, false);
    ASSERT_TRUE(pty.read_until("ready")) << pty.out;
    pty.type("hello\n");
    EXPECT_TRUE(pty.read_until("got:hello")) << pty.out;
    EXPECT_EQ(pty.wait(), 0) << pty.out;
    EXPECT_FALSE(last_record()["timed_out"].get<bool>());
}

// Item 2: Ctrl-C reaches the test, which ends as it would without corral.
TEST_F(Run, FromATerminalCtrlCEndsTheTest) {
    Pty pty;
    auto t = token();
    pty.start(corral({"--timeout", "60", "--", "sh", "-c", "echo ready; exec sleep " + t}), env_,
              true);
    ASSERT_TRUE(pty.read_until("ready")) << pty.out;
    ASSERT_TRUE(eventually([&] { return !with_tokens().empty(); }));
    pty.type("\x03");  // VINTR
    EXPECT_TRUE(pty.read_until("[shell] exit 130")) << pty.out;
    pty.wait();
    EXPECT_EQ(last_record()["signal"], SIGINT);
    EXPECT_FALSE(last_record()["timed_out"].get<bool>());
}

// Item 2: Ctrl-Z stops the test and the launcher's job as a shell expects; `fg`
// continues both, with the terminal back in the test's hands.
TEST_F(Run, FromATerminalCtrlZStopsTheJobAndFgContinuesIt) {
    Pty pty;
    pty.start(corral({"--timeout", "60", "--", "sh", "-c",
                      "echo ready; read x; echo \"got:$x\"; read y; echo \"got:$y\""}),
              env_, true);
    ASSERT_TRUE(pty.read_until("ready")) << pty.out;
    pty.type("one\n");
    ASSERT_TRUE(pty.read_until("got:one")) << pty.out;
    pty.type("\x1a");  // VSUSP
    EXPECT_TRUE(pty.read_until("[shell] stopped")) << pty.out;
    pty.type("two\n");
    EXPECT_TRUE(pty.read_until("got:two")) << pty.out;
    EXPECT_TRUE(pty.read_until("[shell] exit 0")) << pty.out;
    pty.wait();
}

// --- item 3: nothing outlives the launcher ---------------------------------------

// What is left under a scratch root but its retired pool (emptied directories
// a later launch removes: runtime/scratch_retire.hpp).
std::vector<std::string> scratch_entries(const fs::path& root) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(root))
        if (e.path().filename().string().rfind(".corral-", 0) != 0)  // the pools
            out.push_back(e.path().string());
    return out;
}

// The launcher's parent dies (SIGKILL, as to ctest) and its stderr is closed:
// the launcher ends the test's tree, writes its record and removes its scratch.
TEST_F(Run, WhenItsParentDiesTheTreeEndsWithARecordAndNoScratch) {
    auto a = token(), b = token();
    // sh is the launcher's parent; its exit code is never reached.
    std::vector<std::string> args = {"sh", "-c", "\"$@\"; echo unreachable", "sh"};
    for (const auto& w : corral({"--", "sh", "-c", "sleep " + a + " & sleep " + b}))
        args.push_back(w);
    auto s = spawn(args, env_);
    ASSERT_TRUE(eventually([&] { return with_tokens().size() == 2; }));
    ::close(s.out_fd);  // the launcher's stdout and stderr now lead nowhere (EPIPE)
    ::close(s.err_fd);
    ::kill(s.pid, SIGKILL);
    int status = 0;
    ::waitpid(s.pid, &status, 0);
    EXPECT_TRUE(eventually([&] { return fs::exists(records_) && !last_record().empty(); }));
    EXPECT_TRUE(eventually([&] { return with_tokens().empty(); }));
    auto rec = last_record();
    EXPECT_TRUE(rec.value("parent_died", false)) << rec.dump();
    EXPECT_FALSE(rec["scratch_kept"].get<bool>());
    EXPECT_TRUE(scratch_entries(dir_ / "scratch").empty());
}

// Acceptance: ctest running two long tests (each with a child) gets SIGTERM:
// nothing of theirs stays alive, both have records, no scratch remains.
TEST_F(Run, CtestStoppedWithSigtermLeavesNothing) {
    auto proj = dir_ / "proj";
    fs::create_directories(proj);
    std::vector<std::string> t = {token(), token(), token(), token()};
    std::ofstream cml(proj / "CMakeLists.txt");
    cml << "cmake_minimum_required(VERSION 3.16)\nproject(long NONE)\nenable_testing()\n";
    for (int i = 0; i < 2; ++i)
        cml << "add_test(NAME long" << i << " COMMAND " << CORRAL_EXE << " run --scratch-root "
            << (dir_ / "scratch").string() << " --records " << records_.string()
            << " -- sh -c \"sleep " << t[2 * i] << " & sleep " << t[2 * i + 1] << "\")\n";
    cml.close();
    auto cfg = finish(spawn({CMAKE_EXE, "-S", proj.string(), "-B", (proj / "b").string()}, env_),
                      Clock::now());
    ASSERT_EQ(cfg.code, 0) << cfg.out << cfg.err;
    auto s = spawn({CTEST_EXE, "--test-dir", (proj / "b").string(), "-j2"}, env_);
    ASSERT_TRUE(eventually([&] { return with_tokens().size() == 4; }));
    ::kill(s.pid, SIGTERM);
    auto r = finish(s, Clock::now());
    EXPECT_TRUE(eventually([&] { return with_tokens().empty(); }));
    EXPECT_TRUE(eventually([&] { return read_records(records_).size() == 2; }));
    EXPECT_TRUE(eventually([&] { return scratch_entries(dir_ / "scratch").empty(); }));
    for (const auto& rec : read_records(records_))
        EXPECT_TRUE(rec.value("parent_died", false)) << rec.dump();
}

// CTest's own TIMEOUT kills the launcher's whole tree outright (kwsys: SIGSTOP
// + SIGKILL): the scratch it leaves is swept by the next run, with any process
// of that test that escaped.
TEST_F(Run, ScratchOfALauncherKilledOutrightIsSweptByTheNextRun) {
    auto a = token(), b = token();
    auto s = spawn(corral({"--", "sh", "-c", "setsid sleep " + a + " & exec sleep " + b}), env_);
    ASSERT_TRUE(eventually([&] { return with_tokens().size() == 2; }));
    ASSERT_EQ(scratch_entries(dir_ / "scratch").size(), 1u);
    ::kill(s.pid, SIGKILL);
    ::close(s.out_fd);  // the escaped daemon holds the pipes: do not wait for EOF
    ::close(s.err_fd);
    int status = 0;
    ::waitpid(s.pid, &status, 0);
    // The main process dies with it (PR_SET_PDEATHSIG); the setsid one escaped.
    ASSERT_TRUE(eventually([&] { return with_tokens().size() == 1; }));
    ASSERT_EQ(scratch_entries(dir_ / "scratch").size(), 1u);
    auto next = run({"--", "true"});
    EXPECT_EQ(next.code, 0) << next.err;
    EXPECT_THAT(next.err, HasSubstr("killed outright"));
    EXPECT_TRUE(scratch_entries(dir_ / "scratch").empty());
    EXPECT_TRUE(with_tokens().empty());
}

// A launcher in another PID namespace (a container sharing the runtime
// directory) is alive, whatever this namespace's process of its pid is: the
// next run here leaves its test and scratch alone. Before, its entry (pid 1
// there) was judged by pid 1 here, its test ended and its scratch removed.
TEST_F(Run, ALauncherInAnotherPidNamespaceIsNotTakenForKilled) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a PID namespace (unshare --pid)";
    auto a = token();
    std::vector<std::string> args = {"unshare", "--pid", "--fork", "--mount-proc"};
    for (const auto& w : corral({"--", "sleep", a}))
        args.push_back(w);
    auto s = spawn(args, env_);
    // unshare, the launcher and the test: the token is in each one's argv.
    ASSERT_TRUE(eventually([&] { return with_tokens().size() == 3; }));
    ASSERT_TRUE(eventually([&] { return scratch_entries(dir_ / "scratch").size() == 1; }));
    auto next = run({"--", "true"});
    EXPECT_EQ(next.code, 0) << next.err;
    EXPECT_THAT(next.err, testing::Not(HasSubstr("killed outright")));
    EXPECT_EQ(with_tokens().size(), 3u) << "the other namespace's test was ended";
    EXPECT_EQ(scratch_entries(dir_ / "scratch").size(), 1u) << "its scratch was removed";
    for (pid_t p : with_tokens())
        ::kill(p, SIGKILL);
    finish(s, Clock::now());
}

// The same when the killed launcher's test had replaced its $TMPDIR with a
// symlink: the link is removed as itself (its target untouched) and said.
// Before, the entry was consumed and the link left behind without a word.
TEST_F(Run, AScratchReplacedByASymlinkIsSweptAfterItsLauncherWasKilled) {
    auto b = token();
    fs::create_directories(dir_ / "victim");
    std::ofstream(dir_ / "victim" / "keep.txt") << "must survive";
    auto s = spawn(corral({"--", "sh", "-c",
                           "rmdir \"$TMPDIR\" && ln -s " + (dir_ / "victim").string() +
                               " \"$TMPDIR\" && exec sleep " + b}),
                   env_);
    ASSERT_TRUE(eventually([&] {
        auto e = scratch_entries(dir_ / "scratch");
        return with_tokens().size() == 1 && e.size() == 1 && fs::is_symlink(e[0]);
    }));
    ::kill(s.pid, SIGKILL);
    finish(s, Clock::now());
    ASSERT_TRUE(eventually([&] { return with_tokens().empty(); }));
    auto next = run({"--", "true"});
    EXPECT_EQ(next.code, 0) << next.err;
    EXPECT_THAT(next.err, HasSubstr("removed the scratch path (a symlink, not followed)"));
    EXPECT_TRUE(scratch_entries(dir_ / "scratch").empty());
    EXPECT_TRUE(fs::exists(dir_ / "victim" / "keep.txt"));
}

// A relative $CORRAL_RUNTIME_DIR would give two launchers in two directories
// two "host-wide" lock sets: refused, as a bad value from the environment.
TEST_F(Run, ARelativeRuntimeDirectoryIsRefused) {
    auto env = env_;
    env["CORRAL_RUNTIME_DIR"] = "relative/rt";
    auto r = finish(spawn(corral({"--", "true"}), env), Clock::now());
    EXPECT_EQ(r.code, 125) << r.err;
    EXPECT_THAT(r.err, HasSubstr("CORRAL_RUNTIME_DIR='relative/rt': must be an absolute path"));
}

// --json to an stdout that cannot take it: the launcher failed (125), and the
// record says so. Before, the record said launcher_exit_code 0 and the
// launcher exited 1, the same as a test of its own failing.
TEST_F(Run, AJsonLineThatCannotBeWrittenIs125InTheExitAndTheRecord) {
    auto r = finish(
        spawn({"sh", "-c",
               std::string(CORRAL_EXE) + " run --json --records " + records_.string() +
                   " --scratch-root " + (dir_ / "scratch").string() + " -- true > /dev/full"},
              env_),
        Clock::now());
    EXPECT_EQ(r.code, 125) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cannot write the --json record"));
    EXPECT_THAT(r.err, testing::Not(HasSubstr("corral: cannot write to standard output")))
        << "said once, by the launcher";
    EXPECT_EQ(last_record()["launcher_exit_code"], 125);
    EXPECT_EQ(last_record()["exit_code"], 0);
}

// A tiny descriptor limit around the launcher: a soft one is raised for the
// launcher and given back to the test; a hard one below what the launcher
// needs is refused (125) with the way out, before anything runs. Before, the
// launcher ran out of descriptors (EMFILE), its timeout found no process to
// end and it waited for the test forever.
TEST_F(Run, ALowDescriptorLimitDoesNotBlindTheLauncher) {
    auto a = token(), b = token();
    auto launch = [&](const std::string& ulimit) {
        return finish(
            spawn({"sh", "-c",
                   ulimit + "; exec " + std::string(CORRAL_EXE) + " run --records " +
                       records_.string() + " --scratch-root " + (dir_ / "scratch").string() +
                       " --keep-scratch never --grace 1 --timeout 1 -- sh -c 'ulimit "
                       "-n; sleep " +
                       a + " & exec sleep " + b + "'"},
                  env_),
            Clock::now());
    };
    auto soft = launch("ulimit -Hn 1024; ulimit -Sn 8");
    EXPECT_EQ(soft.code, 124) << soft.err;
    EXPECT_EQ(soft.out, "8\n") << "the test keeps its own limit";
    EXPECT_TRUE(last_record()["timed_out"].get<bool>());
    EXPECT_EQ(last_record()["killed_on_timeout"].size(), 2u) << last_record().dump();
    EXPECT_TRUE(eventually([&] { return with_tokens().empty(); }));
    EXPECT_TRUE(scratch_entries(dir_ / "scratch").empty());

    auto hard = launch("ulimit -n 8");
    EXPECT_EQ(hard.code, 125) << hard.err;
    EXPECT_THAT(hard.err, HasSubstr("descriptors are free (limit 8, hard limit 8"));
    EXPECT_THAT(hard.err, HasSubstr("ulimit -n N"));
    EXPECT_EQ(hard.out, "") << "nothing ran";
    EXPECT_TRUE(with_tokens().empty());

    // A limit of 24 with 7 descriptors inherited open (3-9): 14 or fewer free. Found by
    // a fresh tester: a `setsid` child escaped the timeout, nothing said.
    auto inherited = launch(
        "ulimit -n 24; exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null "
        "8</dev/null 9</dev/null");
    EXPECT_EQ(inherited.code, 125) << inherited.err;
    EXPECT_THAT(inherited.err, HasSubstr("descriptors are free (limit 24"));
    EXPECT_EQ(inherited.out, "") << "nothing ran";
    EXPECT_TRUE(with_tokens().empty());
}

// The sweep of a killed launcher's scratch runs while the next test starts, not
// before it (issue 12, hot path): ending an escaped process that ignores
// SIGTERM takes --grace, and the next test must not wait for that. Before, the
// next test started after the KILL and found the process gone.
TEST_F(Run, TheStaleSweepRunsWhileTheNextTestStarts) {
    auto a = token(), b = token();
    auto s =
        spawn(corral({"--", "sh", "-c",
                      "setsid sh -c 'trap \"\" TERM; exec sleep " + a + "' & exec sleep " + b}),
              env_);
    ASSERT_TRUE(eventually([&] { return with_tokens().size() == 2; }));
    ::kill(s.pid, SIGKILL);
    ::close(s.out_fd);
    ::close(s.err_fd);
    int status = 0;
    ::waitpid(s.pid, &status, 0);
    ASSERT_TRUE(eventually([&] { return with_tokens().size() == 1; }));
    pid_t escaped = with_tokens().front();
    auto next = run({"--grace", "3", "--", "sh", "-c",
                     "kill -0 " + std::to_string(escaped) + " && echo escaped-still-running"});
    EXPECT_EQ(next.code, 0) << next.err;
    EXPECT_THAT(next.out, HasSubstr("escaped-still-running")) << next.err;
    EXPECT_THAT(next.err, HasSubstr("killed outright"));
    EXPECT_THAT(next.err, HasSubstr("ended 1 process(es)"));
    EXPECT_TRUE(scratch_entries(dir_ / "scratch").empty());
    EXPECT_TRUE(with_tokens().empty());
}

// Retired scratch directories (runtime/scratch_retire.hpp) are removed while a
// test that has run kRetireDelayMs still runs, never after one that ended
// sooner (a removal can wait for the device: launcher.hpp); a backlog left by
// short tests only is trimmed by every launch. Before, every launch removed
// the whole pool right after its test started, and a test that ended sooner
// waited for it.
TEST_F(Run, RetiredScratchIsRemovedWhileALongerTestRunsNotAfterAShortOne) {
    const std::string root = (dir_ / "scratch").string();
    auto pool = [&] {
        std::error_code ec;
        fs::directory_iterator it(corral::scratch::retired_pool(root), ec);
        return ec ? size_t{0} : static_cast<size_t>(std::distance(it, fs::directory_iterator{}));
    };
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(corral::scratch::retire(corral::scratch::create(root)));
    auto r = run({"--", "sleep", "0.3"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(pool(), 1u) << "a 0.3 s test left the pool in place (only its own one is new)";

    // A short test ends long before 2 ms but for a slow machine: of ten, at
    // least one leaves the pool as it was, plus its own.
    bool grew = false;
    for (int i = 0; i < 10 && !grew; ++i) {
        size_t before = pool();
        ASSERT_EQ(run({"--", "true"}).code, 0);
        grew = pool() == before + 1;
    }
    EXPECT_TRUE(grew) << "every short test removed the pool; it waited for the removal";

    while (pool() < corral::launcher::kRetiredBacklog + 3)
        ASSERT_TRUE(corral::scratch::retire(corral::scratch::create(root)));
    ASSERT_EQ(run({"--", "true"}).code, 0);
    EXPECT_LE(pool(), corral::launcher::kRetiredBacklog + 2) << "a backlog was not trimmed";
}

// What a launch removes leaves no negative dentry behind: one per test, kept
// until memory pressure, piled up by the hundred thousand on a host with
// memory to spare (kernel/dentry.hpp). Before, each retired directory the
// launcher removed stayed cached as a name that does not exist.
TEST_F(Run, WhatALaunchRemovesLeavesNoNegativeDentry) {
    const std::string root = (dir_ / "scratch").string();
    std::vector<std::string> retired;
    for (int i = 0; i < 3; ++i) {
        auto d = corral::scratch::create(root);
        ASSERT_TRUE(corral::scratch::retire(d));
        retired.push_back("r-" + d.id);
    }
    const std::string pool = corral::scratch::retired_pool(root);
    // The control: a plain rmdir in the same directory leaves one.
    ASSERT_EQ(::mkdir((pool + "/control").c_str(), 0700), 0);
    ASSERT_EQ(::rmdir((pool + "/control").c_str()), 0);
    auto control = corral::test::cached(pool, "control");
    if (control != corral::test::Cached::Negative)
        GTEST_SKIP() << "a plain rmdir under " << pool << " leaves "
                     << corral::test::to_string(control)
                     << " (openat2 RESOLVE_CACHED needs Linux >= 5.12, and tmpfs frees them "
                        "itself): nothing to compare";

    auto r = run({"--", "sleep", "0.3"});  // long enough to remove the pool's three
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& name : retired) {
        auto c = corral::test::cached(pool, name);
        EXPECT_EQ(c, corral::test::Cached::NotCached) << name << ": " << corral::test::to_string(c);
    }
}

// The removal while the test runs gives way to what the launcher must do at
// once: a retired directory written full after its test ended (a process
// outside the test's tree) is walked 64 entries at a time, and the test's
// timeout is not held up by it. Before, the whole walk ran first (30000
// files: well over a second past a 0.1 s timeout).
TEST_F(Run, ATimeoutIsNotHeldUpByRemovingAFullRetiredDirectory) {
    const std::string root = (dir_ / "scratch").string();
    auto d = corral::scratch::create(root);
    ASSERT_TRUE(corral::scratch::retire(d));
    std::string full = corral::scratch::retired_pool(root) + "/r-" + d.id;
    for (int i = 0; i < 30000; ++i) {
        int fd =
            ::open((full + "/f" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        ::close(fd);
    }
    auto r = run({"--timeout", "0.1", "--", "sleep", token()});
    EXPECT_EQ(r.code, 124) << r.err;
    auto rec = last_record();
    EXPECT_LT(rec["wall_seconds"].get<double>(), 0.6) << "the timeout waited for the removal";
    EXPECT_TRUE(fs::exists(full)) << "a 30000-file walk finished within the timeout";
}

// --- item 4: evidence of a failure is kept ---------------------------------------

TEST_F(Run, AFailedTestsScratchIsKeptByDefaultBoundedOldestFirst) {
    std::vector<std::string> kept;
    for (int i = 0; i < 3; ++i) {
        auto r = run(
            {"--keep-scratch-count", "2", "--", "sh", "-c", "echo details > $TMPDIR/log; exit 3"});
        EXPECT_EQ(r.code, 3);
        auto rec = last_record();
        EXPECT_TRUE(rec["scratch_kept"].get<bool>());
        kept.push_back(rec["scratch_dir"]);
        EXPECT_THAT(r.err,
                    HasSubstr("kept the scratch directory of the failed test: " + kept.back()));
        EXPECT_TRUE(fs::exists(fs::path(kept.back()) / "log"));
    }
    EXPECT_FALSE(fs::exists(kept[0])) << "the oldest kept one goes first";
    EXPECT_TRUE(fs::exists(kept[1]));
    // Timed out: kept too. Passed: removed. --keep-scratch never: removed.
    run({"--timeout", "0.2", "--keep-scratch-count", "2", "--", "sh", "-c",
         "touch $TMPDIR/x; exec sleep " + token()});
    EXPECT_TRUE(last_record()["timed_out"].get<bool>());
    EXPECT_TRUE(fs::exists(last_record()["scratch_dir"].get<std::string>()));
    EXPECT_FALSE(fs::exists(kept[1]));
    run({"--", "sh", "-c", "touch $TMPDIR/x"});
    EXPECT_FALSE(fs::exists(last_record()["scratch_dir"].get<std::string>()));
    run({"--keep-scratch", "never", "--", "sh", "-c", "exit 1"});
    EXPECT_FALSE(fs::exists(last_record()["scratch_dir"].get<std::string>()));
    // Larger than the byte bound: not kept, and said.
    auto big = run({"--keep-scratch-size", "64K", "--", "sh", "-c",
                    "head -c 300000 /dev/urandom > $TMPDIR/blob; exit 1"});
    EXPECT_FALSE(last_record()["scratch_kept"].get<bool>());
    EXPECT_THAT(big.err, HasSubstr("larger than --keep-scratch-size"));
}

// A $TMPDIR that names no usable directory must not fail a test that passes
// without corral run (field report: every test exited 125); /tmp stands in.
// A root chosen on purpose still fails.
TEST_F(Run, AnUnusableTmpdirGivesWayToTmp) {
    std::ofstream(dir_ / "a-file") << "x";
    // /proc: a directory, writable by root, where mkdir fails (ENOENT).
    for (const fs::path& bad : {dir_ / "gone", dir_ / "a-file", fs::path("/proc")}) {
        auto env = env_;
        env["TMPDIR"] = bad.string();
        auto r = finish(spawn({CORRAL_EXE, "run", "--", "sh", "-c", "echo \"in $TMPDIR\""}, env),
                        Clock::now());
        EXPECT_EQ(r.code, 0) << bad << ": " << r.err;
        EXPECT_THAT(r.out, HasSubstr("in /tmp/c-"));
        EXPECT_THAT(r.err, HasSubstr("the test's scratch directory goes under /tmp instead"));
    }
    auto chosen = finish(
        spawn({CORRAL_EXE, "run", "--scratch-root", (dir_ / "gone").string(), "--", "true"}, env_),
        Clock::now());
    EXPECT_EQ(chosen.code, 125) << chosen.err;
    EXPECT_THAT(chosen.err, HasSubstr("choose another root with --scratch-root"));
}

// --- issue 11 item 4: socket-path headroom --------------------------------------

TEST_F(Run, ALongTmpdirGivesWayToAShortRootAndALongChosenRootIsSaid) {
    auto longdir = dir_ / std::string(90, 'd');
    fs::create_directories(longdir);
    std::string bind =
        "python3 -c \"import os,socket; s=socket.socket(socket.AF_UNIX); "
        "s.bind(os.environ['TMPDIR']+'/'+'s'*25); print('bound', os.environ['TMPDIR'])\"";
    auto env = env_;
    env["TMPDIR"] = longdir.string();
    // No --scratch-root: the root would come from $TMPDIR.
    auto r = finish(spawn({CORRAL_EXE, "run", "--", "sh", "-c", bind}, env), Clock::now());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("bound /tmp/c-"));
    EXPECT_THAT(r.err, HasSubstr("goes under /tmp instead"));
    // A root chosen on purpose stays, with a warning naming the numbers.
    auto chosen =
        finish(spawn({CORRAL_EXE, "run", "--scratch-root", longdir.string(), "--", "true"}, env_),
               Clock::now());
    EXPECT_EQ(chosen.code, 0);
    EXPECT_THAT(chosen.err, HasSubstr("WARNING: scratch root " + longdir.string() + " leaves"));
    // The policy's number, as the planner reads it.
    auto strict = run({"--", "true"}, {{"CORRAL_SOCKET_HEADROOM", "107"}});
    EXPECT_THAT(strict.err, HasSubstr("107 needed"));
    EXPECT_EQ(run({"--", "true"}, {{"CORRAL_SOCKET_HEADROOM", "lots"}}).code, 125);
    auto fine = run({"--", "true"});
    EXPECT_THAT(fine.err, testing::Not(HasSubstr("socket")));
}
