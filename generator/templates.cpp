#include "generator/templates.hpp"

#include <stdexcept>
#include <string>

namespace corral {

std::string_view embedded_template(std::string_view name) {
    for (const auto& t : embedded_templates())
        if (t.name == name) return t.text;
    throw std::out_of_range("no embedded template named " + std::string(name));
}

}  // namespace corral
