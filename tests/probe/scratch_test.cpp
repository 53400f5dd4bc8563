// Scratch candidates: recorded mount tables, and the live host with real
// tmpfs and loop mounts (see reflink_test.cpp for XFS/ext4).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/statfs.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "probe/probe.hpp"
#include "scratch_test_support.hpp"

namespace corral {
namespace {

using test::TempDir;
using test::TestMount;

std::string hosts(const std::string& tree) {
    return std::string(CORRAL_TEST_DATA_DIR) + "/hosts/" + tree;
}

const ScratchFacts* find(const std::vector<ScratchFacts>& all, const std::string& path) {
    for (const auto& s : all)
        if (s.path == path) return &s;
    return nullptr;
}

TEST(ScratchRecorded, CandidatesLandOnTheirRecordedMounts) {
    ProbeOptions o;
    o.root = hosts("scratch-recorded");
    o.env = {{"TMPDIR", "/ci disk/tmp/"}, {"XDG_RUNTIME_DIR", "/run/user/1000"}};
    o.extra_scratch = {"/srv/cache/x", "/ro/build", "/tmp"};
    RecordedHost host(o.root);
    auto all = probe_scratch(host, o);

    std::vector<std::string> paths;
    for (const auto& s : all)
        paths.push_back(s.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"/ci disk/tmp", "/tmp", "/var/tmp", "/dev/shm",
                                               "/run/user/1000", "/srv/cache/x", "/ro/build"}));

    auto* ci = find(all, "/ci disk/tmp");
    ASSERT_NE(ci, nullptr);
    EXPECT_TRUE(ci->usable) << ci->error;
    EXPECT_EQ(ci->origin, "TMPDIR");
    EXPECT_EQ(ci->mount_point, "/ci disk");  // \040 unescaped
    EXPECT_EQ(ci->fstype, "xfs");
    EXPECT_EQ(ci->device, "/dev/nvme1n1");
    EXPECT_EQ(ci->filesystem_id, "dev:259:2");
    EXPECT_FALSE(ci->memory_backed);
    EXPECT_FALSE(ci->read_only);
    EXPECT_EQ(ci->socket_headroom, 108 - 12 - 2);
    EXPECT_FALSE(ci->free_bytes.has_value());  // never statfs the real host for a recorded one
    EXPECT_FALSE(ci->reflink.has_value());
    EXPECT_EQ(ci->reflink_detail, "not tried: recorded root");

    // A bind mount of a subtree of the same filesystem shares the id.
    auto* cache = find(all, "/srv/cache/x");
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(cache->mount_point, "/srv/cache");
    EXPECT_EQ(cache->filesystem_id, ci->filesystem_id);
    EXPECT_EQ(cache->origin, "--scratch");

    auto* tmp = find(all, "/tmp");
    ASSERT_NE(tmp, nullptr);
    EXPECT_EQ(tmp->origin, "/tmp,--scratch");  // listed twice, reported once
    EXPECT_EQ(tmp->fstype, "tmpfs");
    EXPECT_TRUE(tmp->memory_backed);
    EXPECT_EQ(tmp->filesystem_id, "dev:0:24");
    EXPECT_EQ(tmp->socket_headroom, 102);

    auto* var_tmp = find(all, "/var/tmp");
    ASSERT_NE(var_tmp, nullptr);
    EXPECT_EQ(var_tmp->mount_point, "/");
    EXPECT_EQ(var_tmp->fstype, "ext4");
    EXPECT_EQ(var_tmp->filesystem_id, "dev:8:1");
    EXPECT_FALSE(var_tmp->memory_backed);

    auto* shm = find(all, "/dev/shm");
    ASSERT_NE(shm, nullptr);
    EXPECT_EQ(shm->filesystem_id, "dev:0:23");
    EXPECT_NE(shm->filesystem_id, tmp->filesystem_id);  // two tmpfs are two filesystems
    EXPECT_TRUE(shm->memory_backed);

    auto* run = find(all, "/run/user/1000");
    ASSERT_NE(run, nullptr);
    EXPECT_EQ(run->origin, "XDG_RUNTIME_DIR");
    EXPECT_EQ(run->mount_point, "/run/user/1000");

    auto* ro = find(all, "/ro/build");
    ASSERT_NE(ro, nullptr);
    EXPECT_TRUE(ro->read_only);
    EXPECT_EQ(ro->fstype, "ext4");
}

TEST(ScratchRecorded, UnsetAndEmptyVariablesAddNoCandidate) {
    ProbeOptions o;
    o.root = hosts("scratch-recorded");
    o.env = {{"TMPDIR", ""}};
    auto all = probe_scratch(RecordedHost(o.root), o);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].path, "/tmp");
    EXPECT_EQ(all[1].path, "/var/tmp");
    EXPECT_EQ(all[2].path, "/dev/shm");
}

TEST(ScratchRecorded, MissingMountinfoMakesCandidatesUnknownNotInvented) {
    ProbeOptions o;
    o.root = hosts("gpu-nvidia-2");  // a tree without /proc/self/mountinfo
    o.env = {};
    auto all = probe_scratch(RecordedHost(o.root), o);
    ASSERT_EQ(all.size(), 3u);
    for (const auto& s : all) {
        EXPECT_FALSE(s.usable) << s.path;
        EXPECT_NE(s.error.find("/proc/self/mountinfo"), std::string::npos) << s.error;
        EXPECT_TRUE(s.filesystem_id.empty());
        EXPECT_FALSE(s.free_bytes.has_value());
    }
}

TEST(ScratchRecorded, IoBenchIsNotRunOnARecordedRoot) {
    ProbeOptions o;
    o.root = hosts("scratch-recorded");
    o.env = {};
    o.io_bench = true;
    for (const auto& s : probe_scratch(RecordedHost(o.root), o)) {
        EXPECT_FALSE(s.write_mb_per_s.has_value());
        EXPECT_EQ(s.write_detail, "not measured: recorded root");
    }
}

TEST(ScratchLive, SameDirectoryGivenTwiceIsReportedOnceWithBothOrigins) {
    ProbeOptions o;
    o.env = {{"TMPDIR", "/tmp/"}};
    o.extra_scratch = {"/tmp/../tmp"};
    auto all = probe_scratch(live_host(), o);
    int count = 0;
    for (const auto& s : all)
        if (s.path == "/tmp") {
            ++count;
            EXPECT_EQ(s.origin, "TMPDIR,/tmp,--scratch");
        }
    EXPECT_EQ(count, 1);
}

TEST(ScratchLive, SymlinkToACandidateIsTheSameCandidate) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string link = dir.path() + "/tmp-link";
    ASSERT_EQ(::symlink("/tmp", link.c_str()), 0);
    ProbeOptions o;
    o.env = {};
    o.extra_scratch = {link};
    auto all = probe_scratch(live_host(), o);
    EXPECT_EQ(find(all, link), nullptr);
    ASSERT_NE(find(all, "/tmp"), nullptr);
    EXPECT_EQ(find(all, "/tmp")->origin, "/tmp,--scratch");
}

TEST(ScratchLive, MissingDirectoryIsReportedUnusableWithTheReason) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string missing = dir.path() + "/does-not-exist";
    const std::string file = dir.path() + "/a-file";
    { std::ofstream(file) << "x"; }
    ProbeOptions o;
    o.env = {{"XDG_RUNTIME_DIR", missing}};
    o.extra_scratch = {file};
    auto all = probe_scratch(live_host(), o);
    auto* m = find(all, missing);
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(m->usable);
    EXPECT_EQ(m->origin, "XDG_RUNTIME_DIR");
    EXPECT_NE(m->error.find("No such file or directory"), std::string::npos) << m->error;
    EXPECT_FALSE(m->reflink.has_value());
    auto* f = find(all, file);
    ASSERT_NE(f, nullptr);
    EXPECT_FALSE(f->usable);
    EXPECT_NE(f->error.find("not a directory"), std::string::npos) << f->error;
}

TEST(ScratchLive, DefaultCandidatesMatchWhatTheKernelSays) {
    ProbeOptions o;
    o.env = {};
    auto all = probe_scratch(live_host(), o);
    ASSERT_EQ(all.size(), 3u);
    for (const auto& s : all) {
        if (!s.usable) continue;  // e.g. no /var/tmp in a minimal container
        EXPECT_EQ(s.filesystem_id, test::filesystem_id_of(s.path)) << s.path;
        struct statfs sfs;
        ASSERT_EQ(::statfs(s.path.c_str(), &sfs), 0);
        ASSERT_TRUE(s.free_bytes.has_value());
        EXPECT_GT(*s.free_bytes, 0u) << s.path;
        EXPECT_FALSE(s.fstype.empty()) << s.path << ": " << s.error;
        EXPECT_FALSE(s.mount_point.empty());
        EXPECT_EQ(s.socket_headroom, 106 - static_cast<int>(s.path.size()));
        if (!s.read_only && ::access(s.path.c_str(), W_OK) == 0) {
            EXPECT_TRUE(s.reflink.has_value()) << s.path << ": " << s.reflink_detail;
        }
    }
    // Each filesystem is tried once: later candidates say where it was tried.
    for (size_t i = 0; i < all.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (all[i].usable && all[j].usable && all[i].filesystem_id == all[j].filesystem_id &&
                all[j].reflink.has_value()) {
                EXPECT_EQ(all[i].reflink, all[j].reflink);
                EXPECT_NE(all[i].reflink_detail.find("[tried in " + all[j].path + "]"),
                          std::string::npos)
                    << all[i].reflink_detail;
            }
}

TEST(ScratchLive, TmpfsIsMemoryBackedAndCannotReflink) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    TestMount tmpfs("size=16m,mode=0755");
    ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
    ProbeOptions o;
    o.env = {};
    o.extra_scratch = {tmpfs.path()};
    auto all = probe_scratch(live_host(), o);
    auto* s = find(all, tmpfs.path());
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->usable) << s->error;
    EXPECT_EQ(s->fstype, "tmpfs");
    EXPECT_EQ(s->device, "corral-p2-test");
    EXPECT_EQ(s->mount_point, tmpfs.path());
    EXPECT_TRUE(s->memory_backed);
    EXPECT_FALSE(s->read_only);
    ASSERT_TRUE(s->free_bytes.has_value());
    EXPECT_EQ(*s->free_bytes, 16u << 20);  // an empty 16 MiB tmpfs
    ASSERT_TRUE(s->reflink.has_value()) << s->reflink_detail;
    EXPECT_FALSE(*s->reflink);
    EXPECT_NE(s->reflink_detail.find("does not support reflink"), std::string::npos);
    EXPECT_EQ(s->filesystem_id, test::filesystem_id_of(tmpfs.path()));
    EXPECT_TRUE(test::entries(tmpfs.path()).empty()) << "the reflink try left files behind";
}

// Two directories on one filesystem report one free-space number even while
// something writes there between their statfs calls; otherwise the planner's
// free-space tie-break could pick /tmp on one run and /var/tmp on the next.
TEST(ScratchLive, CandidatesOnOneFilesystemShareItsFreeSpace) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    TestMount tmpfs("size=16m,mode=0755");
    ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
    const std::string a = tmpfs.path() + "/a", b = tmpfs.path() + "/b";
    ASSERT_TRUE(std::filesystem::create_directory(a));
    ASSERT_TRUE(std::filesystem::create_directory(b));

    std::atomic<bool> stop{false};
    std::atomic<int> churns{0};
    std::thread writer([&] {
        const std::string file = tmpfs.path() + "/churn";
        const std::string block(64 * 1024, 'x');
        while (!stop) {
            int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0) break;
            for (int i = 0; i < 8; ++i)
                if (::write(fd, block.data(), block.size()) < 0) break;
            ::close(fd);
            ::unlink(file.c_str());
            ++churns;
        }
    });
    ProbeOptions o;
    o.env = {};
    o.extra_scratch = {a, b};
    int differing = 0;
    for (int i = 0; i < 200; ++i) {
        auto all = probe_scratch(live_host(), o);
        auto *sa = find(all, a), *sb = find(all, b);
        if (!sa || !sb || sa->free_bytes != sb->free_bytes) ++differing;
    }
    stop = true;
    writer.join();
    // Without the writer there is nothing to race, and the check proves nothing.
    ASSERT_GT(churns.load(), 0) << "the writer never changed the free space";
    EXPECT_EQ(differing, 0) << "of 200 probes, while the free space changed " << churns << " times";
}

TEST(ScratchLive, ReadOnlyFilesystemIsNotWrittenTo) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    TestMount ro("ro,size=1m");
    ASSERT_TRUE(ro.mounted()) << ro.error();
    ProbeOptions o;
    o.env = {};
    o.extra_scratch = {ro.path()};
    o.io_bench = false;
    auto all = probe_scratch(live_host(), o);
    auto* s = find(all, ro.path());
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->usable);
    EXPECT_TRUE(s->read_only);
    EXPECT_FALSE(s->reflink.has_value());
    EXPECT_EQ(s->reflink_detail, "not tried: read-only filesystem");
}

TEST(ScratchDescribe, HumanSummarySaysWhereNumbersCameFrom) {
    ScratchFacts a;
    a.path = "/tmp";
    a.origin = "TMPDIR,/tmp";
    a.usable = true;
    a.mount_point = "/";
    a.fstype = "ext4";
    a.device = "/dev/vda";
    a.filesystem_id = "dev:254:0";
    a.free_bytes = 86ull << 30;
    a.reflink = false;
    a.reflink_detail = "filesystem does not support reflink (FICLONE: EOPNOTSUPP)";
    a.socket_headroom = 102;
    ScratchFacts b = a;
    b.path = "/var/tmp";
    b.origin = "/var/tmp";
    ScratchFacts c;
    c.path = "/run/user/0";
    c.origin = "XDG_RUNTIME_DIR";
    c.error = "/run/user/0: No such file or directory";
    std::ostringstream out;
    describe_scratch(out, {a, b, c});
    const auto text = out.str();
    EXPECT_NE(text.find("/tmp  (from TMPDIR,/tmp)"), std::string::npos) << text;
    EXPECT_NE(text.find("ext4 on /dev/vda (mounted at /)"), std::string::npos) << text;
    EXPECT_NE(text.find("86.0 GiB (statfs f_bavail)"), std::string::npos) << text;
    EXPECT_NE(text.find("reflink: no (filesystem does not support reflink (FICLONE: EOPNOTSUPP))"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("socket headroom: 102 bytes"), std::string::npos) << text;
    EXPECT_NE(text.find("same filesystem as /var/tmp"), std::string::npos) << text;
    EXPECT_NE(text.find("not usable: /run/user/0: No such file or directory"), std::string::npos)
        << text;
}

}  // namespace
}  // namespace corral
