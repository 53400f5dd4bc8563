// What `corral run --plan plan.json` (schema corral.plan/1, docs/plan-schema.md)
// contributes to one launch.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "runtime/gpu_grant.hpp"

namespace corral::launcher {

struct PlanHints {
    std::optional<std::string> scratch_dir;
    std::optional<double> timeout_multiplier;
    std::map<std::string, std::string> heavy_io_paths;  // id -> path
    GpuHandles gpu_handles;                             // gpus id -> variable and value
};
// Throws std::runtime_error "FILE: ..." (with line/column for bad JSON).
PlanHints load_plan_hints(const std::string& path);

}  // namespace corral::launcher
