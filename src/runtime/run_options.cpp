#include "runtime/run_options.hpp"

#include <cmath>

#include "common/text.hpp"
#include "common/units.hpp"
#include "runtime/ctest_executable.hpp"

namespace corral::launcher {
namespace {

std::string quoted(const std::string& value) {
    return cat({"\"", value, "\""});
}

[[noreturn]] void bad(const std::string& option, const std::string& value,
                      const std::string& expected) {
    throw BadOption(option + " " + quoted(value) + ": expected " + expected);
}

// A plain decimal above zero (units::parse_decimal: no sign, exponent or unit).
std::optional<double> positive_decimal(const std::string& text) {
    auto v = units::parse_decimal(trim(text));
    if (!v || !(*v > 0) || !std::isfinite(*v)) return std::nullopt;
    return v;
}

// A whole number from lo to hi.
std::optional<uint64_t> whole(const std::string& text, uint64_t lo, uint64_t hi) {
    auto v = parse_u64(trim(text));
    if (!v || *v < lo || *v > hi) return std::nullopt;
    return v;
}

constexpr uint64_t kMinMemoryLimit = 4096;  // one page: memory.max below it is useless

}  // namespace

Options resolve_run_args(const RunArgs& args, const Getenv& getenv) {
    Options o = args.options;
    auto env = [&](const std::string& var) -> std::optional<std::string> {
        if (var.empty()) return std::nullopt;
        auto v = getenv(var);
        if (!v || v->empty()) return std::nullopt;
        return v;
    };

    if (!args.timeout.empty()) {
        auto v = positive_decimal(args.timeout);
        if (!v) bad("--timeout", args.timeout, "a number of seconds above 0, such as 60 or 2.5");
        o.timeout_seconds = *v;
    }
    if (!args.timeout_multiplier.empty()) {
        auto v = positive_decimal(args.timeout_multiplier);
        if (!v)
            bad("--timeout-multiplier", args.timeout_multiplier,
                "a number above 0, such as 1 or 2.5");
        o.timeout_multiplier = *v;
    }
    auto grace = units::parse_grace(args.grace);
    if (!grace) bad("--grace", args.grace, "a whole number of seconds from 0 to 3600");
    o.grace_seconds = *grace;
    auto window = whole(args.leak_window, 0, 600000);
    if (!window)
        bad("--leak-window", args.leak_window, "a whole number of milliseconds from 0 to 600000");
    o.leak_window_ms = static_cast<int>(*window);
    auto count = whole(args.keep_scratch_count, 0, 100000);
    if (!count)
        bad("--keep-scratch-count", args.keep_scratch_count, "a whole number from 0 to 100000");
    o.keep_scratch_count = static_cast<size_t>(*count);
    auto keep_bytes = units::parse_size(args.keep_scratch_size);
    if (!keep_bytes) throw BadOption("--keep-scratch-size " + keep_bytes.error);
    o.keep_scratch_bytes = *keep_bytes;
    if (!args.memory_limit.empty()) {
        auto bytes = units::parse_size(args.memory_limit);
        if (!bytes) throw BadOption("--memory-limit " + bytes.error);
        if (*bytes < kMinMemoryLimit)
            bad("--memory-limit", args.memory_limit, "at least 4K (one page)");
        o.memory_limit_bytes = *bytes;
    }
    for (const auto& l : args.locks)
        if (auto name = units::parse_lock_name(l); !name) throw BadOption("--lock " + name.error);
    o.locks = args.locks;
    o.slots.clear();
    for (const auto& s : args.slots) {
        try {
            o.slots.push_back(locks::parse_slot_request(s));
        } catch (const std::invalid_argument& e) {
            throw BadOption(e.what());
        }
    }

    // Values the environment gives (corral_add_test passes a test's own
    // TIMEOUT, grant and LOCKS this way): the command line was right.
    if (auto text = env(args.timeout_env)) {
        auto v = positive_decimal(*text);
        if (!v)
            throw BadEnvironment("$" + args.timeout_env + " '" + *text +
                                 "' (--timeout-env): expected a timeout in seconds above 0, "
                                 "such as 60 or 2.5");
        o.timeout_seconds = *v;
    }
    if (auto text = env(args.memory_limit_env)) {
        auto bytes = units::parse_size(*text);
        if (!bytes)
            throw BadEnvironment("$" + args.memory_limit_env + " (--memory-limit-env) " +
                                 bytes.error);
        if (*bytes < kMinMemoryLimit)
            throw BadEnvironment("$" + args.memory_limit_env + " '" + *text +
                                 "' (--memory-limit-env): expected at least 4K (one page)");
        o.memory_limit_bytes = *bytes;
    }
    if (auto text = env(args.locks_env)) {
        for (auto l : split(*text, ',')) {
            if (l.empty()) continue;
            if (auto name = units::parse_lock_name(l); !name)
                throw BadEnvironment("$" + args.locks_env + " (--locks-env) " + name.error);
            o.locks.emplace_back(l);
        }
    }

    if (args.ctest_resolve && !o.command.empty()) {
        auto path = getenv("PATH");
        auto found = ctest_find_executable(o.command[0], args.ctest_config, path ? *path : "");
        if (!found.empty()) o.command[0] = found;
    }
    return o;
}

}  // namespace corral::launcher
