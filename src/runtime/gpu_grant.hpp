// GPUs CTest granted a test -> the visibility variables its runtime reads.
// A granted "gpus" id (a plan resource id, e.g. "nvidia1", "nvidia_mig0", "amd0")
// is handed back as the device's UUID where one is known, because a UUID names
// the same device whatever order or filter the runtime applies:
//   NVIDIA: CUDA_VISIBLE_DEVICES=GPU-<uuid> | MIG-<uuid> | MIG-GPU-<uuid>/<gi>/<ci>
//           (CUDA Programming Guide, "CUDA Environment Variables"; MIG User Guide,
//           "CUDA Device Enumeration")
//   AMD:    ROCR_VISIBLE_DEVICES=GPU-<hex uuid> and HIP_VISIBLE_DEVICES=0..n-1 (HIP
//           indexes into what ROCr shows; ROCm docs, "GPU isolation techniques")
// Without a UUID the index the runtime uses under the inherited variables.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace corral::launcher {

struct GpuHandle {
    std::string
        variable;       // "CUDA_VISIBLE_DEVICES" | "ROCR_VISIBLE_DEVICES" | "HIP_VISIBLE_DEVICES"
    std::string value;  // "GPU-…", "MIG-…", or an index
};
using GpuHandles = std::map<std::string, GpuHandle>;  // gpus id -> handle

// From a plan's "resources" array (corral.plan/1): the "gpus" ids' "visible_variable"
// and "visible_as". Entries without them are skipped.
GpuHandles gpu_handles_from_plan(const nlohmann::json& resources);

// The GPUs this host shows now (the probe's rules on "/" and this environment).
GpuHandles gpu_handles_from_host();

// Appends the variables for the granted ids to `env`; ids no handle names fall back
// to the id's trailing number as an index ("nvidia1" -> CUDA 1, "amd0" -> HIP 0,
// "gpu2"/"2" -> both), with a note; ids with no number are noted and skipped.
void translate_gpu_grants(const std::vector<std::string>& ids, const GpuHandles& handles,
                          std::vector<std::pair<std::string, std::string>>& env,
                          std::vector<std::string>& notes);

}  // namespace corral::launcher
