// Policy: corral.yaml + CORRAL_* environment + command line, over built-in
// defaults. Owned by the planner; see docs/policy.md.
#pragma once

namespace corral {}  // namespace corral
