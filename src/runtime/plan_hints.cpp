#include "runtime/plan_hints.hpp"

#include "plan/plan_json.hpp"

namespace corral::launcher {

PlanHints load_plan_hints(const std::string& path) {
    const Plan plan = read_plan_file(path);  // validated: throws PlanError "FILE: ..."
    PlanHints h;
    if (!plan.scratch_dir.empty()) h.scratch_dir = plan.scratch_dir;
    h.timeout_multiplier = plan.timeout_multiplier;
    for (const auto& r : plan.resources)
        for (const auto& id : r.ids) {
            if (r.name == "heavy_io" && !id.id.empty() && !id.path.empty())
                h.heavy_io_paths[id.id] = id.path;
            if (r.name == "gpus" && !id.id.empty() && !id.visible_variable.empty() &&
                !id.visible_as.empty())
                h.gpu_handles[id.id] = {id.visible_variable, id.visible_as};
        }
    return h;
}

}  // namespace corral::launcher
