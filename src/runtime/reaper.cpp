#include "runtime/reaper.hpp"

namespace corral {}  // namespace corral
