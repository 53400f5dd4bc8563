// The output writer: all files staged, then renamed; failures leave the old
// files byte for byte. Failures are real: a directory in the way, a full
// filesystem (a tiny tmpfs mounted for the test).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "generator/emit.hpp"
#include "generator/output_writer.hpp"
#include "generator_test_util.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::sample_plan;
using test::slurp;
using test::spit;
using test::TempDir;

std::vector<OutputFile> files_with(const std::string& tag, size_t size = 0) {
    std::string filler(size, 'x');
    return {{"a.txt", "a " + tag + filler + "\n"},
            {"b.sh", "b " + tag + filler + "\n", 0755},
            {"c.json", "c " + tag + filler + "\n"}};
}

std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (auto name = e.path().filename().string(); name[0] != '.' || name == ".corral-current")
            files[name] = e.is_regular_file() ? slurp(e.path()) : "<dir>";
    return files;
}

TEST(OutputWriter, WritesEveryFileWithItsModeAndNoLeftovers) {
    TempDir dir("writer");
    auto out = dir / "nested/out";
    write_outputs(out, files_with("new"));
    EXPECT_EQ(snapshot(out), (std::map<std::string, std::string>{{"a.txt", "a new\n"},
                                                                 {"b.sh", "b new\n"},
                                                                 {"c.json", "c new\n"},
                                                                 {".corral-current", "<dir>"}}));
    struct stat st;
    ASSERT_EQ(::stat((out / "b.sh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
    ASSERT_EQ(::stat((out / "a.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(OutputWriter, ADirectoryInTheWayChangesNothing) {
    TempDir dir("inway");
    write_outputs(dir.path(), files_with("old"));
    fs::remove(dir / "c.json");
    fs::create_directory(dir / "c.json");
    auto before = snapshot(dir.path());
    try {
        write_outputs(dir.path(), files_with("new"));
        FAIL() << "no error";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("c.json exists and is not a file"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(snapshot(dir.path()), before);  // a.txt, b.sh still old; no staging left
}

TEST(OutputWriter, AFullFilesystemChangesNothing) {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs to fill needs root";
    TempDir dir("full");
    auto mnt = dir / "mnt";
    fs::create_directory(mnt);
    if (::mount("corral-test", mnt.c_str(), "tmpfs", 0, "size=64k") != 0)
        GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    struct Unmount {
        fs::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{mnt};

    write_outputs(mnt, files_with("old"));
    auto before = snapshot(mnt);
    {  // Fill the rest of the filesystem.
        std::ofstream filler(mnt / "filler", std::ios::binary);
        std::string block(4096, 'f');
        for (int i = 0; i < 64 && filler.write(block.data(), block.size()); ++i)
            filler.flush();
    }
    before["filler"] = slurp(mnt / "filler");
    try {
        write_outputs(mnt, files_with("new", 8192));
        FAIL() << "no error on a full filesystem";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOSPC) << e.what();
    }
    EXPECT_EQ(snapshot(mnt), before);  // nothing replaced, staging removed
}

TEST(OutputWriter, RemovesStagingLeftByAKilledRunWithoutFollowingLinks) {
    TempDir dir("stale");
    auto out = dir / "out";
    auto stale = out / (std::string(kStagingPrefix) + "AbC123");
    fs::create_directories(stale);
    spit(stale / "a.txt", "half");
    spit(dir / "precious", "keep me");
    fs::create_symlink(dir / "precious", stale / "link");
    write_outputs(out, files_with("new"));
    EXPECT_FALSE(fs::exists(fs::symlink_status(stale)));
    EXPECT_EQ(slurp(dir / "precious"), "keep me");
    EXPECT_EQ(snapshot(out).size(), 4u);
}

// Every name resolves through the one link .corral-current, and the directory
// holds only that generation (and the link): one rename switches the set.
TEST(OutputWriter, EveryNameGoesThroughOneCurrentLink) {
    TempDir dir("generation");
    write_outputs(dir.path(), files_with("old"));
    write_outputs(dir.path(), files_with("new"));
    auto current = fs::read_symlink(dir / ".corral-current");
    EXPECT_TRUE(current.string().starts_with(kStagingPrefix)) << current;
    for (std::string name : {"a.txt", "b.sh", "c.json"}) {
        ASSERT_TRUE(fs::is_symlink(dir / name)) << name;
        EXPECT_EQ(fs::read_symlink(dir / name), fs::path(".corral-current") / name);
    }
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path()))
        ++entries;
    EXPECT_EQ(entries, 5u);  // 3 names, the link, the one generation
}

// Issue 12: the old writer renamed file by file, so a failure (or a kill) after
// the first rename left a new a.txt beside an old b.sh. Here the rename of b.sh
// fails (an immutable file cannot be replaced): the set must stay one set.
TEST(OutputWriter, AFailureMidwayLeavesOneConsistentSet) {
    if (::geteuid() != 0) GTEST_SKIP() << "setting the immutable flag needs root";
    TempDir dir("midway");
    // The old set as an older corral (or the old writer) left it: plain files.
    for (const auto& f : files_with("old"))
        spit(dir / f.name, f.content);
    int fd = ::open((dir / "b.sh").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    int flags = 0;
    if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0 ||
        (flags |= FS_IMMUTABLE_FL, ::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0)) {
        int err = errno;
        ::close(fd);
        GTEST_SKIP() << "this filesystem has no immutable flag: " << std::strerror(err);
    }
    struct Clear {
        int fd;
        ~Clear() {
            int f = 0;
            ::ioctl(fd, FS_IOC_GETFLAGS, &f);
            f &= ~FS_IMMUTABLE_FL;
            ::ioctl(fd, FS_IOC_SETFLAGS, &f);
            ::close(fd);
        }
    } clear{fd};
    try {
        write_outputs(dir.path(), files_with("new"));
    } catch (const std::exception&) {  // failing is fine; a mixed set is not
    }
    auto tag = [&](const std::string& name) { return slurp(dir / name).substr(2, 3); };
    EXPECT_EQ(tag("a.txt"), tag("b.sh"));
    EXPECT_EQ(tag("c.json"), tag("b.sh"));
}

TEST(OutputWriter, RejectsNamesOutsideTheDirectory) {
    TempDir dir("names");
    for (std::string bad : {"../x", "a/b", "", ".", ".."}) {
        std::vector<OutputFile> files = {{bad, "x"}};
        EXPECT_THROW(write_outputs(dir.path(), files), std::invalid_argument) << bad;
    }
    EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(RenderOutputs, EveryFileOnceInAFixedOrder) {
    Facts facts;
    auto files = render_outputs(facts, sample_plan());
    std::vector<std::string> names;
    for (const auto& f : files)
        names.push_back(f.name);
    EXPECT_EQ(names, (std::vector<std::string>{"facts.json", "plan.json", "resources.json",
                                               "pools.cmake", "pools.ninja", "plan.cmake", "env.sh",
                                               "github.env", "github-workflow.yml",
                                               "forgejo-workflow.yml", "report.txt"}));
    // Deterministic: rendering twice gives the same bytes.
    auto again = render_outputs(facts, sample_plan());
    for (size_t i = 0; i < files.size(); ++i)
        EXPECT_EQ(files[i].content, again[i].content);
}

TEST(RenderOutputs, ABadPlanRendersNothing) {
    Plan p = sample_plan();
    p.env.push_back({"NOT VALID", "x", ""});
    EXPECT_THROW(render_outputs(Facts{}, p), EmitError);
}

}  // namespace
}  // namespace corral
