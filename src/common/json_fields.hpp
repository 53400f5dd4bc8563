// Reading optional fields of our own JSON documents (facts, plans): a missing
// key and null both mean "not known", so older or hand-edited files still load.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

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

// The schema of a records file's lines (src/runtime/records.hpp writes them).
inline constexpr const char* kRecordSchema = "corral.record/1";

// Whether `text`, read where another document was expected, is a records file
// (one corral.record/1 object per line): the usual mistake for a profile,
// which is made from one. Only the first line is parsed.
inline bool is_records_text(std::string_view text) {
    const auto first = text.substr(0, text.find('\n'));
    const auto doc = nlohmann::json::parse(first, nullptr, /*allow_exceptions=*/false);
    return doc.is_object() && doc.value("schema", "") == kRecordSchema;
}

}  // namespace corral::json_fields
