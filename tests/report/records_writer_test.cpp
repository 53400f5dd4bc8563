// The record writer's bound: rotation at run boundaries (docs/runtime.md,
// "Records"), alone and under parallel writers.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/records.hpp"

namespace fs = std::filesystem;
using corral::records::append_record;

namespace {

std::string line(const std::string& run, int i) {
    return nlohmann::json{{"schema", "corral.record/1"},
                          {"run_id", run},
                          {"name", "t" + std::to_string(i)},
                          {"pad", std::string(200, 'x')}}
        .dump();
}

std::vector<nlohmann::json> lines_of(const fs::path& p) {
    std::vector<nlohmann::json> out;
    std::ifstream in(p);
    std::string l;
    while (std::getline(in, l))
        out.push_back(nlohmann::json::parse(l));  // throws on a torn line
    return out;
}

class RecordsWriter : public testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("corral-records-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        file_ = dir_ / "records.jsonl";
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_, file_;
};

}  // namespace

TEST_F(RecordsWriter, RotatesOnlyAtARunBoundaryOnceOverTheLimit) {
    for (int i = 0; i < 10; ++i)  // one run grows past the limit: never split
        append_record(file_.string(), line("run-a", i), "run-a", 1000);
    EXPECT_FALSE(fs::exists(file_.string() + ".1"));
    EXPECT_EQ(lines_of(file_).size(), 10u);

    append_record(file_.string(), line("run-b", 0), "run-b", 1000);  // a new run: rotate
    ASSERT_TRUE(fs::exists(file_.string() + ".1"));
    EXPECT_EQ(lines_of(file_.string() + ".1").size(), 10u);
    auto now = lines_of(file_);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_EQ(now[0]["run_id"], "run-b");

    append_record(file_.string(), line("run-c", 0), "run-c", 1000);  // under the limit: append
    EXPECT_EQ(lines_of(file_).size(), 2u);
    for (int i = 0; i < 5; ++i)
        append_record(file_.string(), line("run-c", i), "run-c", 1000);
    append_record(file_.string(), line("run-d", 0), "run-d", 1000);  // replaces the old .1
    auto older = lines_of(file_.string() + ".1");
    EXPECT_EQ(older.front()["run_id"], "run-b");
    EXPECT_EQ(lines_of(file_).size(), 1u);
}

TEST_F(RecordsWriter, ParallelWritersRacingRotationsTearNothing) {
    // 8 writers of two runs, 40 records each, with a limit of ~8 records so
    // that rotations race with appends: every line of both files is whole,
    // and the last record written is in the current file.
    std::vector<pid_t> kids;
    for (int w = 0; w < 8; ++w) {
        pid_t pid = ::fork();
        if (pid == 0) {
            std::string run = "run-" + std::to_string(w % 2);
            for (int i = 0; i < 40; ++i)
                append_record(file_.string(), line(run, i), run, 2000);
            ::_exit(0);
        }
        kids.push_back(pid);
    }
    for (pid_t k : kids) {
        int status = 0;
        ::waitpid(k, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    std::vector<nlohmann::json> now, older;
    ASSERT_NO_THROW(now = lines_of(file_));
    ASSERT_TRUE(fs::exists(file_.string() + ".1")) << "the limit was passed: it rotated";
    ASSERT_NO_THROW(older = lines_of(file_.string() + ".1"));
    EXPECT_FALSE(now.empty());
    // Below the limit plus what the runs appended after the last rotation.
    EXPECT_LT(fs::file_size(file_), 2000u + 320u * 300u);
}
