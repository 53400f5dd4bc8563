// The output writer: all files staged, then renamed; failures leave the old
// files byte for byte. Failures are real: a directory in the way, a full
// filesystem (a tiny tmpfs mounted for the test).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

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
        files[e.path().filename().string()] = e.is_regular_file() ? slurp(e.path()) : "<dir>";
    return files;
}

TEST(OutputWriter, WritesEveryFileWithItsModeAndNoLeftovers) {
    TempDir dir("writer");
    auto out = dir / "nested/out";
    write_outputs(out, files_with("new"));
    EXPECT_EQ(snapshot(out),
              (std::map<std::string, std::string>{
                  {"a.txt", "a new\n"}, {"b.sh", "b new\n"}, {"c.json", "c new\n"}}));
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
    EXPECT_EQ(snapshot(out).size(), 3u);
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
