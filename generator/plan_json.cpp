#include "generator/plan_json.hpp"

#include <stdexcept>

#include "common/json_fields.hpp"

namespace corral {
namespace {

using json = nlohmann::ordered_json;

using json_fields::get_or;

}  // namespace

json to_json(const Plan& p) {
    json resources = json::array();
    for (const auto& r : p.resources) {
        json ids = json::array();
        for (const auto& id : r.ids) {
            json one = {
                {"id", id.id}, {"slots", id.slots}, {"detail", id.detail}, {"path", id.path}};
            if (!id.visible_variable.empty()) {
                one["visible_variable"] = id.visible_variable;
                one["visible_as"] = id.visible_as;
            }
            ids.push_back(std::move(one));
        }
        resources.push_back({{"name", r.name}, {"reason", r.reason}, {"ids", ids}});
    }
    json pools = json::array();
    for (const auto& pool : p.pools)
        pools.push_back({{"name", pool.name}, {"depth", pool.depth}, {"reason", pool.reason}});
    json env = json::array();
    for (const auto& v : p.env)
        env.push_back({{"name", v.name}, {"value", v.value}, {"reason", v.reason}});
    json warnings = json::array();
    for (const auto& w : p.warnings)
        warnings.push_back({{"code", w.code}, {"message", w.message}});

    json j;
    j["schema"] = p.schema;
    j["policy_file"] = p.policy_file;
    j["cpus"] = p.cpus;
    j["cpus_source"] = p.cpus_source;
    j["cpus_reason"] = p.cpus_reason;
    j["memory_bytes"] = p.memory_bytes;
    j["memory_source"] = p.memory_source;
    j["memory_reason"] = p.memory_reason;
    j["memory_reserve_bytes"] = p.memory_reserve_bytes;
    j["memory_budget_bytes"] = p.memory_budget_bytes;
    j["memory_budget_reason"] = p.memory_budget_reason;
    j["memory_per_test_bytes"] = p.memory_per_test_bytes;
    j["test_parallel_level"] = p.test_parallel_level;
    j["test_parallel_reason"] = p.test_parallel_reason;
    j["build_parallel_level"] = p.build_parallel_level;
    j["build_parallel_reason"] = p.build_parallel_reason;
    j["resources"] = resources;
    j["pools"] = pools;
    j["compile_pool"] = p.compile_pool;
    j["link_pool"] = p.link_pool;
    j["scratch_dir"] = p.scratch_dir;
    j["scratch_filesystem_id"] = p.scratch_filesystem_id;
    j["scratch_reason"] = p.scratch_reason;
    j["timeout_multiplier"] = p.timeout_multiplier;
    j["timeout_reason"] = p.timeout_reason;
    j["test_timeout_seconds"] = p.test_timeout_seconds;
    j["job_timeout_minutes"] = p.job_timeout_minutes;
    j["stop_on_failure"] = p.stop_on_failure;
    j["repeat_after_timeout"] = p.repeat_after_timeout;
    j["tests_run_under_sudo"] = p.tests_run_under_sudo;
    j["env"] = env;
    j["warnings"] = warnings;
    return j;
}

Plan plan_from_json(const json& j) {
    Plan p;
    p.schema = j.at("schema").get<std::string>();
    if (p.schema != kPlanSchema)
        throw std::runtime_error("unsupported plan schema '" + p.schema + "', expected '" +
                                 kPlanSchema + "'");
    p.policy_file = get_or<std::string>(j, "policy_file", "");
    p.cpus = j.at("cpus").get<int>();
    p.cpus_source = get_or<std::string>(j, "cpus_source", "");
    p.cpus_reason = get_or<std::string>(j, "cpus_reason", "");
    p.memory_bytes = get_or<uint64_t>(j, "memory_bytes", 0);
    p.memory_source = get_or<std::string>(j, "memory_source", "");
    p.memory_reason = get_or<std::string>(j, "memory_reason", "");
    p.memory_reserve_bytes = get_or<uint64_t>(j, "memory_reserve_bytes", 0);
    p.memory_budget_bytes = get_or<uint64_t>(j, "memory_budget_bytes", 0);
    p.memory_budget_reason = get_or<std::string>(j, "memory_budget_reason", "");
    p.memory_per_test_bytes = get_or<uint64_t>(j, "memory_per_test_bytes", 0);
    p.test_parallel_level = j.at("test_parallel_level").get<int>();
    p.test_parallel_reason = get_or<std::string>(j, "test_parallel_reason", "");
    p.build_parallel_level = j.at("build_parallel_level").get<int>();
    p.build_parallel_reason = get_or<std::string>(j, "build_parallel_reason", "");
    for (const auto& r : j.at("resources")) {
        ResourceType type;
        type.name = r.at("name").get<std::string>();
        type.reason = get_or<std::string>(r, "reason", "");
        for (const auto& id : r.at("ids"))
            type.ids.push_back({id.at("id").get<std::string>(), id.at("slots").get<int>(),
                                get_or<std::string>(id, "detail", ""),
                                get_or<std::string>(id, "path", ""),
                                get_or<std::string>(id, "visible_variable", ""),
                                get_or<std::string>(id, "visible_as", "")});
        p.resources.push_back(std::move(type));
    }
    for (const auto& pool : j.at("pools"))
        p.pools.push_back({pool.at("name").get<std::string>(), pool.at("depth").get<int>(),
                           get_or<std::string>(pool, "reason", "")});
    p.compile_pool = get_or<std::string>(j, "compile_pool", "compile");
    p.link_pool = get_or<std::string>(j, "link_pool", "link");
    p.scratch_dir = get_or<std::string>(j, "scratch_dir", "");
    p.scratch_filesystem_id = get_or<std::string>(j, "scratch_filesystem_id", "");
    p.scratch_reason = get_or<std::string>(j, "scratch_reason", "");
    p.timeout_multiplier = get_or<double>(j, "timeout_multiplier", 1.0);
    p.timeout_reason = get_or<std::string>(j, "timeout_reason", "");
    p.test_timeout_seconds = get_or<int>(j, "test_timeout_seconds", p.test_timeout_seconds);
    p.job_timeout_minutes = get_or<int>(j, "job_timeout_minutes", p.job_timeout_minutes);
    p.stop_on_failure = get_or<bool>(j, "stop_on_failure", false);
    p.repeat_after_timeout = get_or<int>(j, "repeat_after_timeout", 0);
    p.tests_run_under_sudo = get_or<bool>(j, "tests_run_under_sudo", false);
    for (const auto& v : j.value("env", json::array()))
        p.env.push_back({v.at("name").get<std::string>(), v.at("value").get<std::string>(),
                         get_or<std::string>(v, "reason", "")});
    for (const auto& w : j.value("warnings", json::array()))
        p.warnings.push_back({w.at("code").get<std::string>(), w.at("message").get<std::string>()});
    return p;
}

}  // namespace corral
