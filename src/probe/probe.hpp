// Stage 1 of the pipeline: read the host, return Facts. The entry point and
// the per-area functions it calls (each area lives in its own file).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "kernel/cgroup_path.hpp"
#include "kernel/host.hpp"
#include "kernel/mountinfo.hpp"
#include "probe/facts.hpp"

namespace corral {

struct ProbeOptions {
    std::string root = "/";                   // --root: a recorded tree in tests
    std::vector<std::string> extra_scratch;   // --scratch PATH (repeatable), policy candidates
    bool io_bench = false;                    // --io-bench
    Environment env = current_environment();  // injectable for tests
};

Facts probe(const ProbeOptions& options);

// probe() reads cgroups(7) and proc_pid_mountinfo(5) of itself once
// (read_cgroup_tables) and hands the snapshot to every area that needs it;
// the one-argument forms read their own, for callers that probe one area.
// `mounts` null: the area reads proc_pid_mountinfo(5) itself.

// Areas (cgroup.cpp / cpu.cpp / memory.cpp): CPU and memory as the cgroups say.
CpuFacts probe_cpu(const Host& host);
CpuFacts probe_cpu(const Host& host, const CgroupTables& tables);
MemoryFacts probe_memory(const Host& host);
MemoryFacts probe_memory(const Host& host, const CgroupTables& tables);

// Areas (scratch.cpp, reflink.cpp, io_bench.cpp): scratch filesystems.
std::vector<ScratchFacts> probe_scratch(const Host& host, const ProbeOptions& options,
                                        const std::vector<MountEntry>* mounts = nullptr);

// Areas (gpu.cpp, context.cpp).
std::vector<GpuFacts> probe_gpus(const Host& host, const Environment& env);
ContextFacts probe_context(const Host& host, const Environment& env,
                           const std::vector<MountEntry>* mounts = nullptr);

// Human summary (report.cpp calls one describer per area, each beside its probe).
void describe_cpu(std::ostream& out, const CpuFacts& cpu);
void describe_memory(std::ostream& out, const MemoryFacts& memory);
void describe_scratch(std::ostream& out, const std::vector<ScratchFacts>& scratch);
void describe_gpus(std::ostream& out, const std::vector<GpuFacts>& gpus);
void describe_context(std::ostream& out, const ContextFacts& context);
void describe_facts(std::ostream& out, const Facts& facts);

}  // namespace corral
