// The files of templates/, embedded into the binary at build time
// (generator/embed_templates.cmake), so corral needs no data files at run time.
#pragma once

#include <string_view>
#include <vector>

namespace corral {

struct EmbeddedTemplate {
    std::string_view name;  // file name under templates/, e.g. "github-workflow.yml"
    std::string_view text;
};

const std::vector<EmbeddedTemplate>& embedded_templates();

// The text of templates/<name>; throws std::out_of_range if there is none.
std::string_view embedded_template(std::string_view name);

}  // namespace corral
