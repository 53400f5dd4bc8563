#include "runtime/scratch_dir.hpp"

namespace corral {}  // namespace corral
