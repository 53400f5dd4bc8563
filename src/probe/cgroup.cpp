#include "probe/cgroup.hpp"

namespace corral {}  // namespace corral
