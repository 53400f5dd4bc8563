// The launcher's decisions from the process table, on recorded trees
// (tests/data/hosts/launch-*, written by tests/runtime/make_launch_trees.py):
// the run id that groups one ctest invocation's records, the stale sweep's
// choice of what a killed launcher left behind, and the cost of the walk on the
// hot path (files read, counted through the Host). No root, no live process.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernel/process.hpp"
#include "runtime/launch_ancestry.hpp"
#include "runtime/records.hpp"

namespace corral {
namespace {

std::string tree(const std::string& name) {
    return std::string(CORRAL_TEST_DATA_DIR) + "/hosts/" + name;
}

// A recorded host seen from another of its processes (its proc/self names one),
// counting the files read through it.
class ProbedHost : public RecordedHost {
  public:
    explicit ProbedHost(const std::string& name, pid_t self = 0)
        : RecordedHost(tree(name)), self_(self) {}
    pid_t self_pid() const override { return self_ ? self_ : RecordedHost::self_pid(); }
    Read<std::string> read_text(const std::filesystem::path& host_path) const override {
        reads.push_back(host_path.string());
        return RecordedHost::read_text(host_path);
    }
    mutable std::vector<std::string> reads;

  private:
    pid_t self_;
};

TEST(RecordedLaunchRunId, AWrapperShellBetweenCtestAndTheLauncherDoesNotSplitTheRun) {
    ProbedHost host("launch-run-id");  // self 320 <- sh 310 <- ctest 300
    ASSERT_EQ(host.self_pid(), 320);
    EXPECT_EQ(records::current_run_id(host), "ctest-300-2790112");
    ProbedHost direct("launch-run-id", 330);  // ctest's own child
    EXPECT_EQ(records::current_run_id(direct), "ctest-300-2790112");
}

TEST(RecordedLaunchRunId, WithoutCtestTheParentStandsInAndAGoneParentIsUnknown) {
    ProbedHost from_shell("launch-run-id", 410);
    EXPECT_EQ(records::current_run_id(from_shell), "bash-200-2783005");
    ProbedHost orphan("launch-run-id", 500);  // parent 499 is not in /proc
    EXPECT_EQ(records::current_run_id(orphan), "unknown");
    ProbedHost gone("launch-run-id", 999);
    EXPECT_EQ(records::current_run_id(gone), "unknown");
}

TEST(RecordedLaunchRunId, CtestAsPidOneOfAContainerIsTheRun) {
    // `docker run IMAGE ctest` with a TEST_LAUNCHER wrapper: the wrapper's
    // parent is pid 1, which is ctest itself.
    ProbedHost host("launch-run-id-ctest-pid1");
    EXPECT_EQ(records::current_run_id(host), "ctest-1-2480");
}

TEST(RecordedLaunchRunId, TheWalkReadsOneStatFilePerProcessAndStopsAtCtest) {
    ProbedHost direct("launch-run-id", 330);
    launcher::Ancestry a(direct);
    EXPECT_EQ(a.run_id(), "ctest-300-2790112");
    EXPECT_EQ(a.run_id(), "ctest-300-2790112");  // walked once
    EXPECT_EQ(direct.reads, (std::vector<std::string>{"/proc/330/stat", "/proc/300/stat"}));

    ProbedHost wrapped("launch-run-id");
    launcher::Ancestry w(wrapped);
    EXPECT_EQ(w.run_id(), "ctest-300-2790112");
    EXPECT_EQ(wrapped.reads,
              (std::vector<std::string>{"/proc/320/stat", "/proc/310/stat", "/proc/300/stat"}));
}

TEST(RecordedLaunchAncestry, OwnLineContinuesPastCtestToInit) {
    ProbedHost host("launch-run-id");
    launcher::Ancestry a(host);
    EXPECT_EQ(a.run_id(), "ctest-300-2790112");
    EXPECT_EQ(a.own_line(), (std::set<pid_t>{1, 180, 200, 300, 310, 320}));
    // The continuation re-reads only where the run id's walk stopped.
    EXPECT_EQ(host.reads,
              (std::vector<std::string>{"/proc/320/stat", "/proc/310/stat", "/proc/300/stat",
                                        "/proc/300/stat", "/proc/200/stat", "/proc/180/stat",
                                        "/proc/1/stat"}));
    ProbedHost orphan("launch-run-id", 500);
    EXPECT_EQ(launcher::Ancestry(orphan).own_line(), (std::set<pid_t>{500}));
}

TEST(RecordedLaunchStaleSweep, EndsWhatCarriesTheKilledLaunchersIdAndSparesOurOwnLine) {
    ProbedHost host("launch-stale-sweep");  // self 320 <- ctest 270 <- sh 269 <- init
    launcher::Ancestry a(host);
    EXPECT_EQ(a.run_id(), "ctest-270-2790401");
    const auto& line = a.own_line();
    EXPECT_EQ(line, (std::set<pid_t>{1, 269, 270, 320}));
    std::map<pid_t, unsigned long long> found;
    for (const auto& p : launcher::stale_test_processes("k3x9a2bq", line, host))
        found[p.pid] = p.start_time;
    // 260 and 261 carry the id; 269/270/320 too but are our line; 262 has another
    // id, 263 the text in another variable, 264 no readable environ.
    EXPECT_EQ(found, (std::map<pid_t, unsigned long long>{{260, 2790300}, {261, 2790305}}));
    // Without our line to spare, the sweep would end its own ctest and us.
    std::set<pid_t> all;
    for (const auto& p : launcher::stale_test_processes("k3x9a2bq", {}, host))
        all.insert(p.pid);
    EXPECT_EQ(all, (std::set<pid_t>{260, 261, 269, 270, 320}));
    EXPECT_TRUE(launcher::stale_test_processes("", {}, host).empty());
    EXPECT_TRUE(launcher::stale_test_processes("zzzzzzzz", {}, host).empty());
}

TEST(RecordedProcStat, ReadsIdentityAndParentageFromTheStatFileAlone) {
    ProbedHost host("launch-stale-sweep");
    auto p = proc::read_stat(261, host);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->comm, "worker");
    EXPECT_EQ(p->ppid, 260);
    EXPECT_EQ(p->pgid, 260);
    EXPECT_EQ(p->state, 'S');
    EXPECT_EQ(p->start_time, 2790305u);
    EXPECT_FALSE(p->kernel_thread);
    EXPECT_TRUE(proc::read_stat(2, host)->kernel_thread);
    EXPECT_EQ(host.reads, (std::vector<std::string>{"/proc/261/stat", "/proc/2/stat"}));
    EXPECT_FALSE(proc::read_stat(499, host));
    // read_process is read_stat plus status and cmdline.
    auto full = proc::read_process(261, host);
    ASSERT_TRUE(full);
    EXPECT_EQ(full->start_time, p->start_time);
    EXPECT_EQ(full->uid, 1000u);
    EXPECT_EQ(full->argv, (std::vector<std::string>{"/usr/bin/server", "--worker"}));
}

}  // namespace
}  // namespace corral
