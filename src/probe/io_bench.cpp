#include "probe/io_bench.hpp"

namespace corral {}  // namespace corral
