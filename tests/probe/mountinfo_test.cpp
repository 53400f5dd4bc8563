// /proc/self/mountinfo parsing: optional fields, octal escapes, exact options.
#include "kernel/mountinfo.hpp"

#include <gtest/gtest.h>

namespace corral {
namespace {

TEST(Mountinfo, ParsesOptionalFieldsAndSuperOptions) {
    auto mounts = parse_mountinfo(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
    ASSERT_EQ(mounts.size(), 2u);
    EXPECT_EQ(mounts[0].id, 36);
    EXPECT_EQ(mounts[0].parent_id, 35);
    EXPECT_EQ(mounts[0].device, "98:0");
    EXPECT_EQ(mounts[0].root, "/mnt1");
    EXPECT_EQ(mounts[0].mount_point, "/mnt2");
    EXPECT_EQ(mounts[0].fstype, "ext3");
    EXPECT_EQ(mounts[0].source, "/dev/root");
    EXPECT_EQ(mounts[0].super_options, "rw,errors=continue");
    EXPECT_EQ(mounts[1].fstype, "cgroup2");
}

TEST(Mountinfo, UnescapesOctalInPaths) {
    auto mounts = parse_mountinfo(
        "31 23 0:28 /a\\134b /sys/fs/cgroup/my\\040cgroups\\011x rw - cgroup2 cgroup2 rw\n");
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/my cgroups\tx");
    EXPECT_EQ(mounts[0].root, "/a\\b");
    EXPECT_EQ(unescape_mount_field("\\012"), "\n");
    // Not an escape: left as written.
    EXPECT_EQ(unescape_mount_field("a\\09b\\"), "a\\09b\\");
    EXPECT_EQ(unescape_mount_field("end\\04"), "end\\04");
}

TEST(Mountinfo, SkipsMalformedLines) {
    std::vector<std::string> bad;
    auto mounts = parse_mountinfo(
        "garbage\n1 2 3 4 5 6 7 8\nx y 0:1 / / rw - ext4 /dev/a rw\n"
        "27 1 254:0 / / rw - ext4 /dev/vda rw\n",
        &bad);
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].mount_point, "/");
    EXPECT_EQ(bad.size(), 3u);
}

TEST(Mountinfo, HasOptionIsExact) {
    EXPECT_TRUE(has_option("rw,cpu,cpuacct", "cpu"));
    EXPECT_TRUE(has_option("rw,cpu,cpuacct", "cpuacct"));
    EXPECT_FALSE(has_option("rw,cpuacct", "cpu"));
    EXPECT_FALSE(has_option("rw,cpuset", "cpu"));
    EXPECT_FALSE(has_option("", "cpu"));
}

TEST(Mountinfo, MountContainingPrefersLongestAndLastMounted) {
    auto mounts = parse_mountinfo(
        "1 0 8:1 / / rw - ext4 /dev/a rw\n"
        "2 1 0:1 / /tmp rw - tmpfs tmpfs rw\n"
        "3 1 0:2 / /tmp rw - ext4 /dev/b rw\n"
        "4 1 0:3 / /tmpfoo rw - tmpfs tmpfs rw\n");
    EXPECT_EQ(mount_containing(mounts, "/tmp/x")->id, 3);
    EXPECT_EQ(mount_containing(mounts, "/tmpfo")->id, 1);
    EXPECT_EQ(mount_containing(mounts, "/tmpfoo/a")->id, 4);
    EXPECT_FALSE(mount_containing({}, "/x"));
}

}  // namespace
}  // namespace corral
