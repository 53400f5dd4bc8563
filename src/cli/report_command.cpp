// corral report: read the records `corral run` appended and summarise one run
// (terminal, JSON, JUnit XML, Markdown, HTML). This file only wires options;
// the model and renderers live in src/report/. Exit codes (docs/exit-codes.md):
//   0 the reported run passed, 1 it did not, 2 bad usage or bad input, or an
//   output could not be written.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "report/render.hpp"

namespace corral::cli {
namespace {

// Where corral_setup() points `corral run --records` by default (docs/cmake.md).
constexpr const char* kDefaultRecords = "corral-plan/records.jsonl";

struct ReportOptions {
    std::vector<std::string> records;
    std::string run = "last";
    std::string plan;
    std::string junit, markdown, html;
    std::string expect_shards;  // a shards.json (corral.shards/1): every test in it must have run
    bool json = false;
    int top = 5;
};

// The names in a `corral shard` manifest (docs/sharding.md, corral.shards/1:
// "tests": [{"name": ...}]). Throws RecordsError (exit 2) naming the file.
std::vector<std::string> manifest_tests(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw corral::report::RecordsError(file + ": cannot read the shard manifest");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw corral::report::RecordsError(file + ": not JSON: " + e.what());
    }
    if (!j.is_object() || j.value("schema", "") != "corral.shards/1" || !j.contains("tests") ||
        !j["tests"].is_array())
        throw corral::report::RecordsError(
            file + ": expected a corral.shards/1 manifest with a \"tests\" array");
    std::vector<std::string> names;
    for (const auto& t : j["tests"]) {
        if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
            throw corral::report::RecordsError(file + ": a \"tests\" entry without a string name");
        names.push_back(t["name"].get<std::string>());
    }
    return names;
}

int report(const ReportOptions& o) {
    namespace fs = std::filesystem;
    using namespace corral::report;
    std::vector<std::string> files = o.records;
    if (files.empty()) {
        if (!fs::exists(kDefaultRecords)) {
            std::cerr << "corral report: no records file given and no " << kDefaultRecords
                      << " here; run it in the build directory, or pass --records FILE "
                         "(what `corral run --records` wrote)\n";
            return kExitUsage;
        }
        // The rotated generation first, so "last" is the newest run (docs/runtime.md).
        if (o.run != "last")
            if (fs::exists(std::string(kDefaultRecords) + ".1"))
                files.push_back(std::string(kDefaultRecords) + ".1");
        files.push_back(kDefaultRecords);
    }
    try {
        std::vector<Record> all;
        for (const auto& f : files) {
            auto part = read_records(f);
            all.insert(all.end(), part.begin(), part.end());
        }
        std::string label;
        auto tests = select_run(all, o.run, label);
        PlanNumbers plan;
        std::string plan_file = o.plan;
        if (plan_file.empty()) {
            auto beside = fs::path(files.back()).parent_path() / "plan.json";
            if (fs::exists(beside)) plan_file = beside.string();
        }
        if (!plan_file.empty()) plan = read_plan_numbers(plan_file);
        auto summary = summarise(std::move(tests), label, plan);
        // Tests the shard manifest assigns that have no record in the run(s): they
        // ran in no shard (a shard that did not build or run, or a matrix smaller
        // than the manifest). They fail the report.
        std::vector<std::string> not_run;
        if (!o.expect_shards.empty()) {
            std::set<std::string> ran;
            for (const auto& t : summary.tests)
                ran.insert(t.name);
            for (const auto& name : manifest_tests(o.expect_shards))
                if (!ran.count(name)) not_run.push_back(name);
        }

        if (!o.junit.empty()) write_file_atomically(o.junit, render_junit(summary));
        if (!o.html.empty()) write_file_atomically(o.html, render_html(summary));
        if (!o.markdown.empty()) {
            // Appended, as $GITHUB_STEP_SUMMARY expects (`>>`).
            std::ofstream md(o.markdown, std::ios::app | std::ios::binary);
            md << render_markdown(summary);
            if (!not_run.empty()) {
                md << "\n**" << not_run.size() << " of the tests in " << o.expect_shards
                   << " ran in no shard:**\n\n";
                for (const auto& name : not_run)
                    md << "- `" << name << "`\n";
            }
            md.flush();
            if (!md) {
                std::cerr << "corral report: cannot append to " << o.markdown << "\n";
                return kExitUsage;
            }
        }
        if (o.json) {
            std::cout << render_json(summary).dump(2) << "\n";
        } else {
            const char* no_color = std::getenv("NO_COLOR");
            bool colour = ::isatty(STDOUT_FILENO) && !(no_color && *no_color);
            render_text(summary, std::cout, colour, o.top);
        }
        // A report that never arrived is no report (2), not a failed run (1).
        if (!stdout_arrived("corral report")) return kExitUsage;
        for (const auto& name : not_run)
            std::cerr << "corral report: NOT RUN in any shard: " << name << " (listed in "
                      << o.expect_shards << ")\n";
        return summary.passed && not_run.empty() ? kExitOk : kExitFailure;
    } catch (const RecordsError& e) {
        std::cerr << "corral report: " << e.what() << "\n";
        return kExitUsage;
    } catch (const std::system_error& e) {
        std::cerr << "corral report: " << e.what() << "\n";
        return kExitUsage;
    }
}

}  // namespace

void add_report_command(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "report",
        "Summarise a test run from the records `corral run` wrote: what failed, timed\n"
        "out or leaked (and what was killed), the slowest and heaviest tests, lock waits,\n"
        "and the makespan against its lower bound. Also JUnit XML for CI test tabs,\n"
        "Markdown for $GITHUB_STEP_SUMMARY and a self-contained HTML timeline.\n"
        "A run is one ctest invocation (records carry its run id).\n"
        "Exit: 0 the run passed, 1 it did not, 2 bad usage or bad records.\n"
        "Examples (in the build directory):\n"
        "  corral report\n"
        "  corral report --html report.html --junit junit.xml\n"
        "  corral report --markdown \"$GITHUB_STEP_SUMMARY\" --junit junit.xml --html run.html\n"
        "  corral report --records a.jsonl --records b.jsonl --run all --json");
    auto opts = std::make_shared<ReportOptions>();
    cmd->add_option("--records", opts->records,
                    std::string("Records files (JSON lines of `corral run --records`), read in "
                                "order; repeatable. Default: ") +
                        kDefaultRecords +
                        " (corral_setup's default); with --run all or an ID its rotated .1 first")
        ->type_name("FILE");
    cmd->add_option("--run", opts->run,
                    "Which run: 'last' (the run of the last record), 'all', or a run id "
                    "(or a unique prefix of one)")
        ->type_name("last|ID|all")
        ->capture_default_str();
    cmd->add_option("--plan", opts->plan,
                    "plan.json for the slots (test_parallel_level) and the memory budget. "
                    "Default: plan.json beside the records file, if there is one")
        ->type_name("FILE");
    cmd->add_option("--junit", opts->junit, "Write JUnit XML here (replaced atomically)")
        ->type_name("FILE")
        ->check(non_empty_path());
    cmd->add_option("--markdown", opts->markdown,
                    "Append a Markdown summary here (e.g. \"$GITHUB_STEP_SUMMARY\")")
        ->type_name("FILE")
        ->check(non_empty_path());
    cmd->add_option("--html", opts->html,
                    "Write a self-contained HTML timeline here (replaced atomically)")
        ->type_name("FILE")
        ->check(non_empty_path());
    cmd->add_option("--expect-shards", opts->expect_shards,
                    "A `corral shard` manifest (shards.json): fail (exit 1) and list every "
                    "test in it that has no record in the reported run(s)")
        ->type_name("FILE");
    cmd->add_flag("--json", opts->json, "Print the summary as JSON (corral.report/2) on stdout");
    cmd->add_option("--top", opts->top, "How many slowest / heaviest tests to list")
        ->type_name("N")
        ->transform(in_range(0, 1000, true))
        ->capture_default_str();
    cmd->callback([opts, &status] { status = report(*opts); });
}

}  // namespace corral::cli
