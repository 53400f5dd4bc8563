// Plan <-> JSON and the validated plan reader (docs/plan-schema.md).
#include "plan/plan_json.hpp"

#include <cmath>

#include "common/read_file.hpp"

namespace corral {
namespace {

using json = nlohmann::ordered_json;

// "an integer", "a string", ... for a field's expected type.
template <typename T>
const char* type_text() {
    if constexpr (std::is_same_v<T, bool>)
        return "true or false";
    else if constexpr (std::is_same_v<T, std::string>)
        return "a string";
    else if constexpr (std::is_same_v<T, double>)
        return "a number";
    else if constexpr (std::is_unsigned_v<T>)
        return "an integer >= 0";
    else
        return "an integer";
}

template <typename T>
bool has_type(const json& v) {
    if constexpr (std::is_same_v<T, bool>)
        return v.is_boolean();
    else if constexpr (std::is_same_v<T, std::string>)
        return v.is_string();
    else if constexpr (std::is_same_v<T, double>)
        return v.is_number();
    else if constexpr (std::is_unsigned_v<T>)
        return v.is_number_unsigned();
    else
        return v.is_number_integer() && v.get<long long>() >= std::numeric_limits<T>::min() &&
               v.get<long long>() <= std::numeric_limits<T>::max();
}

std::string kind_of(const json& v) {
    if (v.is_string()) return "the string " + v.dump();
    if (v.is_boolean()) return v.dump();
    if (v.is_number()) return "the number " + v.dump();
    if (v.is_array()) return "a list";
    if (v.is_object()) return "an object";
    return "null";
}

[[noreturn]] void bad_field(const std::string& where, const std::string& expected,
                            const json& got) {
    throw PlanError("field \"" + where + "\": expected " + expected + ", got " + kind_of(got));
}

// `key` of object `j` (at `where`, e.g. "resources[1].ids[0]"): its value, or
// `fallback` when absent or null.
template <typename T>
T field(const json& j, const char* key, T fallback, const std::string& where = {}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    const std::string path = where.empty() ? key : where + "." + key;
    if (!has_type<T>(*it)) bad_field(path, type_text<T>(), *it);
    return it->get<T>();
}

// The array at `key` (absent or null = empty); each element must be an object.
std::vector<std::pair<std::string, const json*>> objects(const json& j, const char* key,
                                                         const std::string& where = {}) {
    std::vector<std::pair<std::string, const json*>> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    const std::string path = where.empty() ? key : where + "." + key;
    if (!it->is_array()) bad_field(path, "a list", *it);
    for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string item = path + "[" + std::to_string(i) + "]";
        if (!(*it)[i].is_object()) bad_field(item, "an object", (*it)[i]);
        out.emplace_back(item, &(*it)[i]);
    }
    return out;
}

template <typename T>
T positive(const json& j, const char* key, T fallback) {
    T v = field<T>(j, key, fallback);
    if (!(v > 0) || !std::isfinite(static_cast<double>(v)))
        bad_field(key, std::string(type_text<T>()) + " above 0", j.at(key));
    return v;
}

// What a JSON document that is not a plan is, for the error.
std::string not_a_plan(const json& j) {
    const std::string expected = "expected a plan (\"schema\": \"" + std::string(kPlanSchema) +
                                 "\": plan.json from corral generate, or corral plan --json)";
    if (!j.is_object()) return "a JSON " + kind_of(j) + ", not an object; " + expected;
    auto it = j.find("schema");
    if (it == j.end() || !it->is_string())
        return "a JSON object without a \"schema\" string; " + expected;
    const auto schema = it->get<std::string>();
    if (schema.rfind("corral.facts/", 0) == 0)
        return "a facts document (\"schema\": \"" + schema +
               "\", from corral probe --json), not a plan; " + expected;
    if (schema.rfind("corral.plan/", 0) == 0)
        return "plan schema \"" + schema + "\" is not one this corral reads; " + expected;
    return "a \"" + schema + "\" document, not a plan; " + expected;
}

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
        warnings.push_back({{"code", w.code_name()}, {"message", w.message}});

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
    if (!j.is_object() || j.value("schema", json()) != kPlanSchema) throw PlanError(not_a_plan(j));
    Plan p;
    p.policy_file = field<std::string>(j, "policy_file", "");
    p.cpus = positive<int>(j, "cpus", p.cpus);
    p.cpus_source = field<std::string>(j, "cpus_source", "");
    p.cpus_reason = field<std::string>(j, "cpus_reason", "");
    p.memory_bytes = field<uint64_t>(j, "memory_bytes", 0);
    p.memory_source = field<std::string>(j, "memory_source", "");
    p.memory_reason = field<std::string>(j, "memory_reason", "");
    p.memory_reserve_bytes = field<uint64_t>(j, "memory_reserve_bytes", 0);
    p.memory_budget_bytes = field<uint64_t>(j, "memory_budget_bytes", 0);
    p.memory_budget_reason = field<std::string>(j, "memory_budget_reason", "");
    p.memory_per_test_bytes = field<uint64_t>(j, "memory_per_test_bytes", 0);
    p.test_parallel_level = positive<int>(j, "test_parallel_level", p.test_parallel_level);
    p.test_parallel_reason = field<std::string>(j, "test_parallel_reason", "");
    p.build_parallel_level = positive<int>(j, "build_parallel_level", p.build_parallel_level);
    p.build_parallel_reason = field<std::string>(j, "build_parallel_reason", "");
    for (const auto& [where, r] : objects(j, "resources")) {
        ResourceType type;
        type.name = field<std::string>(*r, "name", "", where);
        type.reason = field<std::string>(*r, "reason", "", where);
        for (const auto& [id_where, id] : objects(*r, "ids", where))
            type.ids.push_back({field<std::string>(*id, "id", "", id_where),
                                field<int>(*id, "slots", 1, id_where),
                                field<std::string>(*id, "detail", "", id_where),
                                field<std::string>(*id, "path", "", id_where),
                                field<std::string>(*id, "visible_variable", "", id_where),
                                field<std::string>(*id, "visible_as", "", id_where)});
        p.resources.push_back(std::move(type));
    }
    for (const auto& [where, pool] : objects(j, "pools"))
        p.pools.push_back({field<std::string>(*pool, "name", "", where),
                           field<int>(*pool, "depth", 1, where),
                           field<std::string>(*pool, "reason", "", where)});
    p.compile_pool = field<std::string>(j, "compile_pool", p.compile_pool);
    p.link_pool = field<std::string>(j, "link_pool", p.link_pool);
    p.scratch_dir = field<std::string>(j, "scratch_dir", "");
    p.scratch_filesystem_id = field<std::string>(j, "scratch_filesystem_id", "");
    p.scratch_reason = field<std::string>(j, "scratch_reason", "");
    p.timeout_multiplier = positive<double>(j, "timeout_multiplier", p.timeout_multiplier);
    p.timeout_reason = field<std::string>(j, "timeout_reason", "");
    p.test_timeout_seconds = positive<int>(j, "test_timeout_seconds", p.test_timeout_seconds);
    p.job_timeout_minutes = positive<int>(j, "job_timeout_minutes", p.job_timeout_minutes);
    p.stop_on_failure = field<bool>(j, "stop_on_failure", false);
    p.repeat_after_timeout = field<int>(j, "repeat_after_timeout", 0);
    p.tests_run_under_sudo = field<bool>(j, "tests_run_under_sudo", false);
    for (const auto& [where, v] : objects(j, "env"))
        p.env.push_back({field<std::string>(*v, "name", "", where),
                         field<std::string>(*v, "value", "", where),
                         field<std::string>(*v, "reason", "", where)});
    for (const auto& [where, w] : objects(j, "warnings")) {
        const auto name = field<std::string>(*w, "code", "", where);
        auto code = parse_warning_code(name);
        if (!code) {
            std::string known;
            for (const auto& [c, n] : kWarningCodeNames)
                known += (known.empty() ? "" : ", ") + std::string(n);
            bad_field(where + ".code", "a warning code (" + known + ")", w->at("code"));
        }
        p.warnings.push_back({*code, field<std::string>(*w, "message", "", where)});
    }
    return p;
}

json read_plan_document(const std::string& path) {
    auto text = read_file(path);
    if (!text)
        throw PlanError(path + ": cannot read the plan: " + text.error + "; expected a " +
                        kPlanSchema + " file (plan.json from corral generate)");
    json j;
    try {
        j = json::parse(*text);
    } catch (const json::parse_error& e) {
        // e.byte is 1-based; count lines and columns up to it.
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i + 1 < e.byte && i < (*text).size(); ++i) {
            if ((*text)[i] == '\n')
                ++line, column = 1;
            else
                ++column;
        }
        throw PlanError(path + ":" + std::to_string(line) + ":" + std::to_string(column) +
                        ": not valid JSON: " + e.what() + "; expected a " + kPlanSchema +
                        " document");
    }
    if (!j.is_object() || j.value("schema", json()) != kPlanSchema)
        throw PlanError(path + ": " + not_a_plan(j));
    return j;
}

Plan read_plan_file(const std::string& path) {
    auto j = read_plan_document(path);
    try {
        return plan_from_json(j);
    } catch (const PlanError& e) {
        throw PlanError(path + ": " + e.what());
    }
}

}  // namespace corral
