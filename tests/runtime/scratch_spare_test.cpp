// Spare scratch directories (runtime/scratch_spare.hpp): an emptied scratch
// directory is the next test's, and nothing a test changed, nothing another
// user can reach and nothing two launchers hold at once is ever handed out.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/scratch_dir.hpp"
#include "runtime/scratch_spare.hpp"
#include "tests/support/spawn.hpp"

using namespace corral;

namespace {

class ScratchSpare : public testing::Test {
  protected:
    void SetUp() override {
        static int n = 0;
        dir_ = fs::temp_directory_path() /
               ("corral-spare-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "root");
        // As /tmp: the scratch directory takes the root's bits, 1777.
        ::chmod((dir_ / "root").c_str(), 01777);
        root_ = (dir_ / "root").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::vector<std::string> spares() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(scratch::spare_pool(root_), ec))
            out.push_back(e.path().filename().string());
        return out;
    }

    static struct stat stat_of(const std::string& p) {
        struct stat st {};
        EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
        return st;
    }

    fs::path dir_;
    std::string root_;
};

TEST_F(ScratchSpare, AnEmptiedScratchDirectoryIsTheNextTestsAsFreshAsMade) {
    auto first = scratch::create(root_);
    auto made = stat_of(first.path);
    ASSERT_TRUE(scratch::retire(first));
    EXPECT_FALSE(fs::exists(first.path)) << "retired: gone from its path, as removed";
    ASSERT_EQ(spares().size(), 1u);
    auto pool = stat_of(scratch::spare_pool(root_));
    EXPECT_TRUE(S_ISDIR(pool.st_mode));
    EXPECT_EQ(pool.st_mode & 07777, 0700u) << "no other user reaches a spare by path";
    auto spare = stat_of(scratch::spare_pool(root_) + "/" + spares()[0]);
    EXPECT_EQ(spare.st_mode & 07777, 0700u) << "retired with group and other permissions taken";

    auto second = scratch::create(root_);
    EXPECT_NE(second.path, first.path);
    EXPECT_NE(second.id, first.id);
    auto taken = stat_of(second.path);
    EXPECT_EQ(taken.st_ino, made.st_ino) << "the spare, not a new directory";
    EXPECT_TRUE(spares().empty()) << "taken out of the pool";
    EXPECT_EQ(taken.st_mode & 07777, 01777u) << "the root's bits again, as mkdir + chmod gave";
    EXPECT_EQ(taken.st_uid, ::geteuid());
    EXPECT_TRUE(fs::is_empty(second.path));
}

TEST_F(ScratchSpare, ADirectoryTheTestChangedIsNotRetired) {
    auto expect_not_retired = [&](const scratch::ScratchDir& d, const char* what) {
        EXPECT_FALSE(scratch::retire(d)) << what;
        EXPECT_TRUE(fs::is_directory(d.path)) << what << ": left for the walk to remove";
        EXPECT_TRUE(spares().empty()) << what;
        EXPECT_TRUE(scratch::walk(d.path, true).removed) << what;
    };
    {
        auto d = scratch::create(root_);
        std::ofstream(d.path + "/left.txt") << "x";
        expect_not_retired(d, "a file in it");
    }
    {
        auto d = scratch::create(root_);
        fs::create_directories(d.path + "/sub");
        expect_not_retired(d, "an empty subdirectory in it");
    }
    {
        auto d = scratch::create(root_);
        ::symlink("/etc", (d.path + "/link").c_str());
        expect_not_retired(d, "a symlink in it");
    }
    {
        auto d = scratch::create(root_);
        if (::setxattr(d.path.c_str(), "user.corral", "1", 1, 0) == 0)
            expect_not_retired(d, "an extended attribute on it");
        else
            std::printf("[   NOTE   ] user xattrs unsupported under %s (%s): that case not run\n",
                        root_.c_str(), std::strerror(errno));
        fs::remove_all(d.path);
    }
    {
        // +d (no dump) needs no privilege where the filesystem has inode flags
        // (ext4, XFS, btrfs; tmpfs since Linux 6.0).
        auto d = scratch::create(root_);
        int fd = ::open(d.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int flags = 0;
        bool set = fd >= 0 && ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
                   (flags |= FS_NODUMP_FL, ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0);
        int err = errno;
        if (fd >= 0) ::close(fd);
        if (set)
            expect_not_retired(d, "an inode flag (+d) set on it");
        else
            std::printf("[   NOTE   ] inode flags unsupported under %s (%s): that case not run\n",
                        root_.c_str(), std::strerror(err));
        fs::remove_all(d.path);
    }
    {
        auto d = scratch::create(root_);
        fs::remove(d.path);
        EXPECT_FALSE(scratch::retire(d)) << "removed by the test";
        fs::create_directories(dir_ / "elsewhere");
        fs::create_directory_symlink(dir_ / "elsewhere", d.path);
        EXPECT_FALSE(scratch::retire(d)) << "replaced by a symlink";
        EXPECT_TRUE(fs::is_symlink(d.path));
        EXPECT_TRUE(fs::is_directory(dir_ / "elsewhere")) << "never followed";
        EXPECT_TRUE(spares().empty());
    }
}

TEST_F(ScratchSpare, AMountOnTheScratchDirectoryIsNeitherChangedNorMoved) {
    auto victim = dir_ / "victim";
    fs::create_directories(victim);
    ::chmod(victim.c_str(), 0755);
    auto d = scratch::create(root_);
    if (::mount(victim.c_str(), d.path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        int err = errno;
        GTEST_SKIP() << "cannot bind-mount (" << std::strerror(err)
                     << "): needs root / CAP_SYS_ADMIN";
    }
    bool retired = scratch::retire(d);
    auto mode = stat_of(victim.string()).st_mode & 07777;
    ::umount2(d.path.c_str(), MNT_DETACH);
    EXPECT_FALSE(retired);
    EXPECT_EQ(mode, 0755u) << "the mounted directory's mode was changed";
    EXPECT_TRUE(spares().empty());
}

TEST_F(ScratchSpare, APoolThatIsNotOursAloneIsNeverUsed) {
    auto elsewhere = dir_ / "elsewhere";
    fs::create_directories(elsewhere / "s-planted");
    ::chmod(elsewhere.c_str(), 0700);
    // A symlink in the pool's place (another user's, in a shared /tmp).
    fs::create_directory_symlink(elsewhere, scratch::spare_pool(root_));
    auto d = scratch::create(root_);
    EXPECT_TRUE(fs::exists(elsewhere / "s-planted")) << "a spare was taken through a symlink";
    EXPECT_FALSE(scratch::retire(d));
    EXPECT_EQ(std::distance(fs::directory_iterator(elsewhere), fs::directory_iterator{}), 1)
        << "retired through a symlink";
    scratch::walk(d.path, true);
    fs::remove(scratch::spare_pool(root_));

    // A pool others can enter.
    fs::create_directories(scratch::spare_pool(root_) + "/s-planted");
    ::chmod(scratch::spare_pool(root_).c_str(), 0755);
    auto e = scratch::create(root_);
    EXPECT_TRUE(fs::exists(scratch::spare_pool(root_) + "/s-planted"))
        << "a spare was taken from a pool others can enter";
    EXPECT_FALSE(scratch::retire(e));
    EXPECT_EQ(spares().size(), 1u);
}

TEST_F(ScratchSpare, ASpareWrittenIntoAfterItsTestIsRemovedNotHandedOut) {
    auto first = scratch::create(root_);
    ASSERT_TRUE(scratch::retire(first));
    ASSERT_EQ(spares().size(), 1u);
    // What a process that kept a descriptor of the ended test's directory could do.
    auto spare = scratch::spare_pool(root_) + "/" + spares()[0];
    std::ofstream(spare + "/late.txt") << "written after the test ended";
    ::symlink("/etc/passwd", (spare + "/link").c_str());
    auto second = scratch::create(root_);
    EXPECT_TRUE(fs::is_empty(second.path)) << "a test got a used directory as its $TMPDIR";
    EXPECT_TRUE(spares().empty()) << "the used spare stays in the pool";
    EXPECT_TRUE(fs::exists("/etc/passwd"));
}

// Real launchers, eight at a time on one root: each test finds its $TMPDIR
// empty and alone (a spare held by two tests would show the other's file),
// and at most as many spares remain as tests ran at once.
TEST_F(ScratchSpare, LaunchersRunningAtOnceNeverShareADirectory) {
    constexpr int kAtOnce = 8, kRounds = 5;
    fs::create_directories(dir_ / "runtime");
    std::map<std::string, std::string> env = {{"CORRAL_RUNTIME_DIR", (dir_ / "runtime").string()}};
    const std::string script =
        "test -z \"$(ls -A \"$TMPDIR\")\" || { echo not empty; exit 3; }; echo $$ > "
        "\"$TMPDIR/mine\"; "
        "sleep 0.05; test \"$(cat \"$TMPDIR/mine\")\" = $$ || { echo shared; exit 4; }; "
        "rm \"$TMPDIR/mine\"";
    for (int round = 0; round < kRounds; ++round) {
        std::vector<Spawned> running;
        auto t0 = Clock::now();
        for (int i = 0; i < kAtOnce; ++i)
            running.push_back(
                spawn({CORRAL_EXE, "run", "--scratch-root", root_, "--", "sh", "-c", script}, env));
        for (const auto& s : running) {
            auto r = finish(s, t0);
            EXPECT_EQ(r.code, 0) << "round " << round << ": " << r.out << r.err;
        }
    }
    EXPECT_GE(spares().size(), 1u) << "no spare was ever retired";
    EXPECT_LE(spares().size(), static_cast<size_t>(kAtOnce));
    for (const auto& e : fs::directory_iterator(root_))
        EXPECT_EQ(e.path().filename().string().rfind("c-", 0), std::string::npos)
            << "left behind: " << e.path();
}

}  // namespace
