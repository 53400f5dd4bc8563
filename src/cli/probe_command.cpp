#include <iostream>

#include "cli/commands.hpp"
#include "probe/facts_json.hpp"
#include "probe/probe.hpp"

namespace corral::cli {

void add_probe_command(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "probe",
        "Report what this host offers: CPUs and memory as the cgroup limits say, scratch\n"
        "filesystems, GPUs, CI and container context. Each number says where it came from.");
    struct Options {
        ProbeOptions probe;
        bool json = false;
    };
    auto opts = std::make_shared<Options>();
    cmd->add_flag("--json", opts->json, "Print the facts as JSON (schema corral.facts/1)");
    cmd->add_option("--root", opts->probe.root,
                    "Read /proc, /sys and mounts under DIR instead of / (recorded host trees)")
        ->type_name("DIR");
    cmd->add_option("--scratch", opts->probe.extra_scratch,
                    "Also consider PATH as a scratch directory (repeatable)")
        ->type_name("PATH");
    cmd->add_flag("--io-bench", opts->probe.io_bench,
                  "Measure sequential write throughput (with fsync) of each scratch filesystem");
    cmd->callback([opts, &status] {
        auto facts = probe(opts->probe);
        if (opts->json)
            std::cout << to_json(facts).dump(2) << "\n";
        else
            describe_facts(std::cout, facts);
        status = kExitOk;
    });
}

}  // namespace corral::cli
