// resources.json: the CTest resource specification file (ctest(1), "Resource
// Allocation"): {"version":{"major":1,"minor":0},"local":[{TYPE:[{id,slots}]}]}.
// CTest rejects the whole file on one bad name, so check here and say which.
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "generator/emit.hpp"

namespace corral {
namespace {

bool matches(const std::string& s, const char* pattern) {
    return std::regex_match(s, std::regex(pattern));
}

}  // namespace

namespace emit_detail {

void check_resources(const Plan& plan) {
    std::set<std::string> types;
    for (const auto& type : plan.resources) {
        if (!matches(type.name, "[a-z_][a-z0-9_]*"))
            throw EmitError("CTest resource type \"" + type.name +
                            "\" is not valid: expected ^[a-z_][a-z0-9_]*$");
        if (!types.insert(type.name).second)
            throw EmitError("CTest resource type \"" + type.name + "\" appears twice");
        std::set<std::string> seen;
        for (const auto& id : type.ids) {
            if (!matches(id.id, "[a-z0-9_]+"))
                throw EmitError("CTest resource id \"" + id.id + "\" of type " + type.name +
                                " is not valid: expected ^[a-z0-9_]+$");
            if (!seen.insert(id.id).second)
                throw EmitError("CTest resource id \"" + id.id + "\" appears twice in type " +
                                type.name);
            if (id.slots < 1)
                throw EmitError("CTest resource " + type.name + ":" + id.id + " has " +
                                std::to_string(id.slots) + " slots; expected at least 1");
        }
    }
}

}  // namespace emit_detail

std::string emit_resource_spec(const Plan& plan) {
    emit_detail::check_resources(plan);
    nlohmann::ordered_json local = nlohmann::ordered_json::object();
    for (const auto& type : plan.resources) {
        auto ids = nlohmann::ordered_json::array();
        for (const auto& id : type.ids)
            ids.push_back({{"id", id.id}, {"slots", id.slots}});
        local[type.name] = std::move(ids);
    }
    nlohmann::ordered_json spec = {{"version", {{"major", 1}, {"minor", 0}}},
                                   {"local", nlohmann::ordered_json::array({local})}};
    return spec.dump(2) + "\n";
}

}  // namespace corral
