// read_file (src/common/read_file.hpp), the one whole-file reader: errors carry
// the errno of the call that failed, never "Success" from a stream.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/read_file.hpp"

namespace fs = std::filesystem;

namespace corral {
namespace {

TEST(ReadFile, ContentOrTheReasonOfTheFailingCall) {
    auto dir = fs::temp_directory_path() / ("corral-readfile-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "f") << "hello\n";
    auto ok = read_file(dir / "f");
    ASSERT_TRUE(ok) << ok.error;
    EXPECT_EQ(*ok, "hello\n");
    // A directory opens but cannot be read: std::ifstream reported it as a
    // JSON/format error (or strerror(errno) with a stale errno); read() says EISDIR.
    auto d = read_file(dir);
    EXPECT_FALSE(d);
    EXPECT_EQ(d.error, "Is a directory");
    auto missing = read_file(dir / "missing");
    EXPECT_FALSE(missing);
    EXPECT_EQ(missing.error, "No such file or directory");
    fs::remove_all(dir);
}

}  // namespace
}  // namespace corral
