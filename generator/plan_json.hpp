// Plan <-> JSON (schema "corral.plan/1", docs/plan-schema.md). Field names
// follow the Plan struct and are public interface (corral run reads
// "scratch_dir", "timeout_multiplier" and the heavy_io ids' "path").
#pragma once

#include <nlohmann/json.hpp>

#include "generator/plan.hpp"

namespace corral {

nlohmann::ordered_json to_json(const Plan& plan);
// Throws nlohmann::json::exception on a missing or mistyped field, or
// std::runtime_error for a schema other than corral.plan/1.
Plan plan_from_json(const nlohmann::ordered_json& j);

}  // namespace corral
