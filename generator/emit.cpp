#include "generator/emit.hpp"

namespace corral {}  // namespace corral
