#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "probe/facts_json.hpp"
#include "probe/probe.hpp"

namespace corral::cli {
namespace {

// Empty when `root` is a directory we can read through, else what is wrong with it.
std::string root_problem(const std::string& root) {
    struct stat st;
    if (::stat(root.c_str(), &st) != 0) return std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return "not a directory";
    return {};
}

}  // namespace

void add_probe_command(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "probe",
        "Report what this host offers: CPUs and memory as the cgroup limits say, scratch\n"
        "filesystems, GPUs, CI and container context. Each number says where it came from\n"
        "and what limited it; a fact that cannot be read is reported as unknown (null in\n"
        "JSON) with the reason, never guessed.\n"
        "\n"
        "Examples:\n"
        "  corral probe                        human summary of this host\n"
        "  corral probe --json > facts.json    the facts for `corral plan --facts`\n"
        "  corral probe --root tests/data/hosts/cgroup-hybrid-host   a recorded host\n"
        "\n"
        "Exit status: 0 facts printed (some may be unknown; see their *_source);\n"
        "1 stdout could not be written; 2 bad usage or a --root that is not a directory\n"
        "(facts are still printed, all unknown). See docs/exit-codes.md, docs/facts-schema.md.");
    struct Options {
        ProbeOptions probe;
        bool json = false;
    };
    auto opts = std::make_shared<Options>();
    cmd->add_flag("--json", opts->json,
                  "Print the facts as JSON (schema corral.facts/1, docs/facts-schema.md)");
    cmd->add_option("--root", opts->probe.root,
                    "Read /proc, /sys and mounts under DIR instead of / (a recorded host tree;\n"
                    "live-only probes such as sched_getaffinity are then read from the tree)")
        ->type_name("DIR");
    cmd->add_option("--scratch", opts->probe.extra_scratch,
                    "Also consider PATH as a scratch directory (repeatable)")
        ->type_name("PATH");
    cmd->add_flag("--io-bench", opts->probe.io_bench,
                  "Measure sequential write throughput (with fsync) of each scratch filesystem");
    cmd->callback([opts, &status] {
        // A bad root is bad input, but the probe still carries on: every fact read
        // through it comes out unknown with its reason, and the output stays valid.
        const auto problem = root_problem(opts->probe.root);
        if (!problem.empty())
            std::cerr << "corral probe: --root " << opts->probe.root << ": " << problem
                      << "; every fact read through it is unknown\n";
        auto facts = probe(opts->probe);
        if (opts->json)
            std::cout << to_json(facts).dump(2) << "\n";
        else
            describe_facts(std::cout, facts);
        status = problem.empty() ? kExitOk : kExitUsage;  // main() checks that stdout was written
    });
}

}  // namespace corral::cli
