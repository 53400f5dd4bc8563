// Subcommand registration. Each command lives in its own file and stores its
// process exit status in `status` when it runs; an adder that finds the command
// line wrong before parsing (an unknown option) says why and sets `status`,
// and the program exits with it. Exit codes are documented in
// docs/exit-codes.md; 2 is always "bad usage or bad input".
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace corral::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Flushes std::cout; false when what was written to it never arrived (a
// full disk, /dev/full), said once per process on stderr as "<who>: cannot
// write to standard output", however many callers ask (main.cpp).
bool stdout_arrived(const char* who);
// A command that said it itself (corral run --json): stdout_arrived stays quiet.
void stdout_failure_said();

// The words main() received (argv), byte for byte, kept by main before parsing:
// `corral run` takes the test's command from them, since CLI11 rewrites some
// positional values (it splits "[a,b]" into a list).
void keep_program_words(int argc, char** argv);
const std::vector<std::string>& program_words();

// For an option that names a file or directory (to write, or a policy or
// facts file to read): an empty value is bad usage (exit 2), never "not
// given" — `--junit "$UNSET"` must not quietly write nothing. A function, not a global: nothing to
// construct at each start.
inline CLI::Validator non_empty_path() {
    return CLI::Validator(
        [](std::string& v) {
            return v.empty() ? std::string("expected a path, got an empty string") : std::string();
        },
        "");
}

// A number from `lo` to `hi` (`whole`: an integer), else bad usage naming the
// range as the help shows it: "expected a whole number from 1 to 256, got
// 'abc'". CLI::Range says "Value abc not in range 1 to 256" for a word,
// prints 0.000000 for a double bound, and lets "nan" through. Use it with
// ->transform(): a whole number is handed on in decimal ("010" is 10).
inline CLI::Validator in_range(double lo, double hi, bool whole) {
    auto num = [](double d) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", d);
        return std::string(b);
    };
    std::string range = num(lo) + " - " + num(hi);
    return CLI::Validator(
        [=](std::string& v) {
            char* end = nullptr;
            double x = whole ? static_cast<double>(std::strtoll(v.c_str(), &end, 10))
                             : std::strtod(v.c_str(), &end);
            if (end != v.c_str() && *end == '\0' && std::isfinite(x) && x >= lo && x <= hi) {
                // Handed on in decimal: CLI11 reads "010" as octal 8.
                if (whole) v = std::to_string(static_cast<long long>(x));
                return std::string();
            }
            return std::string("expected ") + (whole ? "a whole number" : "a number") + " from " +
                   num(lo) + " to " + num(hi) + ", got '" + v + "'";
        },
        std::string(whole ? "INT" : "FLOAT") + " in [" + range + "]");
}

void add_probe_command(CLI::App& app, int& status);
// plan (plan_command.cpp); generate, spec, pools, env, ci (generator_commands.cpp)
void add_plan_command(CLI::App& app, int& status);
void add_generator_commands(CLI::App& app, int& status);
void add_run_command(CLI::App& app, int& status);
void add_reap_command(CLI::App& app, int& status);
void add_report_command(CLI::App& app, int& status);
void add_shard_command(CLI::App& app, int& status);    // shard_command.cpp
void add_profile_command(CLI::App& app, int& status);  // profile_command.cpp

}  // namespace corral::cli
