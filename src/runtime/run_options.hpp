// `corral run`'s option values as text -> launcher::Options. The CLI
// (src/cli/run_command.cpp) only binds the options to RunArgs and maps the two
// errors below to exit codes; every rule about a value lives here, so it is
// tested without starting a process (tests/runtime/run_options_test.cpp).
//
// docs/exit-codes.md "corral run": a value on the command line that cannot be
// used is a usage error (exit 2, BadOption); a value taken from the
// environment (--timeout-env, --memory-limit-env, --locks-env) is the
// launcher's failure (exit 125, BadEnvironment): the command line was right.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/launcher.hpp"

namespace corral::launcher {

// A command-line value that cannot be used. what() names the option, the value
// and what was expected: `--timeout "-5": expected a number of seconds above
// 0, such as 60 or 2.5`.
class BadOption : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A value read from the environment variable an option named that cannot be
// used. what() names the variable, the value and what was expected.
class BadEnvironment : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The values as given on the command line. `options` holds what needs no
// checking (name, command, files, enum choices CLI11 already restricts,
// --json); the rest is text, checked by resolve_run_args. An empty string is
// an option not given (defaults are the command line's defaults).
struct RunArgs {
    Options options;
    std::string timeout;             // --timeout SECONDS: a decimal above 0
    std::string timeout_multiplier;  // --timeout-multiplier X: a decimal above 0
    std::string grace = std::to_string(defaults::kGraceSeconds);  // units::parse_grace
    std::string leak_window = "100";        // --leak-window MS: whole, 0..600000
    std::string keep_scratch_count = "10";  // --keep-scratch-count N: whole, 0..100000
    std::string keep_scratch_size = "1G";   // --keep-scratch-size SIZE: units::parse_size
    std::string memory_limit;               // --memory-limit SIZE: units::parse_size, >= 4K
    std::vector<std::string> locks;         // --lock NAME: units::parse_lock_name
    std::vector<std::string> slots;         // --slots TYPE:N: locks::parse_slot_request
    std::string timeout_env;                // --timeout-env VAR
    std::string memory_limit_env;           // --memory-limit-env VAR
    std::string locks_env;                  // --locks-env VAR
    bool ctest_resolve = false;             // --ctest-resolve
    std::string ctest_config;               // --ctest-config CONFIG
};

// Looks up an environment variable: its value, or nullopt when unset.
using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// The checked Options. Environment values given and non-empty override their
// option (--timeout-env over --timeout, --memory-limit-env over
// --memory-limit); --locks-env adds to --lock. With --ctest-resolve the
// command word is replaced by ctest_find_executable's path (ctest_executable.hpp)
// when found, with $PATH from `getenv`.
// Throws BadOption (exit 2) or BadEnvironment (exit 125).
Options resolve_run_args(const RunArgs& args, const Getenv& getenv);

}  // namespace corral::launcher
