// Retired scratch directories (runtime/scratch_retire.hpp): an emptied
// scratch directory is renamed out of the way and removed later, never handed
// out again; what still reaches it writes into the pool, not into a later
// test's $TMPDIR; a pool another user could reach is never used. Spare
// directories: made while a test runs, renamed into place as a later test's
// scratch directory, never one a test had.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/scratch_dir.hpp"
#include "runtime/scratch_retire.hpp"
#include "tests/probe/scratch_test_support.hpp"
#include "tests/support/spawn.hpp"

using namespace corral;

namespace {

class ScratchRetire : public testing::Test {
  protected:
    void SetUp() override {
        static int n = 0;
        dir_ = fs::temp_directory_path() /
               ("corral-retire-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "root");
        // As /tmp: the scratch directory takes the root's bits, 1777.
        ::chmod((dir_ / "root").c_str(), 01777);
        root_ = (dir_ / "root").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::vector<std::string> retired() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(scratch::retired_pool(root_), ec))
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

TEST_F(ScratchRetire, AnEmptiedScratchDirectoryIsRetiredThenRemovedNeverReused) {
    auto first = scratch::create(root_);
    ASSERT_TRUE(scratch::retire(first));
    EXPECT_FALSE(fs::exists(first.path)) << "retired: gone from its path, as removed";
    ASSERT_EQ(retired(), std::vector<std::string>{"r-" + first.id});
    auto pool = stat_of(scratch::retired_pool(root_));
    EXPECT_TRUE(S_ISDIR(pool.st_mode));
    EXPECT_EQ(pool.st_mode & 07777, 0700u) << "no other user reaches a retired directory";

    auto second = scratch::create(root_);
    EXPECT_EQ(retired().size(), 1u) << "a new test's directory is made, not taken from the pool";
    EXPECT_EQ(stat_of(second.path).st_mode & 07777, 01777u) << "the root's bits";
    auto r = scratch::remove_retired(root_, 8);
    EXPECT_EQ(r.removed, 1u);
    EXPECT_TRUE(r.errors.empty());
    EXPECT_TRUE(retired().empty());
    EXPECT_TRUE(fs::is_directory(second.path)) << "only the pool is emptied";
}

// The launcher lists the pool once: it keeps what it is asked to keep (a
// backlog's trim) and stops removing as soon as its test ends
// (launcher.hpp kRetireDelayMs).
TEST_F(ScratchRetire, ARemovalKeepsWhatItIsAskedToAndStopsWhenAsked) {
    EXPECT_EQ(scratch::remove_retired(root_, 8).listed, 0u) << "no pool yet";
    for (int i = 0; i < 6; ++i)
        ASSERT_TRUE(scratch::retire(scratch::create(root_)));
    auto kept = scratch::remove_retired(root_, 8, nullptr, true, /*keep=*/4);
    EXPECT_EQ(kept.listed, 6u);
    EXPECT_EQ(kept.removed, 2u) << "removed what it was to keep";
    int asked = 0;
    auto r = scratch::remove_retired(root_, 8, [&] { return ++asked == 1; });
    EXPECT_EQ(r.removed, 1u) << "removed after the answer was no";
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(retired().size(), 3u);
    EXPECT_EQ(scratch::remove_retired(root_, 8, [] { return false; }).removed, 0u);
    EXPECT_EQ(scratch::remove_retired(root_, 8).removed, 3u);
    EXPECT_TRUE(retired().empty());
}

// Retired directories that cannot go (written into after they were retired,
// a mount inside) never block the empty ones behind them, and without a
// walk (the trim as a test starts) only empty ones are removed. Before, only
// the first names listed were tried: the pool grew behind two stuck ones.
TEST_F(ScratchRetire, OnesThatCannotGoNeverBlockTheRest) {
    for (int i = 0; i < 6; ++i) {
        auto d = scratch::create(root_);
        ASSERT_TRUE(scratch::retire(d));
        if (i % 2 == 0)
            std::ofstream(scratch::retired_pool(root_) + "/r-" + d.id + "/late.txt") << "x";
    }
    auto r = scratch::remove_retired(root_, 3, nullptr, /*walk=*/false);
    EXPECT_EQ(r.removed, 3u) << "an empty one was not reached past the written ones";
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    EXPECT_EQ(retired().size(), 3u);
    EXPECT_EQ(scratch::remove_retired(root_, 8, nullptr, false).removed, 0u)
        << "a written-into one was walked without a walk";
    EXPECT_EQ(scratch::remove_retired(root_, 8).removed, 3u) << "then walked";
    EXPECT_TRUE(retired().empty());
}

// A walk asked to stop stops within 64 entries, without an error, and leaves
// the rest for a later one.
TEST_F(ScratchRetire, AWalkAskedToStopLeavesTheRestWithoutAnError) {
    auto d = scratch::create(root_);
    for (int i = 0; i < 300; ++i)
        std::ofstream(d.path + "/f" + std::to_string(i)) << "x";
    int asked = 0;
    auto tree = scratch::walk(d.path, true, [&] { return ++asked < 2; });
    EXPECT_TRUE(tree.stopped);
    EXPECT_FALSE(tree.removed);
    EXPECT_TRUE(tree.errors.empty()) << tree.errors.front();
    auto left = std::distance(fs::directory_iterator(d.path), fs::directory_iterator{});
    EXPECT_GE(left, 300 - 128) << "went on after the answer was no";
    EXPECT_LT(left, 300) << "removed nothing before it was asked";
    auto rest = scratch::walk(d.path, true);
    EXPECT_TRUE(rest.removed && !rest.stopped);
}

// What still reaches an ended test's directory (a working directory, a
// descriptor, a bind mount) writes into the pool, never into a later test's
// $TMPDIR; the pool's removal walks what was written, following no link.
TEST_F(ScratchRetire, ALateWriteNeverReachesALaterTestAndIsRemovedWithThePool) {
    auto first = scratch::create(root_);
    int held = ::open(first.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(held, 0);
    ASSERT_TRUE(scratch::retire(first));
    auto second = scratch::create(root_);
    int late = ::openat(held, "late.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(late, 0);
    ::close(late);
    fs::create_directories(dir_ / "victim");
    std::ofstream(dir_ / "victim" / "keep.txt") << "must survive";
    ASSERT_EQ(::symlinkat((dir_ / "victim").c_str(), held, "link"), 0);
    ::close(held);
    EXPECT_TRUE(fs::is_empty(second.path)) << "a late write reached a later test's $TMPDIR";
    auto r = scratch::remove_retired(root_, 8);
    EXPECT_EQ(r.removed, 1u);
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    EXPECT_TRUE(retired().empty());
    EXPECT_TRUE(fs::exists(dir_ / "victim" / "keep.txt")) << "the removal followed a symlink";
}

TEST_F(ScratchRetire, OnlyAnEmptyDirectoryIsRetired) {
    auto expect_not_retired = [&](const scratch::ScratchDir& d, const char* what) {
        EXPECT_FALSE(scratch::retire(d)) << what;
        EXPECT_TRUE(fs::exists(fs::symlink_status(d.path))) << what << ": left for the walk";
        EXPECT_TRUE(retired().empty()) << what;
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
        fs::remove(d.path);
        fs::create_directories(dir_ / "elsewhere");
        fs::create_directory_symlink(dir_ / "elsewhere", d.path);
        expect_not_retired(d, "replaced by a symlink");
        EXPECT_TRUE(fs::is_directory(dir_ / "elsewhere")) << "never followed";
    }
    auto gone = scratch::create(root_);
    fs::remove(gone.path);
    EXPECT_FALSE(scratch::retire(gone)) << "removed by the test";
}

TEST_F(ScratchRetire, AMountOnTheScratchDirectoryIsNotMoved) {
    auto victim = dir_ / "victim";
    fs::create_directories(victim);
    auto d = scratch::create(root_);
    if (::mount(victim.c_str(), d.path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        int err = errno;
        GTEST_SKIP() << "cannot bind-mount (" << std::strerror(err)
                     << "): needs root / CAP_SYS_ADMIN";
    }
    bool retired_it = scratch::retire(d);
    ::umount2(d.path.c_str(), MNT_DETACH);
    EXPECT_FALSE(retired_it) << "a mount point was moved into the pool";
    EXPECT_TRUE(retired().empty());
}

TEST_F(ScratchRetire, APoolThatIsNotOursAloneIsNeverUsed) {
    auto elsewhere = dir_ / "elsewhere";
    fs::create_directories(elsewhere / "r-planted" / "inside");
    ::chmod(elsewhere.c_str(), 0700);
    // A symlink in the pool's place (another user's, in a shared /tmp).
    fs::create_directory_symlink(elsewhere, scratch::retired_pool(root_));
    auto d = scratch::create(root_);
    EXPECT_FALSE(scratch::retire(d)) << "retired through a symlink";
    EXPECT_EQ(scratch::remove_retired(root_, 8).removed, 0u);
    EXPECT_EQ(scratch::remove_retired(root_, 8).listed, 0u) << "listed through a symlink";
    EXPECT_TRUE(fs::exists(elsewhere / "r-planted" / "inside")) << "removed through a symlink";
    EXPECT_EQ(std::distance(fs::directory_iterator(elsewhere), fs::directory_iterator{}), 1);
    scratch::walk(d.path, true);
    fs::remove(scratch::retired_pool(root_));

    // A pool others can enter.
    fs::create_directories(scratch::retired_pool(root_) + "/r-planted");
    ::chmod(scratch::retired_pool(root_).c_str(), 0755);
    auto e = scratch::create(root_);
    EXPECT_FALSE(scratch::retire(e));
    EXPECT_EQ(scratch::remove_retired(root_, 8).removed, 0u);
    EXPECT_EQ(scratch::remove_retired(root_, 8).listed, 0u) << "listed a pool others can enter";
    EXPECT_EQ(retired().size(), 1u);
}

// Real launchers, eight at a time on one root: each test finds its $TMPDIR
// empty and alone (a spare held by two tests would show the other's file),
// and at most as many spares remain as tests ran at once.
TEST_F(ScratchRetire, LaunchersRunningAtOnceNeverShareADirectory) {
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
    EXPECT_GE(retired().size(), 1u) << "nothing was ever retired";
    EXPECT_LE(retired().size(), static_cast<size_t>(kAtOnce));
    for (const auto& e : fs::directory_iterator(root_))
        EXPECT_EQ(e.path().filename().string().rfind("c-", 0), std::string::npos)
            << "left behind: " << e.path();
}

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// No spare on a filesystem short of inodes or space: up to kSpares empty
// directories would take what a test may need (a tester's 20-inode tmpfs
// had its test fail with ENOSPC). The control, a roomy tmpfs, gets them.
TEST(ScratchSpares, NoneOnAFilesystemShortOfInodesOrSpace) {
    using corral::test::TestMount;
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    TestMount few_inodes("size=256m,nr_inodes=256");
    TestMount little_space("size=16m,nr_inodes=100000");
    TestMount roomy("size=256m,nr_inodes=100000");
    for (const auto* m : {&few_inodes, &little_space, &roomy})
        ASSERT_TRUE(m->mounted()) << m->error();
    EXPECT_EQ(scratch::make_spares(few_inodes.path(), 4), 0u);
    EXPECT_FALSE(fs::exists(scratch::spare_pool(few_inodes.path()))) << "the pool made anyway";
    EXPECT_EQ(scratch::make_spares(little_space.path(), 4), 0u);
    EXPECT_EQ(scratch::make_spares(roomy.path(), 4), 4u);
    fs::remove_all(scratch::spare_pool(roomy.path()));
}

TEST_F(ScratchRetire, ASpareIsANewDirectoryRenamedIntoPlace) {
    auto made = scratch::create(root_);
    EXPECT_FALSE(made.from_spare) << "no pool: made by mkdir";
    EXPECT_EQ(scratch::make_spares(root_, 3), 3u);
    const auto pool = scratch::spare_pool(root_);
    EXPECT_EQ(names_in(pool), (std::vector<std::string>{"s-0", "s-1", "s-2"}));
    EXPECT_EQ(stat_of(pool).st_mode & 07777, 0700u) << "no other user reaches a spare";
    std::set<ino_t> spares;
    for (const auto& n : names_in(pool))
        spares.insert(stat_of(pool + "/" + n).st_ino);

    auto d = scratch::create(root_);
    EXPECT_TRUE(d.from_spare);
    EXPECT_EQ(spares.count(stat_of(d.path).st_ino), 1u) << "not one of the spares";
    EXPECT_EQ(stat_of(d.path).st_mode & 07777, 01777u) << "the root's bits, as a made one";
    EXPECT_TRUE(fs::is_empty(d.path));
    EXPECT_EQ(names_in(pool).size(), 2u);

    // Up to kSpares, the lowest free names first; then none.
    EXPECT_EQ(scratch::make_spares(root_, 100), scratch::kSpares - 2);
    EXPECT_EQ(names_in(pool).size(), scratch::kSpares);
    EXPECT_EQ(scratch::make_spares(root_, 100), 0u);
    int asked = 0;
    for (size_t i = 0; i < scratch::kSpares; ++i)
        ASSERT_TRUE(scratch::create(root_).from_spare) << i;
    EXPECT_TRUE(names_in(pool).empty());
    EXPECT_FALSE(scratch::create(root_).from_spare) << "an empty pool";
    EXPECT_EQ(scratch::make_spares(root_, 100, [&] { return ++asked <= 2; }), 2u)
        << "made after the answer was no";

    // A retired directory never becomes a spare, nor a spare a retired one.
    ASSERT_TRUE(scratch::retire(d));
    EXPECT_EQ(names_in(pool), (std::vector<std::string>{"s-0", "s-1"}));
}

TEST_F(ScratchRetire, ASparePoolThatIsNotOursAloneIsNeverUsed) {
    const auto pool = scratch::spare_pool(root_);
    auto elsewhere = dir_ / "elsewhere";
    fs::create_directories(elsewhere / "s-0");
    ::chmod(elsewhere.c_str(), 0700);
    fs::create_directory_symlink(elsewhere, pool);  // another user's, in a shared /tmp
    EXPECT_FALSE(scratch::create(root_).from_spare) << "taken through a symlink";
    EXPECT_EQ(scratch::make_spares(root_, 4), 0u) << "made through a symlink";
    EXPECT_EQ(names_in(elsewhere.string()), std::vector<std::string>{"s-0"});
    fs::remove(pool);

    fs::create_directories(pool + "/s-0");  // a pool others can enter: s-0 may hold anything
    ::chmod(pool.c_str(), 0755);
    EXPECT_FALSE(scratch::create(root_).from_spare);
    EXPECT_EQ(scratch::make_spares(root_, 4), 0u);
    EXPECT_EQ(names_in(pool), std::vector<std::string>{"s-0"});
}

// Real launchers: a test that runs 2 ms or more leaves spares behind
// (launcher.hpp kSparesPerLaunch), and the next test starts in one of them,
// empty, with the root's bits. Before, every test's directory was made by
// mkdir as it started.
TEST_F(ScratchRetire, ATestStartsInASpareMadeWhileAnEarlierOneRan) {
    fs::create_directories(dir_ / "runtime");
    std::map<std::string, std::string> env = {{"CORRAL_RUNTIME_DIR", (dir_ / "runtime").string()}};
    auto t0 = Clock::now();
    auto first =
        finish(spawn({CORRAL_EXE, "run", "--scratch-root", root_, "--", "sleep", "0.1"}, env), t0);
    ASSERT_EQ(first.code, 0) << first.err;
    const auto pool = scratch::spare_pool(root_);
    auto names = names_in(pool);
    ASSERT_FALSE(names.empty()) << "no spare made while a 0.1 s test ran";
    std::set<std::string> spares;
    for (const auto& n : names)
        spares.insert(std::to_string(stat_of(pool + "/" + n).st_ino));
    auto second = finish(spawn({CORRAL_EXE, "run", "--scratch-root", root_, "--", "sh", "-c",
                                "stat -c '%i %a' \"$TMPDIR\"; ls -A \"$TMPDIR\" | wc -l"},
                               env),
                         t0);
    ASSERT_EQ(second.code, 0) << second.err;
    std::istringstream said(second.out);
    std::string inode, mode, entries;
    said >> inode >> mode >> entries;
    EXPECT_EQ(spares.count(inode), 1u) << "the test's $TMPDIR is not a spare: " << second.out;
    EXPECT_EQ(mode, "1777") << "the root's bits";
    EXPECT_EQ(entries, "0");
    for (const auto& n : names_in(pool))  // the second test made spares in turn
        EXPECT_NE(std::to_string(stat_of(pool + "/" + n).st_ino), inode) << "still a spare";
}

}  // namespace
