// Stage 2: Facts + Policy -> Plan. A pure function: no I/O, no clock, no
// environment reads, so it is unit-tested with hand-built Facts.
#pragma once

#include "generator/policy.hpp"
#include "plan/plan.hpp"
#include "probe/facts.hpp"

namespace corral {

Plan make_plan(const Facts& facts, const Policy& policy);

// Memory the plan assumes when the probe could not tell (a warning says so).
inline constexpr uint64_t kUnknownMemoryAssumptionBytes = 2ull << 30;

}  // namespace corral
