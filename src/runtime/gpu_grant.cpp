#include "runtime/gpu_grant.hpp"

#include "common/text.hpp"
#include "kernel/host.hpp"
#include "probe/probe.hpp"

namespace corral::launcher {

GpuHandles gpu_handles_from_plan(const nlohmann::json& resources) {
    GpuHandles out;
    if (!resources.is_array()) return out;
    for (const auto& r : resources) {
        if (!r.is_object() || r.value("name", "") != "gpus") continue;
        for (const auto& id : r.value("ids", nlohmann::json::array())) {
            if (!id.is_object()) continue;
            auto name = id.value("id", "");
            auto variable = id.value("visible_variable", "");
            auto value = id.value("visible_as", "");
            if (!name.empty() && !variable.empty() && !value.empty()) out[name] = {variable, value};
        }
    }
    return out;
}

GpuHandles gpu_handles_from_host() {
    GpuHandles out;
    for (const auto& g : probe_gpus(live_host(), current_environment()))
        if (!g.variable.empty() && !g.visible_as.empty()) out[g.id] = {g.variable, g.visible_as};
    return out;
}

void translate_gpu_grants(const std::vector<std::string>& ids, const GpuHandles& handles,
                          std::vector<std::pair<std::string, std::string>>& env,
                          std::vector<std::string>& notes) {
    std::vector<std::string> cuda, rocr, hip;
    for (const auto& id : ids) {
        if (auto it = handles.find(id); it != handles.end()) {
            const auto& h = it->second;
            if (h.variable == "CUDA_VISIBLE_DEVICES") cuda.push_back(h.value);
            if (h.variable == "ROCR_VISIBLE_DEVICES") rocr.push_back(h.value);
            if (h.variable == "HIP_VISIBLE_DEVICES") hip.push_back(h.value);
            continue;
        }
        const size_t digits = id.find_first_of("0123456789");
        const std::string prefix = id.substr(0, digits);
        const std::string index = digits == std::string::npos ? "" : id.substr(digits);
        if (index.empty() || !parse_u64(index)) {
            notes.push_back("gpus id '" + id + "' has no device index; not exported");
            continue;
        }
        if (prefix != "nvidia" && prefix != "amd" && !prefix.empty() && prefix != "gpu") {
            notes.push_back("gpus id '" + id + "': unknown vendor prefix; not exported");
            continue;
        }
        notes.push_back("gpus id '" + id +
                        "': no GPU with this id on this host or in --plan; "
                        "handed over as index " +
                        index);
        if (prefix == "nvidia" || prefix.empty() || prefix == "gpu") cuda.push_back(index);
        if (prefix == "amd" || prefix.empty() || prefix == "gpu") hip.push_back(index);
    }
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v)
            s += (s.empty() ? "" : ",") + x;
        return s;
    };
    if (!cuda.empty()) env.emplace_back("CUDA_VISIBLE_DEVICES", join(cuda));
    if (!rocr.empty()) {
        env.emplace_back("ROCR_VISIBLE_DEVICES", join(rocr));
        // HIP indexes into what ROCr shows: the granted devices are 0..n-1 there.
        if (hip.empty())
            for (size_t i = 0; i < rocr.size(); ++i)
                hip.push_back(std::to_string(i));
        else
            notes.push_back("granted AMD GPUs mix UUIDs and indices; HIP_VISIBLE_DEVICES=" +
                            join(hip) + " applies under ROCR_VISIBLE_DEVICES=" + join(rocr));
    }
    if (!hip.empty()) env.emplace_back("HIP_VISIBLE_DEVICES", join(hip));
}

}  // namespace corral::launcher
