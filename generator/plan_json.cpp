#include "generator/plan_json.hpp"

namespace corral {}  // namespace corral
