#include "runtime/launcher.hpp"

namespace corral {}  // namespace corral
