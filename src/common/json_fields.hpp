// Reading optional fields of our own JSON documents (facts, plans): a missing
// key and null both mean "not known", so older or hand-edited files still load.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

namespace corral::json_fields {

template <typename T>
std::optional<T> get_opt(const nlohmann::ordered_json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return it->get<T>();
}

template <typename T>
T get_or(const nlohmann::ordered_json& j, const char* key, T fallback) {
    return get_opt<T>(j, key).value_or(std::move(fallback));
}

}  // namespace corral::json_fields
