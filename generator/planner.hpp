#pragma once

namespace corral {}  // namespace corral
