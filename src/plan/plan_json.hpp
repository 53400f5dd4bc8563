// Plan <-> JSON (schema "corral.plan/1", docs/plan-schema.md) and the one
// validated reader of plan files. Field names follow the Plan struct and are
// public interface: corral run reads "scratch_dir", "timeout_multiplier" and the
// heavy_io / gpus ids; corral report reads the levels and the memory budget.
// This library sits below src/runtime/ and src/report/ and above src/common/
// only (no YAML, no probe): a test launch pays for nothing else.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "plan/plan.hpp"

namespace corral {

// A plan document that is not one: what() is "FILE: what is wrong; expected ..."
// (or, without a file, the same sentence without "FILE: "). Callers map it to
// their input-error exit code (docs/exit-codes.md: 2, or 125 for corral run).
class PlanError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

nlohmann::ordered_json to_json(const Plan& plan);

// The typed plan. Only "schema" is required (it must be exactly corral.plan/1);
// every other field has the default in plan.hpp when absent or null, so a
// hand-written partial plan loads. A present field of the wrong type or value
// (e.g. "cpus": "4", "timeout_multiplier": 0) is a PlanError naming the field.
Plan plan_from_json(const nlohmann::ordered_json& j);

// Reads and checks that `path` is a plan document: a readable file, JSON (with
// line and column when not), an object whose "schema" is corral.plan/1. A
// facts file (corral.facts/1), another document or another plan version is a
// PlanError naming the file, what it is and what was expected.
nlohmann::ordered_json read_plan_document(const std::string& path);

// read_plan_document + plan_from_json; every error starts with "FILE: ".
Plan read_plan_file(const std::string& path);

}  // namespace corral
