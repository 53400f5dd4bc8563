#include "probe/reflink.hpp"

namespace corral {}  // namespace corral
