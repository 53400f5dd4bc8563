// The reaper's scan and the scope refusal rules on a recorded host
// (tests/data/hosts/proc-reap-scan: a proc tree, etc/passwd) with an injected
// environment: no root, no live process touched.
#include <gtest/gtest.h>

#include "kernel/process.hpp"
#include "runtime/reaper.hpp"

namespace corral {
namespace {

std::string tree() {
    return std::string(CORRAL_TEST_DATA_DIR) + "/hosts/proc-reap-scan";
}

TEST(RecordedProc, ReadsTheProcessTableOfTheTree) {
    RecordedHost host(tree());
    EXPECT_EQ(host.self_pid(), 100);
    auto pids = proc::list_pids(host);
    EXPECT_EQ(pids, (std::vector<pid_t>{1, 2, 50, 100, 200, 201, 202, 203, 204, 205}));
    auto p = proc::read_process(200, host);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->comm, "server");
    EXPECT_EQ(p->argv, (std::vector<std::string>{"/usr/bin/server", "--data=/scope/t1"}));
    EXPECT_EQ(p->uid, 1000u);
    EXPECT_EQ(p->start_time, 1000u);
    EXPECT_EQ(proc::read_cwd(201, host), "/scope/t2");
    EXPECT_TRUE(proc::read_process(2, host)->kernel_thread);
    auto chain = proc::ancestors(100, host);
    ASSERT_EQ(chain.size(), 2u);
    EXPECT_EQ(chain[0].comm, "ctest");
    EXPECT_EQ(chain[1].pid, 1);
    EXPECT_EQ(proc::children_of(1, host), (std::vector<pid_t>{50, 200, 201, 202, 203, 204, 205}));
}

TEST(RecordedProc, ScanFindsTargetsAndSparesWhatItMust) {
    RecordedHost host(tree(), {}, 1000);
    reap::ScanOptions o;
    o.scope = reap::make_scope("/scope", std::string("tok-1"));
    o.host = &host;
    auto r = reap::scan(o);
    std::map<pid_t, std::string> targets, spared;
    for (const auto& t : r.targets)
        targets[t.info.pid] = reap::tie_name(t.matched_by);
    for (const auto& s : r.spared)
        spared[s.info.pid] = reap::spare_reason_name(s.reason);
    EXPECT_EQ(targets, (std::map<pid_t, std::string>{{200, "argv"}, {201, "cwd"}, {202, "env"}}));
    // 50 (ctest, our parent) matches by argv and cwd; 100 is us; 203 belongs to uid 1001.
    EXPECT_EQ(spared,
              (std::map<pid_t, std::string>{{50, "ancestor"}, {100, "self"}, {203, "other-user"}}));
    o.all_users = true;
    r = reap::scan(o);
    bool other = false;
    for (const auto& t : r.targets)
        other = other || t.info.pid == 203;
    EXPECT_TRUE(other) << "--all-users takes the other user's process";
}

TEST(RecordedHostDirs, RefusalRulesReadInjectedEnvironmentAndRecordedPasswd) {
    RecordedHost host(
        tree(),
        {{"HOME", "/home/dev"}, {"PWD", "/work/here"}, {"TMPDIR", "/scratch"}, {"USER", "ci"}},
        1000);
    auto dirs = reap::HostDirs::from_host(host);
    EXPECT_EQ(dirs.uid, 1000u);
    auto has = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    EXPECT_TRUE(has(dirs.homes, "/root"));
    EXPECT_TRUE(has(dirs.homes, "/data/ci"));  // passwd entry of $USER
    EXPECT_TRUE(has(dirs.homes, "/home/dev"));
    EXPECT_TRUE(has(dirs.cwds, "/work/here"));
    EXPECT_TRUE(has(dirs.tmpdirs, "/scratch"));
    dirs.scratch_registry.clear();
    auto refused = [&](const std::string& dir) {
        try {
            reap::check_dedicated(reap::make_scope(dir, std::nullopt), dirs, false);
            return std::string();
        } catch (const reap::ScopeRefused& e) {
            return std::string(e.what());
        }
    };
    EXPECT_NE(refused("/data").find("contains the home directory /data/ci"), std::string::npos)
        << refused("/data");
    EXPECT_NE(refused("/work").find("contains the current directory /work/here"),
              std::string::npos);
    EXPECT_NE(refused("/scratch").find("is $TMPDIR"), std::string::npos);
    EXPECT_EQ(refused("/work/here/tests-scope"), "");
}

}  // namespace
}  // namespace corral
