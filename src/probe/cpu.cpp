#include <ostream>

#include "probe/probe.hpp"

namespace corral {

CpuFacts probe_cpu(const HostRoot&) {
    CpuFacts c;
    c.effective_source = "not implemented yet";
    return c;
}

void describe_cpu(std::ostream& out, const CpuFacts& cpu) {
    out << "CPU: " << cpu.effective << " effective (" << cpu.effective_source << ")\n";
}

}  // namespace corral
