// Stage 1 of the pipeline: read the host, return Facts. The entry point and
// the per-area functions it calls (each area lives in its own file).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "kernel/host.hpp"
#include "probe/facts.hpp"

namespace corral {

struct ProbeOptions {
    std::string root = "/";                   // --root: a recorded tree in tests
    std::vector<std::string> extra_scratch;   // --scratch PATH (repeatable), policy candidates
    bool io_bench = false;                    // --io-bench
    Environment env = current_environment();  // injectable for tests
};

Facts probe(const ProbeOptions& options);

// Areas (cgroup.cpp / cpu.cpp / memory.cpp): CPU and memory as the cgroups say.
CpuFacts probe_cpu(const Host& host);
MemoryFacts probe_memory(const Host& host);

// Areas (scratch.cpp, reflink.cpp, io_bench.cpp): scratch filesystems.
std::vector<ScratchFacts> probe_scratch(const Host& host, const ProbeOptions& options);

// Areas (gpu.cpp, context.cpp).
std::vector<GpuFacts> probe_gpus(const Host& host, const Environment& env);
ContextFacts probe_context(const Host& host, const Environment& env);

// Human summary (report.cpp calls one describer per area, each beside its probe).
void describe_cpu(std::ostream& out, const CpuFacts& cpu);
void describe_memory(std::ostream& out, const MemoryFacts& memory);
void describe_scratch(std::ostream& out, const std::vector<ScratchFacts>& scratch);
void describe_gpus(std::ostream& out, const std::vector<GpuFacts>& gpus);
void describe_context(std::ostream& out, const ContextFacts& context);
void describe_facts(std::ostream& out, const Facts& facts);

}  // namespace corral
