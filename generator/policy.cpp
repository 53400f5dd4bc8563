#include "generator/policy.hpp"

namespace corral {}  // namespace corral
