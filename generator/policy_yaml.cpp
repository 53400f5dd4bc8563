// corral.yaml: the YAML reader over the knob table (policy_knobs.cpp). Every
// error names the file, line, column, key path and what was expected; an
// unknown key gets a did-you-mean (docs/policy.md).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <set>

#include "common/read_file.hpp"
#include "common/text.hpp"
#include "generator/policy.hpp"
#include "generator/policy_internal.hpp"
#include "generator/policy_knobs.hpp"

namespace corral {
namespace {

using namespace policy_detail;

// Top-level keys: "version", each knob path's section, "env".
std::vector<std::string> sections() {
    std::vector<std::string> s = {"version"};
    for (const auto& k : knob_table()) {
        auto section = k.path.substr(0, k.path.find('.'));
        if (std::find(s.begin(), s.end(), section) == s.end()) s.push_back(section);
    }
    return s;
}

std::vector<std::string> keys_of_section(const std::string& section) {
    std::vector<std::string> out;
    for (const auto& k : knob_table())
        if (k.path.rfind(section + ".", 0) == 0) out.push_back(k.path.substr(section.size() + 1));
    return out;
}

// Whether the leading whitespace of 1-based line `line` of `text` holds a tab.
bool indented_with_tab(std::string_view text, size_t line) {
    size_t at = 0;
    for (size_t n = 1; n < line && at != std::string_view::npos; ++n) {
        at = text.find('\n', at);
        if (at != std::string_view::npos) ++at;
    }
    if (at == std::string_view::npos) return false;
    for (; at < text.size() && (text[at] == ' ' || text[at] == '\t'); ++at)
        if (text[at] == '\t') return true;
    return false;
}

class YamlLoader {
  public:
    YamlLoader(Policy& policy, std::string file) : policy_(policy), file_(std::move(file)) {}

    void load(std::string_view text) {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(text));
        } catch (const YAML::ParserException& e) {
            // yaml-cpp names a tab in the indentation only by its effect
            // ("illegal map value"); YAML indents with spaces (YAML 1.2, 6.1).
            // Said only of the line the error is on.
            std::string hint;
            if (const size_t line = static_cast<size_t>(e.mark.line) + 1;
                e.mark.line >= 0 && indented_with_tab(text, line))
                hint = cat({" (line ", std::to_string(line),
                            " is indented with a tab: YAML indents with spaces only)"});
            throw PolicyError::other(file_, e.mark.line + 1, e.mark.column + 1, "",
                                     "YAML syntax error: " + e.msg + hint);
        }
        if (!root || root.IsNull()) return;  // an empty file: all defaults
        if (!root.IsMap())
            origin(root, "").fail_raw("a mapping of sections (cpu, memory, build, ...)",
                                      describe(root));
        for (const auto& [key_node, value] : entries(root, "")) {
            const std::string key = key_node.Scalar();
            if (key == "version") {
                auto o = origin(value, "version");
                if (!value.IsScalar() || trimmed(value.Scalar()) != "1")
                    o.fail_raw("1 (the only policy format so far)", describe(value));
                continue;
            }
            if (key == "env") {
                load_env(value);
                continue;
            }
            if (const auto known = sections();
                std::find(known.begin(), known.end(), key) == known.end())
                unknown_key(key_node, key, "", known);
            load_section(key, value);
        }
    }

  private:
    Policy& policy_;
    std::string file_;

    Origin origin(const YAML::Node& node, std::string key) const {
        const auto mark = node.Mark();
        return Origin{file_, mark.line + 1, mark.column + 1, std::move(key)};
    }

    static std::string describe(const YAML::Node& node) {
        if (node.IsScalar()) return quote_text(node.Scalar());
        if (node.IsMap()) return "a mapping";
        if (node.IsSequence()) return "a list";
        return "nothing";
    }

    // Map entries in file order; duplicate keys are errors (yaml-cpp keeps both).
    std::vector<std::pair<YAML::Node, YAML::Node>> entries(const YAML::Node& map,
                                                           const std::string& prefix) const {
        std::vector<std::pair<YAML::Node, YAML::Node>> out;
        std::set<std::string> seen;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key = it->first;
            const std::string path = prefix.empty() ? key.Scalar() : prefix + "." + key.Scalar();
            if (!key.IsScalar()) origin(key, prefix).fail_raw("a plain key", describe(key));
            if (!seen.insert(key.Scalar()).second)
                origin(key, path).fail_message("duplicate key (it appears earlier in the file)");
            out.emplace_back(key, it->second);
        }
        return out;
    }

    [[noreturn]] void unknown_key(const YAML::Node& key_node, const std::string& key,
                                  const std::string& prefix,
                                  const std::vector<std::string>& known) const {
        const std::string path = prefix.empty() ? key : prefix + "." + key;
        std::string message = "unknown key";
        if (auto guess = did_you_mean(key, known); !guess.empty()) {
            message += "; did you mean \"" + guess + "\"?";
        } else {
            // A known key in the wrong section ("per_test" at the top level)?
            std::string placed;
            for (const auto& knob : knob_table()) {
                const std::string& full = knob.path;
                auto leaf = full.substr(full.find('.') + 1);
                if (edit_distance(lower(key), leaf) <= 1) placed = full;
            }
            if (!placed.empty())
                message += "; did you mean \"" + placed + "\"?";
            else {
                std::string list;
                for (const auto& k : known)
                    list += (list.empty() ? "" : ", ") + k;
                message += " (known here: " + list + ")";
            }
        }
        origin(key_node, path).fail_message(message);
    }

    void load_section(const std::string& section, const YAML::Node& node) {
        if (node.IsNull()) return;  // "memory:" with nothing under it
        if (!node.IsMap()) origin(node, section).fail_raw("a mapping of keys", describe(node));
        const auto known = keys_of_section(section);
        for (const auto& [key_node, value] : entries(node, section)) {
            const std::string key = key_node.Scalar();
            const std::string path = section + "." + key;
            if (std::find(known.begin(), known.end(), key) == known.end())
                unknown_key(key_node, key, section, known);
            if (path == "build.pools")
                load_pools(value);
            else if (path == "scratch.candidates")
                load_candidates(value);
            else if (path == "resources.named")
                load_named(value);
            else if (path == "tests.sanitizers")
                load_sanitizers(value);
            else
                load_scalar(path, value);
        }
    }

    void load_scalar(const std::string& path, const YAML::Node& value) {
        auto o = origin(value, path);
        if (value.IsNull()) {
            if (knob_nullable(path)) return apply_knob(policy_, path, "auto", o);
            o.fail("a value", std::nullopt);
        }
        if (!value.IsScalar()) o.fail_raw("a single value", describe(value));
        apply_knob(policy_, path, value.Scalar(), o);
    }

    void load_pools(const YAML::Node& node) {
        if (node.IsNull()) return;
        if (!node.IsMap())
            origin(node, "build.pools")
                .fail_raw("a mapping of pool names to {depth: N} or {memory_per_job: SIZE}",
                          describe(node));
        static const std::regex name_re("^[A-Za-z_][A-Za-z0-9_]*$");
        for (const auto& [key_node, value] : entries(node, "build.pools")) {
            const std::string name = key_node.Scalar();
            const std::string path = "build.pools." + name;
            if (!std::regex_match(name, name_re))
                origin(key_node, path).fail("a pool name of letters, digits and _", name);
            if (name == "compile" || name == "link" || name == "console")
                origin(key_node, path)
                    .fail_message("\"" + name +
                                  "\" is built in; size it with build.compile_job_memory / "
                                  "build.link_job_memory");
            ExtraPool pool{name, std::nullopt, std::nullopt, origin(value, path).source()};
            if (value.IsScalar()) {  // shorthand: "lto: 2" is a depth
                pool.depth = int(int_value(value.Scalar(), origin(value, path), 1, 1 << 20));
            } else if (value.IsMap()) {
                for (const auto& [k, v] : entries(value, path)) {
                    const std::string sub = k.Scalar();
                    auto o = origin(v, path + "." + sub);
                    if (!v.IsScalar()) o.fail_raw("a single value", describe(v));
                    if (sub == "depth")
                        pool.depth = int(int_value(v.Scalar(), o, 1, 1 << 20));
                    else if (sub == "memory_per_job")
                        pool.memory_per_job_bytes = size_value(v.Scalar(), o, false);
                    else
                        unknown_key(k, sub, path, {"depth", "memory_per_job"});
                }
                if (pool.depth.has_value() == pool.memory_per_job_bytes.has_value())
                    origin(value, path)
                        .fail_message("expected exactly one of depth or memory_per_job");
            } else {
                origin(value, path)
                    .fail_raw("{depth: N} or {memory_per_job: SIZE}", describe(value));
            }
            policy_.extra_pools.push_back(std::move(pool));
        }
    }

    std::vector<std::pair<std::string, Origin>> string_list(const YAML::Node& node,
                                                            const std::string& path,
                                                            const std::string& what) {
        std::vector<std::pair<std::string, Origin>> out;
        if (node.IsNull()) return out;
        if (node.IsScalar()) return {{node.Scalar(), origin(node, path)}};
        if (!node.IsSequence()) origin(node, path).fail_raw("a list of " + what, describe(node));
        for (const auto& item : node) {
            if (!item.IsScalar()) origin(item, path).fail_raw(what, describe(item));
            out.emplace_back(item.Scalar(), origin(item, path));
        }
        return out;
    }

    void load_candidates(const YAML::Node& node) {
        for (const auto& [text, o] : string_list(node, "scratch.candidates", "absolute paths"))
            policy_.scratch_candidates.push_back(absolute_path_value(text, o));
    }

    void load_sanitizers(const YAML::Node& node) {
        auto items = string_list(node, "tests.sanitizers", "sanitizer names");
        std::vector<std::string> names;
        for (const auto& [text, o] : items) {
            auto one = sanitizer_list({text}, o);
            for (auto& n : one)
                names.push_back(n);
        }
        set(policy_.sanitizers, sanitizer_list(names, origin(node, "tests.sanitizers")),
            origin(node, "tests.sanitizers"));
    }

    void load_named(const YAML::Node& node) {
        if (node.IsNull()) return;
        if (!node.IsMap())
            origin(node, "resources.named")
                .fail_raw("a mapping of resource names to slot counts", describe(node));
        static const std::regex name_re("^[a-z_][a-z0-9_]*$");
        for (const auto& [key_node, value] : entries(node, "resources.named")) {
            const std::string name = key_node.Scalar();
            const std::string path = "resources.named." + name;
            if (!std::regex_match(name, name_re))
                origin(key_node, path)
                    .fail("a CTest resource name matching ^[a-z_][a-z0-9_]*$", name);
            if (name == "mem_mib" || name == "heavy_io" || name == "gpus" || name == "cpus")
                origin(key_node, path)
                    .fail_message("\"" + name + "\" is planned by corral and cannot be renamed");
            auto o = origin(value, path);
            if (!value.IsScalar()) o.fail_raw("a slot count (integer >= 1)", describe(value));
            policy_.named_resources.push_back(
                {name, int(int_value(value.Scalar(), o, 1, 1 << 20)), o.source()});
        }
    }

    void load_env(const YAML::Node& node) {
        if (node.IsNull()) return;
        if (!node.IsMap())
            origin(node, "env")
                .fail_raw("a mapping of NAME: \"value with {placeholders}\"", describe(node));
        static const std::regex name_re("^[A-Za-z_][A-Za-z0-9_]*$");
        for (const auto& [key_node, value] : entries(node, "env")) {
            const std::string name = key_node.Scalar();
            const std::string path = "env." + name;
            if (!std::regex_match(name, name_re))
                origin(key_node, path).fail("a variable name of letters, digits and _", name);
            auto o = origin(value, path);
            if (!value.IsScalar()) o.fail_raw("a string", describe(value));
            try {
                (void)expand_placeholders(value.Scalar(), [](std::string_view) {
                    return std::optional<std::string>("");
                });
            } catch (const std::invalid_argument& e) {
                o.fail_message(e.what());
            }
            policy_.env.push_back({name, value.Scalar(), o.source()});
        }
    }
};

}  // namespace

void load_policy_text(Policy& policy, std::string_view text, const std::string& file_name) {
    YamlLoader(policy, file_name).load(text);
    policy.file = file_name;
}

void load_policy_file(Policy& policy, const std::filesystem::path& file) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        throw PolicyError::other(file.string(), 0, 0, "",
                                 "is a directory; expected a corral.yaml policy file");
    auto text = read_file(file);
    if (!text)
        throw PolicyError::other(file.string(), 0, 0, "",
                                 "cannot read the policy file: " + text.error);
    load_policy_text(policy, *text, file.string());
}

}  // namespace corral
