#include <ostream>

#include "probe/probe.hpp"

namespace corral {

MemoryFacts probe_memory(const HostRoot&) {
    MemoryFacts m;
    m.effective_source = "not implemented yet";
    return m;
}

void describe_memory(std::ostream& out, const MemoryFacts& m) {
    out << "Memory: " << m.effective_source << "\n";
}

}  // namespace corral
