// Shared by the policy files (policy_values.cpp, policy_knobs.cpp,
// policy_yaml.cpp); not part of the generator's interface.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "generator/policy.hpp"
#include "generator/policy_knobs.hpp"

namespace corral::policy_detail {

std::string lower(std::string_view s);
std::string trimmed(std::string_view s);
std::string quote_text(std::string_view s);
bool is_auto(const std::string& text);  // "auto" (any case, spaces around)

// Where a value came from, for errors and for Setting::source.
struct Origin {
    std::string where;  // file name, variable or option ("default" for the built-in value)
    int line = 0;       // 1-based, 0 = not a file
    int column = 0;
    std::string key;  // policy path, e.g. "memory.per_test"

    std::string source() const;
    // "expected <expected>, got "<got>"" (got quoted; none when nullopt).
    [[noreturn]] void fail(const std::string& expected, std::optional<std::string> got) const;
    // `got` already formatted (a quoted scalar, or "a list").
    [[noreturn]] void fail_raw(const std::string& expected, const std::string& got) const;
    [[noreturn]] void fail_message(const std::string& message) const;
};

// The value grammar (sizes, durations and switches through src/common/units).
long long int_value(const std::string& text, const Origin& o, long long min, long long max);
double number_value(const std::string& text, const Origin& o, double min_exclusive,
                    const std::string& expected);
uint64_t size_value(const std::string& text, const Origin& o, bool allow_zero);
double duration_value(const std::string& text, const Origin& o);
bool bool_value(const std::string& text, const Origin& o);
std::string absolute_path_value(const std::string& text, const Origin& o);
// Known slow-tool names, lower-cased and deduplicated, in order.
std::vector<std::string> sanitizer_list(const std::vector<std::string>& names, const Origin& o);
// "a,b" and repeated values -> one list of names.
std::vector<std::string> split_commas(const std::vector<std::string>& values);

using ::corral::did_you_mean;  // policy.hpp

template <typename T>
void set(Setting<T>& s, T value, const Origin& o) {
    s.value = std::move(value);
    s.source = o.source();
}

}  // namespace corral::policy_detail

namespace corral::policy_detail {

// The Policy field a row writes (std::monostate: a structured knob the YAML
// reader fills itself).
using Target =
    std::variant<std::monostate, Setting<uint64_t> Policy::*,
                 Setting<std::optional<uint64_t>> Policy::*, Setting<int> Policy::*,
                 Setting<std::optional<int>> Policy::*, Setting<double> Policy::*,
                 Setting<std::optional<double>> Policy::*, Setting<bool> Policy::*,
                 Setting<std::string> Policy::*, Setting<std::vector<std::string>> Policy::*>;

struct Knob {
    KnobInfo info;
    Target target;
    // size: the smallest size (0 or 1); count: [min, max]; duration: max seconds;
    // number / fraction: the exclusive min and (fraction) the exclusive max.
    long long min = 0;
    long long max = 0;
    bool nullable = false;      // "auto" (or YAML null) means none / measured
    const char* expected = "";  // number kinds: the sentence after "expected"
};

// The rows, in docs order (policy_knobs.cpp).
const std::vector<Knob>& knobs();
const Knob* find_knob(std::string_view path);
// The value `text` (or none, for "auto" on a nullable knob) into the row's field.
void apply_row(const Knob& k, Policy& p, const std::string& text, const Origin& o);

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};

// The knob rows, for the YAML reader: the row at `path` (nullptr: no such knob),
// whether YAML null / "auto" means none, and reading `text` into its field.
const KnobInfo* find_knob_info(std::string_view path);
bool knob_nullable(std::string_view path);
void apply_knob(Policy& policy, std::string_view path, const std::string& text, const Origin& o);
}  // namespace corral::policy_detail
