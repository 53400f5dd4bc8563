#include "runtime/records.hpp"

namespace corral {}  // namespace corral
