// cgroup v1/v2 discovery: /proc/self/cgroup + /proc/self/mountinfo -> the
// directories to read limits from, leaf first, never above the mount root.
#pragma once

#include "common/host_root.hpp"

namespace corral {}  // namespace corral
