#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
