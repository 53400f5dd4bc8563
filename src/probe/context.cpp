#include <ostream>

#include "probe/probe.hpp"

namespace corral {

ContextFacts probe_context(const HostRoot&, const Environment&) {
    return {};
}

void describe_context(std::ostream& out, const ContextFacts& c) {
    out << "Context: CI " << c.ci.value_or("none") << "\n";
}

}  // namespace corral
