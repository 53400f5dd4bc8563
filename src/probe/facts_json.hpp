// Facts <-> JSON (nlohmann/json). The JSON field names are public interface.
#pragma once

#include <nlohmann/json.hpp>

#include "probe/facts.hpp"

namespace corral {

nlohmann::ordered_json to_json(const Facts& facts);
// Throws nlohmann::json::exception (or std::runtime_error for a wrong schema).
Facts facts_from_json(const nlohmann::ordered_json& j);

}  // namespace corral
