// corral shard: split a build tree's CTest suite into N balanced shards for CI
// machines. This file only wires options, runs ctest and moves files; the
// model and the partitioner are generator/shard.{hpp,cpp}.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/plan_inputs.hpp"
#include "common/text.hpp"
#include "generator/output_writer.hpp"
#include "generator/shard.hpp"
#include "kernel/command.hpp"

namespace corral::cli {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p, const char* what) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw shard::ShardError(p.string() + ": cannot read the " + what);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The ctest that configured DIR (CMAKE_CTEST_COMMAND in its CMakeCache.txt),
// else ctest on PATH.
std::string ctest_of(const fs::path& build_dir) {
    std::ifstream cache(build_dir / "CMakeCache.txt");
    std::string line;
    while (std::getline(cache, line)) {
        const std::string key = "CMAKE_CTEST_COMMAND:";
        if (line.rfind(key, 0) != 0) continue;
        auto eq = line.find('=');
        if (eq != std::string::npos && eq + 1 < line.size()) return line.substr(eq + 1);
    }
    return "ctest";
}

// Runs argv in `cwd`, returns its standard output; throws with the exit status.
std::string capture(const std::vector<std::string>& argv, const std::string& cwd) {
    auto c = proc::capture(argv, cwd);
    if (c.spawn_errno != 0)
        throw shard::ShardError(argv[0] + ": cannot run: " + strerror(c.spawn_errno));
    if (c.status != 0)
        throw shard::ShardError(argv[0] + " --show-only=json-v1 failed (status " +
                                std::to_string(c.status) + "); CMake >= 3.14 is needed");
    return std::move(c.out);
}

std::string seconds(double s) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(s < 100 ? 2 : 1) << s << " s";
    return o.str();
}

void describe(std::ostream& out, const shard::ShardPlan& plan, const std::string& outdir) {
    const auto& r = plan.result;
    out << plan.tests.size() << " tests in " << plan.shards << " shards, runner: ctest -j"
        << plan.runner.parallel_level;
    auto mem = plan.runner.slots.find("mem_mib");
    if (mem != plan.runner.slots.end()) out << ", memory budget " << mem->second << " MiB";
    out << "\n";
    out << "ideal " << seconds(r.ideal) << " = max(total " << seconds(r.total) << " / "
        << plan.shards << ", longest test " << seconds(r.longest) << ")\n";
    out << "  shard  tests  predicted   / ideal\n";
    for (int k = 0; k < plan.shards; ++k) {
        const double m = r.makespan[static_cast<size_t>(k)];
        out << "  " << std::setw(5) << k + 1 << "  " << std::setw(5)
            << r.test_count[static_cast<size_t>(k)] << "  " << std::setw(9) << seconds(m) << "  "
            << std::fixed << std::setprecision(3) << (r.ideal > 0 ? m / r.ideal : 1.0) << "\n";
    }
    if (plan.kept + plan.moved > 0)
        out << "seeded from the previous shards.json: " << plan.kept << " tests kept, "
            << plan.moved << " moved\n";
    for (const auto& n : plan.notes)
        out << "note: " << n << "\n";
    out << "wrote " << outdir << "/shard-{1.." << plan.shards
        << "}.tests (ctest --tests-from-file, CMake >= 3.29), .regex (ctest -R, older CMake), "
           "CTestCostData.txt, shards.json\n";
}

}  // namespace

void add_shard_command(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "shard",
        "Split the CTest suite of a build tree into N shards for N CI machines, balanced on\n"
        "the predicted time of each shard: the profile's durations and memory, scheduled as\n"
        "CTest would on a runner of the planned shape (-j, memory budget, resources).\n"
        "Writes shard-K.tests (for ctest --tests-from-file, CMake >= 3.29), shard-K.regex\n"
        "(for ctest -R, older CMake), CTestCostData.txt (the start order the prediction\n"
        "assumes) and shards.json (the assignment; it seeds the next run, so a few added or\n"
        "removed tests move few others). Exit 2 on bad input, 1 on an I/O error.");
    struct Options {
        PlanInputs inputs;
        std::string build_dir;
        std::string tests_json;
        int shards = 0;
        std::string profile;
        std::string out;
        bool json = false;
        std::string strategy = "corral";
        double default_duration = -1;
    };
    auto opts = std::make_shared<Options>();
    auto* bd = cmd->add_option("--build-dir", opts->build_dir,
                               "The configured build tree whose tests are sharded (its ctest "
                               "lists them: CMAKE_CTEST_COMMAND, else ctest on PATH)");
    auto* tj = cmd->add_option("--tests-json", opts->tests_json,
                               "Instead of --build-dir: a saved `ctest --show-only=json-v1`");
    bd->excludes(tj);
    cmd->add_option("--shards", opts->shards, "Number of shards (CI machines), >= 1")
        ->required()
        ->transform(in_range(1, 1000, true));
    cmd->add_option("--profile", opts->profile,
                    "Measured durations/memory: corral.profile/1 JSON (docs/profile.md) or a "
                    "Testing/Temporary/CTestCostData.txt");
    cmd->add_option("--out", opts->out, "Directory for the shard files (created)")
        ->required()
        ->check(non_empty_path());
    cmd->add_flag("--json", opts->json, "Print the manifest (corral.shards/1) instead of a table");
    cmd->add_option("--strategy", opts->strategy,
                    "corral (default); greedy, hash, stride only for comparison (they ignore "
                    "memory and may split fixtures)")
        ->check(CLI::IsMember({"corral", "greedy", "hash", "stride"}));
    cmd->add_option("--default-duration", opts->default_duration,
                    "Seconds predicted for a test the profile does not know (default: the median "
                    "of the known ones, or 1)")
        ->check(CLI::NonNegativeNumber);
    add_plan_input_options(cmd, opts->inputs);
    cmd->footer(
        "\nExamples:\n"
        "  corral shard --build-dir build --shards 4 --out shards\n"
        "  corral shard --build-dir build --shards 4 --profile corral-profile.json \\\n"
        "               --cpus 4 --memory 16G --out shards       plan for a 4-CPU 16 GiB runner\n"
        "Then on shard K's machine (same sources, same configure):\n"
        "  cp shards/CTestCostData.txt build/Testing/Temporary/   # optional: start order\n"
        "  ctest --test-dir build --tests-from-file $PWD/shards/shard-K.tests  CMake >= 3.29\n"
        "  ctest --test-dir build -R \"$(cat shards/shard-K.regex)\"           older CMake\n"
        "Details: docs/sharding.md. Exit codes: docs/exit-codes.md.");
    cmd->callback([opts, &status] {
        try {
            if (opts->build_dir.empty() && opts->tests_json.empty())
                throw shard::ShardError("one of --build-dir or --tests-json is required");
            std::string listing, origin;
            if (!opts->tests_json.empty()) {
                listing = read_text(opts->tests_json, "test list");
                origin = opts->tests_json;
            } else {
                if (!fs::is_directory(opts->build_dir))
                    throw shard::ShardError(opts->build_dir + ": not a directory (--build-dir)");
                const std::string ctest = ctest_of(opts->build_dir);
                // Run in the tree rather than with --test-dir (CMake >= 3.20), so
                // CMake 3.14-3.19 work too.
                listing = capture({ctest, "--show-only=json-v1"}, opts->build_dir);
                origin = ctest + " --show-only=json-v1 (in " + opts->build_dir + ")";
            }
            auto tests = shard::parse_ctest_tests(listing, origin);
            if (tests.empty())
                throw shard::ShardError(origin + ": no tests (is it a configured build tree?)");
            std::optional<shard::Profile> profile;
            if (!opts->profile.empty())
                profile = shard::parse_profile(read_text(opts->profile, "profile"), opts->profile);

            auto planned = make_planned(opts->inputs);
            shard::Runner runner;
            runner.parallel_level = planned.plan.test_parallel_level;
            for (const auto& r : planned.plan.resources) {
                int64_t total = 0;
                for (const auto& id : r.ids)
                    total += id.slots;
                runner.slots[r.name] = total;
            }

            shard::ShardOptions so;
            so.shards = opts->shards;
            so.strategy = *shard::parse_strategy(opts->strategy);
            so.default_duration = opts->default_duration;
            std::map<std::string, int> previous;
            const fs::path manifest = fs::path(opts->out) / "shards.json";
            if (fs::exists(manifest))
                previous = shard::parse_previous(read_text(manifest, "previous shards.json"),
                                                 manifest.string(), opts->shards);
            auto plan = shard::make_shards(tests, profile ? &*profile : nullptr, runner, so,
                                           previous.empty() ? nullptr : &previous);

            std::vector<OutputFile> files;
            for (int k = 0; k < plan.shards; ++k) {
                files.push_back(
                    {"shard-" + std::to_string(k + 1) + ".tests", shard::tests_file(plan, k)});
                files.push_back(
                    {"shard-" + std::to_string(k + 1) + ".regex", shard::regex_file(plan, k)});
            }
            files.push_back({"CTestCostData.txt", shard::cost_data_file(plan)});
            const std::string doc = shard::to_json(plan).dump(2) + "\n";
            files.push_back({"shards.json", doc});
            try {
                write_outputs(opts->out, files);
                // Files of a previous run with more shards would select tests twice.
                for (const auto& e : fs::directory_iterator(opts->out)) {
                    static const std::regex stale(R"(shard-([0-9]+)\.(tests|regex))");
                    std::smatch m;
                    const std::string name = e.path().filename().string();
                    if (std::regex_match(name, m, stale) && std::stoi(m[1]) > plan.shards)
                        fs::remove(e.path());
                }
            } catch (const std::exception& e) {
                std::cerr << "corral shard: " << e.what() << "\n";
                status = kExitFailure;
                return;
            }
            if (opts->json)
                std::cout << doc;
            else
                describe(std::cout, plan, opts->out);
            status = kExitOk;
        } catch (const shard::ShardError& e) {
            std::cerr << "corral shard: " << e.what() << "\n";
            status = kExitUsage;
        } catch (const PolicyError& e) {
            std::cerr << "corral shard: " << e.what() << "\n";
            status = kExitUsage;
        } catch (const std::exception& e) {
            std::cerr << "corral shard: " << e.what() << "\n";
            status = kExitFailure;
        }
    });
}

}  // namespace corral::cli
