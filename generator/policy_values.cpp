// The policy's value grammar and its errors: PolicyError, the parsers every
// knob kind uses (sizes, durations and switches go through src/common/units,
// the one grammar), did-you-mean, the slow-tool table and {placeholder}
// expansion. The knob table is policy_knobs.cpp; the YAML reader policy_yaml.cpp.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "common/units.hpp"
#include "generator/policy.hpp"
#include "generator/policy_internal.hpp"

namespace corral {
namespace policy_detail {
namespace {

std::string format_message(const std::string& where, int line, int column, const std::string& key,
                           const std::string& body) {
    std::string m = where;
    if (line > 0) {
        m += ':';
        m += std::to_string(line);
        m += ':';
        m += std::to_string(column);
    }
    m += ": ";
    // A variable or option name already says which knob; a file position does not.
    if (line > 0 && !key.empty()) m += key + ": ";
    return m + body;
}

std::optional<long long> parse_integer(std::string_view s) {
    std::string t = trimmed(s);
    if (t.empty()) return std::nullopt;
    long long v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
    return v;
}

}  // namespace

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

bool is_auto(const std::string& text) {
    return lower(trimmed(text)) == "auto";
}

std::string Origin::source() const {
    if (line == 0) return where;
    return where + ":" + std::to_string(line) + ":" + std::to_string(column);
}

void Origin::fail(const std::string& expected, std::optional<std::string> got) const {
    throw PolicyError(where, line, column, key, expected, got ? quote_text(*got) : std::string());
}

void Origin::fail_raw(const std::string& expected, const std::string& got) const {
    throw PolicyError(where, line, column, key, expected, got);
}

void Origin::fail_message(const std::string& message) const {
    throw PolicyError::other(where, line, column, key, message);
}

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
    auto v = units::parse_decimal(trimmed(text));
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

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) {
        std::stringstream ss(v);
        for (std::string item; std::getline(ss, item, ',');)
            out.push_back(item);
    }
    return out;
}

}  // namespace policy_detail

using policy_detail::format_message;

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

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& c : candidates) {
        auto d = edit_distance(policy_detail::lower(word), policy_detail::lower(c));
        if (d < best_distance) best_distance = d, best = c;
    }
    std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
    if (!best.empty() && best_distance <= limit) return best;
    // Another form of the same word ("oversubscribe" for "oversubscription"):
    // a long shared stem is as telling as a small edit distance.
    for (const auto& c : candidates) {
        auto a = policy_detail::lower(word), b = policy_detail::lower(c);
        std::size_t stem = 0;
        while (stem < a.size() && stem < b.size() && a[stem] == b[stem])
            ++stem;
        if (stem >= 6 && stem * 3 >= std::min(a.size(), b.size()) * 2) return c;
    }
    return {};
}

}  // namespace corral
