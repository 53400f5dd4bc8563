#include "generator/planner.hpp"

namespace corral {}  // namespace corral
