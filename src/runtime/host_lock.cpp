#include "runtime/host_lock.hpp"

namespace corral {}  // namespace corral
