#include <ostream>

#include "probe/probe.hpp"

namespace corral {

std::vector<ScratchFacts> probe_scratch(const HostRoot&, const ProbeOptions&) {
    return {};
}

void describe_scratch(std::ostream& out, const std::vector<ScratchFacts>& scratch) {
    out << "Scratch: " << scratch.size() << " candidates\n";
}

}  // namespace corral
