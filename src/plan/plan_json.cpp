// Plan <-> JSON and the validated plan reader (docs/plan-schema.md).
#include "plan/plan_json.hpp"

#include <cmath>
#include <tuple>
#include <type_traits>
#include <vector>

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

// "resources[1].ids[0].slots": `key` inside the object at `where` ("" = the top).
std::string path_of(const std::string& where, const char* key) {
    return where.empty() ? std::string(key) : where + "." + key;
}

// `key` of object `j` (at `where`, e.g. "resources[1].ids[0]"): its value, or
// `fallback` when absent or null.
template <typename T>
T field(const json& j, const char* key, T fallback, const std::string& where = {}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!has_type<T>(*it)) bad_field(path_of(where, key), type_text<T>(), *it);
    return it->get<T>();
}

// The array at `key` (absent or null = empty); each element must be an object.
std::vector<std::pair<std::string, const json*>> objects(const json& j, const char* key,
                                                         const std::string& where = {}) {
    std::vector<std::pair<std::string, const json*>> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    const std::string path = path_of(where, key);
    if (!it->is_array()) bad_field(path, "a list", *it);
    for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string item = path + "[" + std::to_string(i) + "]";
        if (!(*it)[i].is_object()) bad_field(item, "an object", (*it)[i]);
        out.emplace_back(item, &(*it)[i]);
    }
    return out;
}

template <typename T>
T positive(const json& j, const char* key, T fallback, const std::string& where) {
    T v = field<T>(j, key, fallback, where);
    if (!(v > 0) || !std::isfinite(static_cast<double>(v)))
        bad_field(path_of(where, key), std::string(type_text<T>()) + " above 0", j.at(key));
    return v;
}

// ---- the fields of corral.plan/1: one table per object, in document order;
// the writer and the reader both walk it (docs/plan-schema.md lists them).

// What the reader checks beyond the type.
enum class Check { any, positive };

// One field of an object of type S: its key, the member that holds it, the
// check, and when it is written (nullptr: always).
template <typename S, typename T>
struct Field {
    const char* key;
    T S::*member;
    Check check = Check::any;
    bool (*written)(const S&) = nullptr;
};

template <typename S, typename T>
constexpr Field<S, T> f(const char* key, T S::*member, Check check = Check::any,
                        bool (*written)(const S&) = nullptr) {
    return {key, member, check, written};
}

// Fields<S>::list: a std::tuple of Field<S, ...>.
template <typename S>
struct Fields;

template <>
struct Fields<ResourceId> {
    // gpus ids only: how corral run hands the device to a test.
    static bool gpu(const ResourceId& id) { return !id.visible_variable.empty(); }
    static constexpr auto list = std::tuple{
        f("id", &ResourceId::id),
        f("slots", &ResourceId::slots),
        f("detail", &ResourceId::detail),
        f("path", &ResourceId::path),
        f("visible_variable", &ResourceId::visible_variable, Check::any, &gpu),
        f("visible_as", &ResourceId::visible_as, Check::any, &gpu),
    };
};

template <>
struct Fields<ResourceType> {
    static constexpr auto list = std::tuple{
        f("name", &ResourceType::name),
        f("reason", &ResourceType::reason),
        f("ids", &ResourceType::ids),
    };
};

template <>
struct Fields<Pool> {
    static constexpr auto list = std::tuple{
        f("name", &Pool::name),
        f("depth", &Pool::depth),
        f("reason", &Pool::reason),
    };
};

template <>
struct Fields<EnvVar> {
    static constexpr auto list = std::tuple{
        f("name", &EnvVar::name),
        f("value", &EnvVar::value),
        f("reason", &EnvVar::reason),
    };
};

template <>
struct Fields<Warning> {
    static constexpr auto list = std::tuple{
        f("code", &Warning::code),  // required: a name of kWarningCodeNames
        f("message", &Warning::message),
    };
};

template <>
struct Fields<Plan> {
    static constexpr auto list = std::tuple{
        f("schema", &Plan::schema),
        f("policy_file", &Plan::policy_file),
        f("cpus", &Plan::cpus, Check::positive),
        f("cpus_source", &Plan::cpus_source),
        f("cpus_reason", &Plan::cpus_reason),
        f("memory_bytes", &Plan::memory_bytes),
        f("memory_source", &Plan::memory_source),
        f("memory_reason", &Plan::memory_reason),
        f("memory_reserve_bytes", &Plan::memory_reserve_bytes),
        f("memory_budget_bytes", &Plan::memory_budget_bytes),
        f("memory_budget_reason", &Plan::memory_budget_reason),
        f("memory_per_test_bytes", &Plan::memory_per_test_bytes),
        f("test_parallel_level", &Plan::test_parallel_level, Check::positive),
        f("test_parallel_reason", &Plan::test_parallel_reason),
        f("build_parallel_level", &Plan::build_parallel_level, Check::positive),
        f("build_parallel_reason", &Plan::build_parallel_reason),
        f("resources", &Plan::resources),
        f("pools", &Plan::pools),
        f("compile_pool", &Plan::compile_pool),
        f("link_pool", &Plan::link_pool),
        f("scratch_dir", &Plan::scratch_dir),
        f("scratch_filesystem_id", &Plan::scratch_filesystem_id),
        f("scratch_reason", &Plan::scratch_reason),
        f("timeout_multiplier", &Plan::timeout_multiplier, Check::positive),
        f("timeout_reason", &Plan::timeout_reason),
        f("test_timeout_seconds", &Plan::test_timeout_seconds, Check::positive),
        f("job_timeout_minutes", &Plan::job_timeout_minutes, Check::positive),
        f("stop_on_failure", &Plan::stop_on_failure),
        f("repeat_after_timeout", &Plan::repeat_after_timeout),
        f("tests_run_under_sudo", &Plan::tests_run_under_sudo),
        f("env", &Plan::env),
        f("warnings", &Plan::warnings),
    };
};

template <typename T>
inline constexpr bool is_list = false;
template <typename E>
inline constexpr bool is_list<std::vector<E>> = true;

template <typename S>
json write_object(const S& s);

template <typename T>
json write_value(const T& v) {
    if constexpr (is_list<T>) {
        json out = json::array();
        for (const auto& e : v)
            out.push_back(write_object(e));
        return out;
    } else if constexpr (std::is_same_v<T, WarningCode>) {
        return std::string(warning_code_name(v));
    } else {
        return v;
    }
}

template <typename S>
json write_object(const S& s) {
    json j = json::object();
    std::apply(
        [&](const auto&... spec) {
            ((spec.written && !spec.written(s) ? void()
                                               : void(j[spec.key] = write_value(s.*spec.member))),
             ...);
        },
        Fields<S>::list);
    return j;
}

template <typename S>
S read_object(const json& j, const std::string& where);

// Field `key` of `j` (at `where`): absent or null is `fallback` (the default
// of plan.hpp), except a warning's code, which is required.
template <typename T>
T read_value(const json& j, const char* key, T fallback, Check check, const std::string& where) {
    if constexpr (is_list<T>) {
        T out;
        for (const auto& [item, e] : objects(j, key, where))
            out.push_back(read_object<typename T::value_type>(*e, item));
        return out;
    } else if constexpr (std::is_same_v<T, WarningCode>) {
        if (auto code = parse_warning_code(field<std::string>(j, key, "", where))) return *code;
        std::string known;
        for (const auto& [c, n] : kWarningCodeNames)
            known += (known.empty() ? "" : ", ") + std::string(n);
        auto it = j.find(key);
        bad_field(path_of(where, key), "a warning code (" + known + ")",
                  it == j.end() ? json() : *it);
    } else if constexpr (std::is_arithmetic_v<T>) {
        return check == Check::positive ? positive<T>(j, key, fallback, where)
                                        : field<T>(j, key, fallback, where);
    } else {
        return field<T>(j, key, fallback, where);
    }
}

// An S from the object `j` at `where`: every field of Fields<S> in order (the
// first bad one is the error), starting from S's defaults.
template <typename S>
S read_object(const json& j, const std::string& where) {
    S s{};
    std::apply(
        [&](const auto&... spec) {
            ((s.*spec.member = read_value(j, spec.key, s.*spec.member, spec.check, where)), ...);
        },
        Fields<S>::list);
    return s;
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
    return write_object(p);
}

Plan plan_from_json(const json& j) {
    if (!j.is_object() || j.value("schema", json()) != kPlanSchema) throw PlanError(not_a_plan(j));
    return read_object<Plan>(j, "");
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
