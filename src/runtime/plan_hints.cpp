#include "runtime/plan_hints.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/host_root.hpp"

namespace corral::launcher {

PlanHints load_plan_hints(const std::string& path) {
    auto text = read_file(path);
    if (!text) throw std::runtime_error(path + ": " + text.error);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::parse_error& e) {
        throw std::runtime_error(path + ": not valid JSON: " + e.what());
    }
    PlanHints h;
    if (!j.is_object()) throw std::runtime_error(path + ": expected a JSON object (corral.plan/1)");
    if (auto it = j.find("scratch_dir"); it != j.end() && it->is_string() && !it->empty())
        h.scratch_dir = it->get<std::string>();
    if (auto it = j.find("timeout_multiplier"); it != j.end()) {
        if (!it->is_number() || !(it->get<double>() > 0))
            throw std::runtime_error(path + ": \"timeout_multiplier\" must be a positive number");
        h.timeout_multiplier = it->get<double>();
    }
    if (auto it = j.find("resources"); it != j.end() && it->is_array()) {
        h.gpu_handles = gpu_handles_from_plan(*it);
        for (const auto& r : *it) {
            if (!r.is_object() || r.value("name", "") != "heavy_io") continue;
            for (const auto& id : r.value("ids", nlohmann::json::array())) {
                if (!id.is_object()) continue;
                auto name = id.value("id", "");
                auto dir = id.value("path", "");
                if (!name.empty() && !dir.empty()) h.heavy_io_paths[name] = dir;
            }
        }
    }
    return h;
}

}  // namespace corral::launcher
