// Acceptance: a real CMake + Ninja build uses the generated pools, through
// `cmake -C pools.cmake` and through include(pools.cmake); a hand-written
// Ninja file uses pools.ninja. Checked in the generated Ninja files and by
// building.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "common/text.hpp"
#include "generator_test_util.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::slurp;
using test::spit;
using test::TempDir;

class Pools : public ::testing::Test {
  protected:
    void SetUp() override {
        // 16 GiB and 4 CPUs: compile depth 4 (memory allows 7), link depth 1 (8 GiB each).
        auto gen = run({CORRAL_EXE, "generate", "--out", (root_ / "corral").string(), "--memory",
                        "16G", "--cpus", "4"});
        ASSERT_EQ(gen.exit_code, 0) << gen.err;
        auto plan = nlohmann::json::parse(slurp(root_ / "corral/plan.json"));
        for (const auto& pool : plan.at("pools"))
            depth_[pool.at("name").get<std::string>()] = pool.at("depth").get<int>();
        ASSERT_TRUE(depth_.count("compile") && depth_.count("link"));
        fs::create_directories(root_ / "src");
        spit(root_ / "src/a.cpp", "int a() { return 1; }\n");
        spit(root_ / "src/b.cpp", "int b() { return 2; }\n");
        spit(root_ / "src/main.cpp", "int a(); int b();\nint main() { return a() + b() - 3; }\n");
    }

    void write_project(const std::string& before_targets) {
        spit(root_ / "src/CMakeLists.txt",
             "cmake_minimum_required(VERSION 3.16)\n"
             "project(pooled CXX)\n" +
                 before_targets +
                 "add_library(ab STATIC a.cpp b.cpp)\n"
                 "add_executable(app main.cpp)\n"
                 "target_link_libraries(app PRIVATE ab)\n");
    }

    // Configures and builds with `cmake`, then checks the Ninja files.
    void build_and_check(const std::string& cmake, const std::vector<std::string>& extra,
                         const std::string& tag) {
        auto build = root_ / ("build-" + tag);
        std::vector<std::string> configure = {
            cmake, "-S", (root_ / "src").string(), "-B", build.string(), "-G", "Ninja"};
        configure.insert(configure.end(), extra.begin(), extra.end());
        auto c = run(configure);
        ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
        auto b = run({"ninja", "-C", build.string()});
        ASSERT_EQ(b.exit_code, 0) << b.out << b.err;

        std::string ninja = slurp(build / "build.ninja");
        if (fs::exists(build / "CMakeFiles/rules.ninja"))
            ninja += slurp(build / "CMakeFiles/rules.ninja");
        for (const auto& [name, depth] : depth_)
            EXPECT_NE(ninja.find("pool " + name + "\n  depth = " + std::to_string(depth) + "\n"),
                      std::string::npos)
                << tag << ": pool " << name << " not declared with depth " << depth;
        // Every compile edge in the compile pool, every link edge in the link pool.
        std::regex edge(
            R"(\nbuild ([^\n]*?): (CXX_COMPILER|CXX_STATIC_LIBRARY_LINKER|CXX_EXECUTABLE_LINKER)__\w+[^\n]*\n((?:  [^\n]*\n)*))");
        int compiles = 0, links = 0;
        for (std::sregex_iterator it(ninja.begin(), ninja.end(), edge), end; it != end; ++it) {
            bool compile = (*it)[2] == "CXX_COMPILER";
            std::string want = compile ? "  pool = compile\n" : "  pool = link\n";
            EXPECT_NE((*it)[3].str().find(want), std::string::npos)
                << tag << ": edge " << (*it)[1] << " lacks" << want;
            (compile ? compiles : links)++;
        }
        EXPECT_EQ(compiles, 3) << tag;
        EXPECT_EQ(links, 2) << tag;
    }

    TempDir root_{"pools"};
    std::map<std::string, int> depth_;
};

TEST_F(Pools, AppliedThroughInitialCacheScript) {
    write_project("");
    int n = 0;
    for (const auto& cmake : test::cmake_releases("cmake"))
        build_and_check(cmake, {"-C", (root_ / "corral/pools.cmake").string()},
                        cat({"C", std::to_string(n++)}));
}

TEST_F(Pools, AppliedThroughInclude) {
    write_project("include(" + (root_ / "corral/pools.cmake").string() + ")\n");
    build_and_check("cmake", {}, "include");
}

TEST_F(Pools, IncludeAddsToAProjectsOwnPools) {
    write_project(
        "set_property(GLOBAL PROPERTY JOB_POOLS codegen=1)\n"
        "include(" +
        (root_ / "corral/pools.cmake").string() + ")\n");
    depth_["codegen"] = 1;
    build_and_check("cmake", {}, "own");
}

TEST_F(Pools, WithoutThePoolsNothingIsPooled) {
    // The control: the checks above can fail.
    write_project("");
    auto build = root_ / "build-none";
    ASSERT_EQ(run({"cmake", "-S", (root_ / "src").string(), "-B", build.string(), "-G", "Ninja"})
                  .exit_code,
              0);
    EXPECT_EQ(slurp(build / "build.ninja").find("pool = compile"), std::string::npos);
}

TEST_F(Pools, HandWrittenNinjaUsesPoolsNinja) {
    auto dir = root_ / "hand";
    fs::create_directories(dir);
    spit(dir / "build.ninja", "include " + (root_ / "corral/pools.ninja").string() +
                                  "\n"
                                  "rule touch\n  command = touch $out\n  pool = compile\n"
                                  "build x: touch\nbuild y: touch\n  pool = link\n");
    auto r = run({"ninja", "-C", dir.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(fs::exists(dir / "x") && fs::exists(dir / "y"));
    // An undeclared pool is an error, so the include really declared them.
    spit(dir / "bad.ninja",
         "rule touch\n  command = touch $out\n  pool = compile\nbuild z: touch\n");
    EXPECT_NE(run({"ninja", "-C", dir.string(), "-f", "bad.ninja"}).exit_code, 0);
}

}  // namespace
}  // namespace corral
