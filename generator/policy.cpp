// Policy loading: one table of scalar knobs (YAML path, CORRAL_* variable,
// value parser) shared by corral.yaml, the environment and the command line,
// so every source reports errors and provenance the same way.
#include "generator/policy.hpp"

#include "common/read_file.hpp"
#include "common/units.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace corral {
namespace {

std::string format_message(const std::string& where, int line, int column, const std::string& key,
                           const std::string& body) {
    std::string m = where;
    if (line > 0) m += ":" + std::to_string(line) + ":" + std::to_string(column);
    m += ": ";
    // A variable or option name already says which knob; a file position does not.
    if (line > 0 && !key.empty()) m += key + ": ";
    return m + body;
}

std::string quote_text(std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\"";
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trimmed(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

// A decimal number with an optional fraction, no sign, no exponent (the grammar's).
std::optional<double> parse_decimal(std::string_view s) {
    return units::parse_decimal(s);
}

std::optional<long long> parse_integer(std::string_view s) {
    std::string t = trimmed(s);
    if (t.empty()) return std::nullopt;
    long long v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
    return v;
}

// Where a value came from, for errors and for Setting::source.
struct Origin {
    std::string where;  // file name, variable or option
    int line = 0;       // 1-based, 0 = not a file
    int column = 0;
    std::string key;  // policy path, e.g. "memory.per_test"

    std::string source() const {
        if (line == 0) return where;
        return where + ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    [[noreturn]] void fail(const std::string& expected, std::optional<std::string> got) const {
        throw PolicyError(where, line, column, key, expected,
                          got ? quote_text(*got) : std::string());
    }
    // `got` already formatted (a quoted scalar, or "a list").
    [[noreturn]] void fail_raw(const std::string& expected, const std::string& got) const {
        throw PolicyError(where, line, column, key, expected, got);
    }
    [[noreturn]] void fail_message(const std::string& message) const {
        throw PolicyError::other(where, line, column, key, message);
    }
};

// --- value parsers that throw PolicyError with the origin -------------------

long long int_value(const std::string& text, const Origin& o, long long min, long long max) {
    auto v = parse_integer(text);
    std::string expected =
        max == std::numeric_limits<int>::max()
            ? "an integer >= " + std::to_string(min)
            : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!v || *v < min || *v > max) o.fail(expected, text);
    return *v;
}

double number_value(const std::string& text, const Origin& o, double min_exclusive,
                    const std::string& expected) {
    auto v = parse_decimal(trimmed(text));
    if (!v || !(*v > min_exclusive) || !std::isfinite(*v)) o.fail(expected, text);
    return *v;
}

uint64_t size_value(const std::string& text, const Origin& o, bool allow_zero) {
    auto v = units::parse_size(text);
    if (!v) o.fail_message(v.error);
    if (!allow_zero && *v == 0) o.fail("a size above zero, such as 512M, 2G or 1.5GiB", text);
    return *v;
}

double duration_value(const std::string& text, const Origin& o) {
    auto v = units::parse_duration(text);
    if (!v || *v <= 0) o.fail("a duration such as 90s, 5m, 1h30m or a number of seconds", text);
    return *v;
}

bool bool_value(const std::string& text, const Origin& o) {
    auto v = units::parse_bool(text);
    if (!v) o.fail("true or false (also yes/no, on/off, 1/0)", text);
    return *v;
}

bool is_auto(const std::string& text) {
    return lower(trimmed(text)) == "auto";
}

std::string absolute_path_value(const std::string& text, const Origin& o) {
    std::string t = trimmed(text);
    if (t.empty() || t.front() != '/') o.fail("an absolute path", text);
    return t;
}

std::vector<std::string> sanitizer_list(const std::vector<std::string>& names, const Origin& o) {
    std::vector<std::string> out;
    for (const auto& raw : names) {
        std::string n = lower(trimmed(raw));
        if (n.empty()) continue;
        if (!slowdown_factor(n)) {
            std::string known;
            for (const auto& k : known_slowdowns())
                known += (known.empty() ? "" : ", ") + k;
            o.fail("one of " + known, raw);
        }
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
    return out;
}

template <typename T>
void set(Setting<T>& s, T value, const Origin& o) {
    s.value = std::move(value);
    s.source = o.source();
}

// --- the knob table -------------------------------------------------------------

struct Knob {
    const char* path;  // YAML path "section.key"
    const char* env;   // CORRAL_* variable, or nullptr
    std::function<void(Policy&, const std::string&, const Origin&)> apply;
    bool nullable = false;  // YAML null means "auto" / "none"
};

const std::vector<Knob>& knobs() {
    static const std::vector<Knob> table = {
        {"cpu.oversubscription", "CORRAL_OVERSUBSCRIPTION",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.cpu_oversubscription, number_value(t, o, 0, "a number above 0, e.g. 1.5"), o);
         }},
        {"cpu.keep_free", "CORRAL_KEEP_FREE_CPUS",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.cpus_keep_free, int(int_value(t, o, 0, std::numeric_limits<int>::max())), o);
         }},
        {"cpu.cpus", "CORRAL_CPUS",
         [](Policy& p, const std::string& t, const Origin& o) {
             std::optional<int> v;
             if (!is_auto(t)) v = int(int_value(t, o, 1, 1 << 20));
             set(p.cpus_override, v, o);
         },
         true},
        {"memory.reserve_fraction", "CORRAL_MEMORY_RESERVE_FRACTION",
         [](Policy& p, const std::string& t, const Origin& o) {
             std::string s = trimmed(t);
             std::optional<double> v;
             if (!s.empty() && s.back() == '%') {
                 if (auto pct = parse_decimal(s.substr(0, s.size() - 1))) v = *pct / 100.0;
             } else {
                 v = parse_decimal(s);
             }
             if (!v || *v >= 0.9)
                 o.fail("a fraction below 0.9 such as 0.1, or a percentage like 10%", t);
             set(p.memory_reserve_fraction, *v, o);
         }},
        {"memory.reserve_min", "CORRAL_MEMORY_RESERVE_MIN",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.memory_reserve_min_bytes, size_value(t, o, true), o);
         }},
        {"memory.reserve", "CORRAL_MEMORY_RESERVE",
         [](Policy& p, const std::string& t, const Origin& o) {
             std::optional<uint64_t> v;
             if (!is_auto(t)) v = size_value(t, o, true);
             set(p.memory_reserve_bytes, v, o);
         },
         true},
        {"memory.reserve_margin", "CORRAL_MEMORY_RESERVE_MARGIN",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.memory_reserve_margin_bytes, size_value(t, o, true), o);
         }},
        {"memory.launcher_overhead", "CORRAL_LAUNCHER_OVERHEAD",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.launcher_overhead_bytes, size_value(t, o, true), o);
         }},
        {"memory.per_test", "CORRAL_MEMORY_PER_TEST",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.memory_per_test_bytes, size_value(t, o, false), o);
         }},
        {"memory.total", "CORRAL_MEMORY",
         [](Policy& p, const std::string& t, const Origin& o) {
             std::optional<uint64_t> v;
             if (!is_auto(t)) v = size_value(t, o, false);
             set(p.memory_override, v, o);
         },
         true},
        {"build.compile_job_memory", "CORRAL_COMPILE_JOB_MEMORY",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.compile_job_memory_bytes, size_value(t, o, false), o);
         }},
        {"build.link_job_memory", "CORRAL_LINK_JOB_MEMORY",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.link_job_memory_bytes, size_value(t, o, false), o);
         }},
        {"scratch.reflink_required", "CORRAL_REFLINK_REQUIRED",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.reflink_required, bool_value(t, o), o);
         }},
        {"scratch.min_write_mb_per_s", "CORRAL_MIN_WRITE_MB_PER_S",
         [](Policy& p, const std::string& t, const Origin& o) {
             std::optional<double> v;
             if (!is_auto(t)) v = number_value(t, o, 0, "a number of MB/s above 0, e.g. 100");
             set(p.min_write_mb_per_s, v, o);
         },
         true},
        {"scratch.socket_headroom", "CORRAL_SOCKET_HEADROOM",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.socket_headroom_needed, int(int_value(t, o, 0, 107)), o);
         }},
        {"scratch.cache_dir", "CORRAL_CACHE_DIR",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.cache_dir, absolute_path_value(t, o), o);
         }},
        {"resources.heavy_io_slots", "CORRAL_HEAVY_IO_SLOTS",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.heavy_io_slots, int(int_value(t, o, 1, 1 << 20)), o);
         }},
        {"resources.heavy_io_filesystems", "CORRAL_HEAVY_IO_FILESYSTEMS",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.heavy_io_filesystems, int(int_value(t, o, 1, 64)), o);
         }},
        {"resources.gpu_slots", "CORRAL_GPU_SLOTS",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.gpu_slots, int(int_value(t, o, 1, 1 << 20)), o);
         }},
        {"tests.parallel_level", "CORRAL_PARALLEL_LEVEL",
         [](Policy& p, const std::string& t, const Origin& o) {
             std::optional<int> v;
             if (!is_auto(t)) v = int(int_value(t, o, 1, 1 << 20));
             set(p.test_parallel_level, v, o);
         },
         true},
        {"tests.timeout", "CORRAL_TEST_TIMEOUT",
         [](Policy& p, const std::string& t, const Origin& o) {
             double s = duration_value(t, o);
             if (s > 7 * 24 * 3600.0) o.fail("a duration of at most 7 days", t);
             set(p.test_timeout_seconds, int(std::ceil(s)), o);
         }},
        // No CORRAL_TIMEOUT_MULTIPLIER here: that name is an output (env.sh exports
        // it for corral run), and reading it back would freeze an old decision.
        {"tests.timeout_multiplier", nullptr,
         [](Policy& p, const std::string& t, const Origin& o) {
             std::optional<double> v;
             if (!is_auto(t)) v = number_value(t, o, 0, "auto or a number above 0, e.g. 3");
             set(p.timeout_multiplier, v, o);
         },
         true},
        {"ci.stop_on_failure", "CORRAL_STOP_ON_FAILURE",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.stop_on_failure, bool_value(t, o), o);
         }},
        {"ci.repeat_after_timeout", "CORRAL_REPEAT_AFTER_TIMEOUT",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.repeat_after_timeout, int(int_value(t, o, 0, 100)), o);
         }},
        {"ci.job_timeout_minutes", "CORRAL_JOB_TIMEOUT_MINUTES",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.job_timeout_minutes, int(int_value(t, o, 1, 360 * 24)), o);
         }},
        {"ci.tests_run_under_sudo", "CORRAL_TESTS_RUN_UNDER_SUDO",
         [](Policy& p, const std::string& t, const Origin& o) {
             set(p.tests_run_under_sudo, bool_value(t, o), o);
         }},
    };
    return table;
}

const Knob* find_knob(std::string_view path) {
    for (const auto& k : knobs())
        if (path == k.path) return &k;
    return nullptr;
}

// Keys that hold a structure rather than a scalar (handled by the loader).
const std::set<std::string>& structured_keys() {
    static const std::set<std::string> keys = {"build.pools", "scratch.candidates",
                                               "resources.named", "tests.sanitizers"};
    return keys;
}

const std::vector<std::string>& sections() {
    static const std::vector<std::string> s = {"version",   "cpu",   "memory", "build", "scratch",
                                               "resources", "tests", "ci",     "env"};
    return s;
}

std::vector<std::string> keys_of_section(const std::string& section) {
    std::vector<std::string> out;
    auto add = [&](const std::string& path) {
        if (path.rfind(section + ".", 0) == 0) out.push_back(path.substr(section.size() + 1));
    };
    for (const auto& k : knobs())
        add(k.path);
    for (const auto& k : structured_keys())
        add(k);
    return out;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& c : candidates) {
        auto d = edit_distance(lower(word), lower(c));
        if (d < best_distance) best_distance = d, best = c;
    }
    std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
    if (!best.empty() && best_distance <= limit) return best;
    // Another form of the same word ("oversubscribe" for "oversubscription"):
    // a long shared stem is as telling as a small edit distance.
    for (const auto& c : candidates) {
        auto a = lower(word), b = lower(c);
        std::size_t stem = 0;
        while (stem < a.size() && stem < b.size() && a[stem] == b[stem])
            ++stem;
        if (stem >= 6 && stem * 3 >= std::min(a.size(), b.size()) * 2) return c;
    }
    return {};
}

// --- YAML ---------------------------------------------------------------------

class YamlLoader {
  public:
    YamlLoader(Policy& policy, std::string file) : policy_(policy), file_(std::move(file)) {}

    void load(std::string_view text) {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(text));
        } catch (const YAML::ParserException& e) {
            throw PolicyError::other(file_, e.mark.line + 1, e.mark.column + 1, "",
                                     "YAML syntax error: " + e.msg);
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
            if (std::find(sections().begin(), sections().end(), key) == sections().end())
                unknown_key(key_node, key, "", sections());
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
            std::vector<std::string> all;
            for (const auto& k : knobs())
                all.push_back(k.path);
            for (const auto& k : structured_keys())
                all.push_back(k);
            std::string placed;
            for (const auto& full : all) {
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
                load_scalar(*find_knob(path), value);
        }
    }

    void load_scalar(const Knob& knob, const YAML::Node& value) {
        auto o = origin(value, knob.path);
        if (value.IsNull()) {
            if (knob.nullable) return knob.apply(policy_, "auto", o);
            o.fail("a value", std::nullopt);
        }
        if (!value.IsScalar()) o.fail_raw("a single value", describe(value));
        knob.apply(policy_, value.Scalar(), o);
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

PolicyError::PolicyError(std::string where, int line, int column, std::string key,
                         std::string expected, std::string got)
    : std::runtime_error(format_message(
          where, line, column, key, "expected " + expected + (got.empty() ? "" : ", got " + got))),
      file_(std::move(where)),
      line_(line),
      column_(column),
      key_(std::move(key)),
      expected_(std::move(expected)) {}

PolicyError::PolicyError(Formatted, std::string what, std::string where, int line, int column,
                         std::string key)
    : std::runtime_error(what),
      file_(std::move(where)),
      line_(line),
      column_(column),
      key_(std::move(key)) {}

PolicyError PolicyError::other(std::string where, int line, int column, std::string key,
                               std::string message) {
    std::string what = format_message(where, line, column, key, message);
    return PolicyError(Formatted{}, std::move(what), std::move(where), line, column,
                       std::move(key));
}

Policy default_policy() {
    return Policy{};
}

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

void apply_environment(Policy& policy, const Environment& env) {
    for (const auto& knob : knobs()) {
        if (!knob.env) continue;
        auto it = env.find(knob.env);
        if (it == env.end()) continue;
        Origin o{knob.env, 0, 0, knob.path};
        if (trimmed(it->second).empty())
            o.fail("a value (unset it instead of leaving it empty)", it->second);
        knob.apply(policy, it->second, o);
    }
    if (auto it = env.find("CORRAL_SANITIZERS"); it != env.end()) {
        Origin o{"CORRAL_SANITIZERS", 0, 0, "tests.sanitizers"};
        std::vector<std::string> names;
        std::stringstream ss(it->second);
        for (std::string item; std::getline(ss, item, ',');)
            names.push_back(item);
        set(policy.sanitizers, sanitizer_list(names, o), o);
    }
}

void apply_cpus_option(Policy& policy, const std::string& value, const std::string& option) {
    find_knob("cpu.cpus")->apply(policy, value, Origin{option, 0, 0, "cpu.cpus"});
}

void apply_memory_option(Policy& policy, const std::string& value, const std::string& option) {
    find_knob("memory.total")->apply(policy, value, Origin{option, 0, 0, "memory.total"});
}

void apply_sanitizer_option(Policy& policy, const std::vector<std::string>& names,
                            const std::string& option) {
    if (names.empty()) return;
    Origin o{option, 0, 0, "tests.sanitizers"};
    // Repeatable and comma-separated both work: --sanitizer asan,ubsan --sanitizer tsan.
    std::vector<std::string> split_names;
    for (const auto& n : names) {
        std::stringstream ss(n);
        for (std::string item; std::getline(ss, item, ',');)
            split_names.push_back(item);
    }
    set(policy.sanitizers, sanitizer_list(split_names, o), o);
}

namespace {
// Timeout factors for slow test environments (docs/policy.md, "Timeouts"):
// ASan's documented typical slowdown is ~2x, taken as 3x for start-up and
// shadow-memory page faults; TSan 5-15x, taken at 5x; MSan ~3x; UBSan and LSan
// are cheap; valgrind's memcheck is 10-50x, taken at 10x.
const std::vector<std::pair<std::string, double>>& slowdown_table() {
    static const std::vector<std::pair<std::string, double>> t = {
        {"asan", 3.0}, {"hwasan", 2.0}, {"lsan", 1.5},      {"msan", 3.0},
        {"tsan", 5.0}, {"ubsan", 1.5},  {"valgrind", 10.0},
    };
    return t;
}
}  // namespace

std::optional<double> slowdown_factor(std::string_view name) {
    for (const auto& [n, f] : slowdown_table())
        if (n == name) return f;
    return std::nullopt;
}

std::vector<std::string> known_slowdowns() {
    std::vector<std::string> out;
    for (const auto& [n, f] : slowdown_table())
        out.push_back(n);
    return out;
}

std::string expand_placeholders(
    std::string_view text,
    const std::function<std::optional<std::string>(std::string_view)>& lookup) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            out += '{';
            ++i;
        } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
            out += '}';
            ++i;
        } else if (c == '{') {
            auto end = text.find('}', i);
            if (end == std::string_view::npos)
                throw std::invalid_argument("unclosed \"{\" at offset " + std::to_string(i) +
                                            " (write \"{{\" for a literal brace)");
            auto name = text.substr(i + 1, end - i - 1);
            bool known = false;
            for (const char* p : kEnvPlaceholders)
                known = known || name == p;
            if (!known) {
                std::string list;
                std::vector<std::string> all;
                for (const char* p : kEnvPlaceholders) {
                    list += (list.empty() ? "{" : ", {") + std::string(p) + "}";
                    all.emplace_back(p);
                }
                std::string guess = did_you_mean(std::string(name), all);
                throw std::invalid_argument(
                    "unknown placeholder {" + std::string(name) + "}" +
                    (guess.empty() ? "" : "; did you mean {" + guess + "}?") + " (known: " + list +
                    ")");
            }
            auto value = lookup(name);
            if (!value)
                throw std::invalid_argument("placeholder {" + std::string(name) +
                                            "} has no value in this plan");
            out += *value;
            i = end;
        } else if (c == '}') {
            throw std::invalid_argument("stray \"}\" at offset " + std::to_string(i) +
                                        " (write \"}}\" for a literal brace)");
        } else {
            out += c;
        }
    }
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace corral
