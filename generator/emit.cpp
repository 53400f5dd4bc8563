// Helpers shared by the emitters: quoting for each target language and the
// template filler. Each is exact for every input it accepts and refuses the rest.
#include <algorithm>
#include <map>

#include "generator/emit.hpp"

namespace corral::emit_detail {

std::string shell_quote(std::string_view value) {
    if (value.find('\0') != std::string_view::npos)
        throw EmitError("a shell value cannot hold a NUL byte");
    std::string out = "'";
    for (char c : value) {
        if (c == '\'')
            out += "'\\''";  // close, escaped quote, reopen
        else
            out += c;
    }
    out += '\'';
    return out;
}

std::string cmake_bracket(std::string_view value) {
    // Use the fewest '=' such that the closing bracket first occurs at the end
    // (also when the value itself ends in ']' or ']=').
    std::string equals;
    auto closes_early = [&] {
        std::string closer = "]" + equals + "]";
        return (std::string(value) + closer).find(closer) != value.size();
    };
    while (closes_early())
        equals += '=';
    std::string out = "[" + equals + "[";
    // CMake drops a newline right after the opening bracket; keep a leading one.
    if (!value.empty() && value.front() == '\n') out += '\n';
    out.append(value);
    out += "]" + equals + "]";
    return out;
}

void check_env_name(std::string_view name) {
    auto is_first = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    };
    auto is_rest = [&](char c) { return is_first(c) || (c >= '0' && c <= '9'); };
    if (name.empty() || !is_first(name.front()) ||
        !std::all_of(name.begin() + 1, name.end(), is_rest))
        throw EmitError("environment variable name \"" + std::string(name) +
                        "\" is not valid: expected letters, digits and '_', not starting "
                        "with a digit");
}

std::string fill_template(std::string_view text, std::string_view template_name,
                          const std::vector<std::pair<std::string, std::string>>& values) {
    std::map<std::string, bool, std::less<>> used;
    for (const auto& [key, value] : values) {
        used[key] = false;
        // Values land inside YAML and shell lines: one line of printable text.
        for (char c : value)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                throw EmitError("template value for @" + key + "@ holds a control character");
    }
    std::string out;
    size_t pos = 0;
    while (true) {
        size_t at = text.find('@', pos);
        if (at == std::string_view::npos) break;
        size_t end = text.find('@', at + 1);
        if (end == std::string_view::npos) break;
        std::string_view key = text.substr(at + 1, end - at - 1);
        bool is_key = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
        });
        if (!is_key) {  // a lone '@' (e.g. actions/checkout@v4): copy and move on
            out.append(text.substr(pos, at + 1 - pos));
            pos = at + 1;
            continue;
        }
        auto it = std::find_if(values.begin(), values.end(),
                               [&](const auto& kv) { return kv.first == key; });
        if (it == values.end())
            throw EmitError("template " + std::string(template_name) + " has placeholder @" +
                            std::string(key) + "@ that corral does not fill");
        used[it->first] = true;
        out.append(text.substr(pos, at - pos));
        out += it->second;
        pos = end + 1;
    }
    out.append(text.substr(pos));
    for (const auto& [key, was_used] : used)
        if (!was_used)
            throw EmitError("template " + std::string(template_name) + " lacks placeholder @" +
                            key + "@");
    return out;
}

}  // namespace corral::emit_detail
