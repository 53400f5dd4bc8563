// cgroup discovery: /proc/self/cgroup parsing, choosing the hierarchy that holds
// a controller, translating the path through the mount root, and the levels.
#include "probe/cgroup.hpp"

#include <gtest/gtest.h>

namespace corral {
namespace {

TEST(ParseProcCgroup, SplitsOnTheFirstTwoColonsOnly) {
    auto lines = parse_proc_cgroup("0::/user.slice/odd:name:with:colons\n");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].hierarchy_id, 0);
    EXPECT_EQ(lines[0].controllers, "");
    EXPECT_EQ(lines[0].path, "/user.slice/odd:name:with:colons");
}

TEST(ParseProcCgroup, KeepsV1ControllerListsAndSkipsGarbage) {
    std::vector<std::string> bad;
    auto lines = parse_proc_cgroup(
        "11:cpu,cpuacct:/docker/abc\n1:name=systemd:/\nnot a line\nx:cpu:/\n4:memory:\n\n", &bad);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].hierarchy_id, 11);
    EXPECT_EQ(lines[0].controllers, "cpu,cpuacct");
    EXPECT_EQ(lines[0].path, "/docker/abc");
    EXPECT_EQ(lines[1].controllers, "name=systemd");
    EXPECT_EQ(bad.size(), 3u);
}

CgroupTables tables(const std::string& cgroup, const std::string& mountinfo) {
    CgroupTables t;
    t.lines = parse_proc_cgroup(cgroup);
    t.mounts = parse_mountinfo(mountinfo);
    return t;
}

TEST(LocateCgroup, CpuacctIsNotCpu) {
    auto t = tables("2:cpuacct:/a\n1:cpu:/b\n",
                    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
                    "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
    auto loc = locate_cgroup(t, "cpu");
    ASSERT_TRUE(loc) << loc.error;
    EXPECT_EQ((*loc).version, 1);
    EXPECT_EQ((*loc).mount_point, "/sys/fs/cgroup/cpu");
    EXPECT_EQ((*loc).levels,
              (std::vector<std::string>{"/sys/fs/cgroup/cpu/b", "/sys/fs/cgroup/cpu"}));
}

TEST(LocateCgroup, CombinedHierarchyHoldsBothControllers) {
    auto t = tables("3:cpu,cpuacct:/j\n",
                    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
    for (const char* c : {"cpu", "cpuacct"}) {
        auto loc = locate_cgroup(t, c);
        ASSERT_TRUE(loc) << loc.error;
        EXPECT_EQ((*loc).levels.front(), "/sys/fs/cgroup/cpu,cpuacct/j");
    }
}

TEST(LocateCgroup, V1HierarchyWinsOverEmptyV2MountOnHybridHosts) {
    auto t = tables("4:memory:/job\n0::/\n",
                    "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
                    "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
    auto mem = locate_cgroup(t, "memory");
    ASSERT_TRUE(mem) << mem.error;
    EXPECT_EQ((*mem).version, 1);
    EXPECT_EQ((*mem).levels.front(), "/sys/fs/cgroup/memory/job");
    // A controller no v1 hierarchy holds falls to the v2 hierarchy.
    auto io = locate_cgroup(t, "io");
    ASSERT_TRUE(io) << io.error;
    EXPECT_EQ((*io).version, 2);
    EXPECT_EQ((*io).levels, (std::vector<std::string>{"/sys/fs/cgroup/unified"}));
}

TEST(LocateCgroup, TranslatesThroughABindMountedRoot) {
    auto t = tables("5:memory:/docker/abc/inner\n",
                    "44 23 0:44 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n");
    auto loc = locate_cgroup(t, "memory");
    ASSERT_TRUE(loc) << loc.error;
    EXPECT_TRUE((*loc).translated);
    EXPECT_EQ((*loc).levels,
              (std::vector<std::string>{"/sys/fs/cgroup/memory/inner", "/sys/fs/cgroup/memory"}));
    EXPECT_EQ((*loc).level_name(0), "leaf");
    EXPECT_EQ((*loc).level_name(1), "mount root");
}

TEST(LocateCgroup, RootThatDoesNotPrefixThePathOnABoundaryIsUntranslatable) {
    // "/docker/ab" is not a path prefix of "/docker/abc".
    auto t = tables("5:memory:/docker/abc\n",
                    "44 23 0:44 /docker/ab /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n");
    auto loc = locate_cgroup(t, "memory");
    ASSERT_TRUE(loc) << loc.error;
    EXPECT_FALSE((*loc).translated);
    EXPECT_EQ((*loc).levels, (std::vector<std::string>{"/sys/fs/cgroup/memory"}));
    EXPECT_NE(untranslated_note(*loc).find("outside this cgroup namespace"), std::string::npos);
}

TEST(LocateCgroup, DotDotNeverClimbsAboveTheMountPoint) {
    for (const char* path : {"/../../etc", "/a/../../b", "/./x"}) {
        auto t = tables(std::string("0::") + path + "\n",
                        "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        auto loc = locate_cgroup(t, "cpu");
        ASSERT_TRUE(loc) << loc.error;
        EXPECT_FALSE((*loc).translated) << path;
        EXPECT_EQ((*loc).levels, (std::vector<std::string>{"/sys/fs/cgroup"})) << path;
    }
}

TEST(LocateCgroup, PrefersTheBindMountThatTranslates) {
    // Two mounts of one hierarchy: the host's whole tree at /.. and the container's own.
    auto t = tables("0::/ci/job\n",
                    "30 23 0:28 /.. /mnt/host-cgroup rw - cgroup2 cgroup2 rw\n"
                    "31 23 0:28 /ci /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    auto loc = locate_cgroup(t, "memory");
    ASSERT_TRUE(loc) << loc.error;
    EXPECT_TRUE((*loc).translated);
    EXPECT_EQ((*loc).levels, (std::vector<std::string>{"/sys/fs/cgroup/job", "/sys/fs/cgroup"}));
}

TEST(LocateCgroup, LevelsGoFromLeafToMountRoot) {
    auto t = tables("0::/a/b/c/\n", "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    auto loc = locate_cgroup(t, "cpu");
    ASSERT_TRUE(loc) << loc.error;
    EXPECT_EQ((*loc).levels, (std::vector<std::string>{"/sys/fs/cgroup/a/b/c", "/sys/fs/cgroup/a/b",
                                                       "/sys/fs/cgroup/a", "/sys/fs/cgroup"}));
    EXPECT_EQ((*loc).level_name(1), "parent");
    EXPECT_EQ((*loc).level_name(2), "2 levels up");
    EXPECT_EQ((*loc).level_name(3), "mount root");
}

TEST(LocateCgroup, UnmountedV1HierarchyIsAnErrorNotAGuess) {
    auto t = tables("4:memory:/job\n0::/\n",
                    "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
    auto loc = locate_cgroup(t, "memory");
    ASSERT_FALSE(loc);
    EXPECT_NE(loc.error.find("is not mounted"), std::string::npos) << loc.error;
}

TEST(LocateCgroup, MissingTablesCarryTheirError) {
    CgroupTables t;
    t.error = "/proc/self/cgroup: No such file or directory";
    auto loc = locate_cgroup(t, "cpu");
    ASSERT_FALSE(loc);
    EXPECT_EQ(loc.error, t.error);
}

TEST(LocateCgroup, MountPointAtSlash) {
    auto t = tables("0::/x\n", "31 1 0:28 / / rw - cgroup2 cgroup2 rw\n");
    auto loc = locate_cgroup(t, "cpu");
    ASSERT_TRUE(loc) << loc.error;
    EXPECT_EQ((*loc).levels, (std::vector<std::string>{"/x", "/"}));
}

}  // namespace
}  // namespace corral
