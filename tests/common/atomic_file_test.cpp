#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/atomic_file.hpp"

namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

TEST(AtomicFile, ReplacesContentAndLeavesNoTemporaries) {
    auto dir = fs::temp_directory_path() / ("corral-atomic-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto file = dir / "out.txt";
    corral::write_file_atomically(file, "first\n");
    corral::write_file_atomically(file, "second\n", 0755);
    EXPECT_EQ(slurp(file), "second\n");
    struct stat st;
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
    fs::remove_all(dir);
}

TEST(AtomicFile, FailureNamesThePathAndKeepsTheOldFile) {
    EXPECT_THROW(corral::write_file_atomically("/nonexistent-dir/x/out.txt", "x"),
                 std::system_error);
    try {
        corral::write_file_atomically("/nonexistent-dir/x/out.txt", "x");
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/out.txt"), std::string::npos);
    }
}

// Writing to what is not a regular file must not replace it: `--junit
// /dev/full` as root turned the device node into a regular file.
TEST(AtomicFile, ADeviceOrFifoIsWrittenThroughNotReplaced) {
    auto dir = fs::temp_directory_path() / ("corral-atomic-dev-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    // A FIFO with a reader: the content arrives, the FIFO stays a FIFO.
    auto fifo = dir / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::string got;
    std::thread reader([&] { got = slurp(fifo); });
    corral::write_file_atomically(fifo, "through\n");
    reader.join();
    EXPECT_EQ(got, "through\n");
    struct stat st;
    ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    // /dev/full: the write fails (ENOSPC) and the device stays a device.
    EXPECT_THROW(corral::write_file_atomically("/dev/full", "x\n"), std::system_error);
    ASSERT_EQ(::lstat("/dev/full", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    // A symlink: its target gets the content, the link stays a link.
    auto target = dir / "target.txt";
    auto link = dir / "link.txt";
    corral::write_file_atomically(target, "old\n");
    fs::create_symlink(target, link);
    corral::write_file_atomically(link, "new\n");
    EXPECT_EQ(slurp(target), "new\n");
    EXPECT_TRUE(fs::is_symlink(link));
    // A directory is an error, not replaced.
    EXPECT_THROW(corral::write_file_atomically(dir, "x\n"), std::system_error);
    EXPECT_TRUE(fs::is_directory(dir));
    fs::remove_all(dir);
}
