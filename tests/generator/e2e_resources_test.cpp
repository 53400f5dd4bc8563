// Acceptance: real ctest with the generated resources.json keeps the memory in
// use under the planned budget and heavy_io under its slots, while tests that
// fit still run side by side. Each test records when it ran and what CTest
// granted it (CTEST_RESOURCE_GROUP_*); the assertions replay those records.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "generator_test_util.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::slurp;
using test::spit;
using test::TempDir;

// A test's record: start ... rendezvous ... end (nanoseconds since the epoch).
// It waits (bounded) until another test of its kind is running, or until all
// others of its kind are done, so overlap does not depend on timing luck.
constexpr const char* kRecorder = R"(#!/bin/sh
name=$1 kind=$2 dir=$3 total=$4
start=$(date +%s%N)
touch "$dir/active.$kind.$name"
i=0
while [ $i -lt 300 ]; do
  active=$(ls "$dir" | grep -c "^active\.$kind\.")
  finished=$(ls "$dir" | grep -c "^done\.$kind\.")
  if [ "$active" -ge 2 ] || [ $((finished + 1)) -ge "$total" ]; then break; fi
  sleep 0.05
  i=$((i + 1))
done
rm -f "$dir/active.$kind.$name"
end=$(date +%s%N)
{
  echo "kind=$kind"; echo "start=$start"; echo "end=$end"
  env | grep '^CTEST_RESOURCE_GROUP' || true
} > "$dir/rec.$name.tmp"
mv "$dir/rec.$name.tmp" "$dir/rec.$name"
touch "$dir/done.$kind.$name"
)";

struct Grant {
    std::string type, id;
    int slots = 0;
};
struct Record {
    std::string name, kind;
    uint64_t start = 0, end = 0;
    std::vector<Grant> grants;
};

Record read_record(const fs::path& file) {
    Record r;
    r.name = file.filename().string().substr(4);
    std::map<std::string, std::string> kv;
    const std::string text = slurp(file);  // split_lines views into it
    for (auto line : split_lines(text)) {
        auto eq = line.find('=');
        if (eq != std::string_view::npos)
            kv[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    r.kind = kv["kind"];
    r.start = parse_u64(kv["start"]).value_or(0);
    r.end = parse_u64(kv["end"]).value_or(0);
    int groups = static_cast<int>(parse_u64(kv["CTEST_RESOURCE_GROUP_COUNT"]).value_or(0));
    for (int g = 0; g < groups; ++g) {
        std::string prefix = "CTEST_RESOURCE_GROUP_" + std::to_string(g);
        for (auto type : split(kv[prefix], ',')) {
            std::string upper(type);
            std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
            // "id:0,slots:1433" (several entries separated by ';')
            for (auto entry : split(kv[prefix + "_" + upper], ';')) {
                Grant grant{std::string(type), "", 0};
                for (auto field : split(entry, ',')) {
                    if (field.starts_with("id:")) grant.id = std::string(field.substr(3));
                    if (field.starts_with("slots:"))
                        grant.slots = static_cast<int>(parse_u64(field.substr(6)).value_or(0));
                }
                r.grants.push_back(grant);
            }
        }
    }
    return r;
}

// The largest sum of f(record) over records running at the same instant.
template <typename F>
long peak(const std::vector<Record>& records, F f) {
    std::vector<std::pair<uint64_t, long>> events;  // (time, +/- amount); ends first on ties
    for (const auto& r : records) {
        long amount = f(r);
        if (amount == 0) continue;
        events.push_back({r.start, amount});
        events.push_back({r.end, -amount});
    }
    std::sort(events.begin(), events.end());
    long now = 0, best = 0;
    for (const auto& [t, delta] : events)
        best = std::max(best, now += delta);
    return best;
}

int granted(const Record& r, const std::string& type, const std::string& id = "") {
    int sum = 0;
    for (const auto& g : r.grants)
        if (g.type == type && (id.empty() || g.id == id)) sum += g.slots;
    return sum;
}

// Runs the project's tests with ctest -j8 and returns what each recorded.
std::vector<Record> run_ctest(const std::string& ctest_exe, const fs::path& build,
                              const fs::path& logs, const std::vector<std::string>& extra,
                              const std::map<std::string, std::string>& env = {}) {
    fs::remove_all(logs);
    fs::create_directories(logs);
    std::vector<std::string> argv = {ctest_exe, "-j8", "--timeout", "120", "--output-on-failure"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto ctest = run(argv, build, env);
    EXPECT_EQ(ctest.exit_code, 0) << ctest.out << ctest.err;
    std::vector<Record> records;
    for (const auto& e : fs::directory_iterator(logs))
        if (e.path().filename().string().starts_with("rec.")) records.push_back(read_record(e));
    return records;
}

void check_records(const std::vector<Record>& records, long big, long budget,
                   const std::map<std::string, long>& heavy_io_slots);

TEST(CTestResources, GeneratedSpecBoundsMemoryAndHeavyIoUnderRealCTest) {
    TempDir root("ctest-res");
    auto gen = run({CORRAL_EXE, "generate", "--out", (root / "corral").string(), "--memory", "4G",
                    "--cpus", "4"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;

    auto spec = nlohmann::json::parse(slurp(root / "corral/resources.json"));
    const auto& local = spec.at("local").at(0);
    long budget = 0;
    for (const auto& id : local.at("mem_mib"))
        budget += id.at("slots").get<long>();
    std::map<std::string, long> heavy_io_slots;
    for (const auto& id : local.at("heavy_io"))
        heavy_io_slots[id.at("id").get<std::string>()] = id.at("slots").get<long>();
    // 4 GiB given by --memory (nothing counted in use) minus the measured reserve:
    // 4 concurrent tests x 8 MiB launcher overhead + 128 MiB margin = 3936 MiB.
    ASSERT_EQ(budget, 3936);
    ASSERT_FALSE(heavy_io_slots.empty());

    const long big = budget * 40 / 100;  // two fit at once, three do not
    auto logs = root / "logs";
    fs::create_directories(logs);
    fs::create_directories(root / "project");
    spit(root / "project/record.sh", kRecorder);
    spit(
        root / "project/CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.16)\nproject(resources NONE)\nenable_testing()\n"
        "set(rec sh ${CMAKE_CURRENT_SOURCE_DIR}/record.sh)\n"
        "foreach(i RANGE 1 6)\n"
        "  add_test(NAME big_${i} COMMAND ${rec} big_${i} big " +
            logs.string() +
            " 6)\n"
            "  set_tests_properties(big_${i} PROPERTIES RESOURCE_GROUPS \"mem_mib:" +
            std::to_string(big) +
            ",heavy_io:1\")\n"
            "endforeach()\n"
            "foreach(i RANGE 1 10)\n"
            "  add_test(NAME io_${i} COMMAND ${rec} io_${i} io " +
            logs.string() +
            " 10)\n"
            "  set_tests_properties(io_${i} PROPERTIES RESOURCE_GROUPS \"heavy_io:1,mem_mib:64\")\n"
            "endforeach()\n"
            "foreach(i RANGE 1 4)\n"
            "  add_test(NAME light_${i} COMMAND ${rec} light_${i} light " +
            logs.string() +
            " 4)\n"
            "endforeach()\n");
    auto configure = run({"cmake", "-S", (root / "project").string(), "-B",
                          (root / "build").string(), "-G", "Ninja"});
    ASSERT_EQ(configure.exit_code, 0) << configure.err;
    for (const auto& ctest_exe : test::cmake_releases("ctest")) {
        SCOPED_TRACE(ctest_exe);
        auto records =
            run_ctest(ctest_exe, root / "build", logs,
                      {"--resource-spec-file", (root / "corral/resources.json").string()});
        ASSERT_EQ(records.size(), 20u);
        check_records(records, big, budget, heavy_io_slots);
    }

    // The control: CTest reads no environment variable for the spec, so with
    // the file named only in the environment nothing is granted or bounded.
    auto records =
        run_ctest("ctest", root / "build", logs, {},
                  {{"CTEST_RESOURCE_SPEC_FILE", (root / "corral/resources.json").string()}});
    ASSERT_EQ(records.size(), 20u);
    for (const auto& r : records)
        EXPECT_TRUE(r.grants.empty()) << r.name;
}

void check_records(const std::vector<Record>& records, long big, long budget,
                   const std::map<std::string, long>& heavy_io_slots) {
    for (const auto& r : records) {
        ASSERT_LT(r.start, r.end) << r.name;
        if (r.kind == "big") {
            EXPECT_EQ(granted(r, "mem_mib"), big) << r.name;
            EXPECT_EQ(granted(r, "heavy_io"), 1) << r.name;
        } else if (r.kind == "io") {
            EXPECT_EQ(granted(r, "mem_mib"), 64) << r.name;
            EXPECT_EQ(granted(r, "heavy_io"), 1) << r.name;
        } else {
            EXPECT_TRUE(r.grants.empty()) << r.name;
        }
    }

    // Never over the budget, never over a heavy_io id's slots ...
    long memory_peak = peak(records, [](const Record& r) { return granted(r, "mem_mib"); });
    EXPECT_LE(memory_peak, budget);
    for (const auto& [id, slots] : heavy_io_slots) {
        long io_peak = peak(records, [&](const Record& r) { return granted(r, "heavy_io", id); });
        EXPECT_LE(io_peak, slots) << "heavy_io id " << id;
    }
    long big_peak = peak(records, [](const Record& r) { return r.kind == "big" ? 1L : 0L; });
    EXPECT_LE(big_peak, 2) << "three tests of 40 % ran at once";
    // ... yet tests overlapped where the budget allowed.
    EXPECT_EQ(big_peak, 2) << "two 40 % tests fit the budget but never ran together";
    long io_peak = peak(records, [](const Record& r) { return r.kind == "io" ? 1L : 0L; });
    EXPECT_GE(io_peak, 2) << "heavy_io tests never overlapped";
    long light_peak = peak(records, [](const Record& r) { return r.kind == "light" ? 1L : 0L; });
    EXPECT_GE(light_peak, 2) << "light tests never overlapped";
    std::cout << "memory peak " << memory_peak << " of " << budget << " MiB; big tests at once "
              << big_peak << "; heavy_io tests at once " << io_peak << "\n";
}

}  // namespace
}  // namespace corral
