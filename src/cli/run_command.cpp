// corral run: the test launcher. This file binds the options to RunArgs and
// maps errors to exit codes; runtime/run_options.hpp checks the values (a bad
// one is exit 2, docs/exit-codes.md) and runtime/launcher.hpp does the work.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string_view>

#include "cli/commands.hpp"
#include "common/text.hpp"
#include "generator/policy.hpp"  // did_you_mean
#include "runtime/run_options.hpp"

namespace corral::cli {
namespace {

// The words after the first "--" following "run", byte for byte as main()
// received them (program_words).
std::optional<std::vector<std::string>> command_after_separator() {
    const auto& words = program_words();
    auto run = std::find(words.begin() + (words.empty() ? 0 : 1), words.end(), "run");
    if (run == words.end()) return std::nullopt;
    auto sep = std::find(run + 1, words.end(), "--");
    if (sep == words.end()) return std::nullopt;
    return std::vector<std::string>(sep + 1, words.end());
}

// The long options a command line names after "run" (up to a '='), the
// test's own words included: a value may be "--" itself (--name -- --json),
// and naming more than is needed only costs their setup. Unset (register
// every option) when it asks for help or has a short option before the first
// "--": CLI11 then prints the whole help, or parses as always.
std::optional<std::set<std::string, std::less<>>> named_options() {
    const auto& words = program_words();
    auto run = std::find(words.begin() + (words.empty() ? 0 : 1), words.end(), "run");
    std::set<std::string, std::less<>> named;
    bool separated = false;
    for (auto w = run == words.end() ? run : run + 1; w != words.end(); ++w) {
        if (*w == "--")
            separated = true;
        else if (w->rfind("--", 0) == 0)
            named.insert(w->substr(0, w->find('=')));
        else if (!separated && w->size() > 1 && (*w)[0] == '-')
            return std::nullopt;  // -h, or a short option CLI11 must judge with all of them
    }
    if (named.count("--help")) return std::nullopt;
    return named;
}

// What is wrong with the options before the test command, as CLI11 would
// misreport it (the "--" or the test's own words among "arguments not
// expected"), or nullopt. Words after "run" are read as CLI11 reads them: an
// option in `takes_value` (not NAME=VALUE) takes the next word whatever it
// looks like; the first other word that is not an option starts the test
// command (when no "--" came before); the first "--" that is not a value ends
// the options ("--" as a value is a value, as CLI11 takes it). `known` holds
// every option, -h and --help included; with help asked for nothing is said
// (CLI11 prints the help).
std::optional<std::string> misused_option(const std::vector<std::string_view>& known,
                                          const std::vector<std::string_view>& takes_value) {
    const auto& words = program_words();
    auto run = std::find(words.begin() + (words.empty() ? 0 : 1), words.end(), "run");
    auto first = run == words.end() ? run : run + 1;
    auto end = std::find(first, words.end(), "--");
    if (std::find(first, end, "--help") != end || std::find(first, end, "-h") != end)
        return std::nullopt;
    auto has = [](const std::vector<std::string_view>& list, std::string_view name) {
        return std::find(list.begin(), list.end(), name) != list.end();
    };
    std::string_view awaiting;  // an option whose value is the next word
    std::string dash_taken;     // " (--name took the "--" after it as its value)"
    const std::string* command = nullptr;
    for (auto w = first; w != words.end(); ++w) {
        if (!awaiting.empty()) {
            if (*w == "--")  // a value like any other (--name -- --json -- true)
                dash_taken = cat({" (", awaiting, " took the \"--\" after it as its value)"});
            awaiting = {};
            continue;
        }
        if (*w == "--") break;
        bool is_long = w->size() > 2 && w->rfind("--", 0) == 0;
        if (!is_long && (w->size() < 2 || (*w)[0] != '-')) {
            if (!command) command = &*w;
            continue;
        }
        std::string name = is_long ? w->substr(0, w->find('=')) : *w;
        if (has(known, name)) {
            auto valued = std::find(takes_value.begin(), takes_value.end(), name);
            if (is_long && w->find('=') == std::string::npos && valued != takes_value.end())
                awaiting = *valued;  // a literal's view: outlives `name`
            continue;
        }
        if (command)
            return cat({"unknown option '", name, "' after the test command '", *command,
                        "': the command and its arguments go after --: corral run [OPTIONS] -- ",
                        *command, " ...", dash_taken});
        std::string message = "unknown option '" + name + "'";
        std::vector<std::string> long_names;  // not -h: every short one is near it
        for (auto k : known)
            if (k.size() > 2) long_names.emplace_back(k);
        if (auto guess = did_you_mean(name, long_names); !guess.empty())
            message += "; did you mean " + guess + "?";
        return message;
    }
    return std::nullopt;
}

}  // namespace

void add_run_command(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "run",
        "Run one test bounded and isolated, and leave nothing behind:\n"
        "  * a short unique scratch directory (TMPDIR/TMP/TEMP, CORRAL_SCRATCH_DIR), a unique\n"
        "    CORRAL_TEST_ID ([a-z0-9]), CORRAL_SCOPE, CORRAL_TIMEOUT_MULTIPLIER;\n"
        "  * CTest's granted resources translated: heavy_io -> scratch on that filesystem,\n"
        "    gpus -> CUDA_VISIBLE_DEVICES/HIP_VISIBLE_DEVICES, mem_mib -> CORRAL_MEMORY_BYTES;\n"
        "  * own process group; own cgroup when the host allows (true peak memory of the\n"
        "    whole tree), made before exec with --memory-limit, else once the test has\n"
        "    run 50 ms (shorter tests are measured by ru_maxrss); child subreaper so\n"
        "    daemons cannot escape;\n"
        "  * --timeout: TERM to the whole tree, KILL after --grace, exit 124;\n"
        "  * processes left after the test's main process exits are reported (LEAK) and killed;\n"
        "  * scratch removed without following symlinks or entering other mounts; a failed\n"
        "    test's is kept (bounded, oldest first) and its path printed;\n"
        "  * from a terminal the test gets its foreground; Ctrl-C/Ctrl-Z act on the test;\n"
        "  * if ctest dies, the test's tree is ended, the record written, scratch removed;\n"
        "  * one JSON line per test appended to --records.\n"
        "Exit status: the test's own; 128+N if signal N ended it; 124 timeout; 122 leaked with\n"
        "--leak fail; 125 corral run itself failed; 126 command not executable; 127 not found.\n"
        "Example: corral run --name net_test --timeout 60 --lock pkgcache -- ./net_test --fast");
    auto args = std::make_shared<launcher::RunArgs>();
    auto* opts = &args->options;
    struct Choices {
        std::string leak = "warn";
        std::string cgroup = "auto";
        std::string keep = "failed";
    };
    auto choices = std::make_shared<Choices>();

    // Only the options the command line names are registered: CLI11 spends
    // ~2-4 us on each of the 22 at every test launch, and a launch names a
    // few (bench/run_overhead/README.md, sixth step). An option that is not
    // registered is one that was not given: its variable keeps its default,
    // as CLI11 leaves it. CLI11 tells an option word from a value by its
    // spelling, not by the options registered, so a name none of them has is
    // rejected as before; --help registers and shows them all.
    auto named = named_options();
    std::vector<std::string_view> known = {"-h", "--help", "--ctest-resolve", "--json"};
    std::vector<std::string_view> takes_value;  // every option but the flags above
    auto want = [&](std::string_view name) {
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            known.push_back(name);
            takes_value.push_back(name);
        }
        return !named || named->count(name) > 0;
    };
    if (want("--name")) {
        cmd->add_option("--name", opts->name,
                        "Test name for reports and records (default: command)")
            ->type_name("NAME");
    }
    if (want("--timeout")) {
        cmd->add_option(
               "--timeout", args->timeout,
               "Kill the test's whole tree after SECONDS x the timeout multiplier; exit 124")
            ->type_name("SECONDS");
    }
    if (want("--timeout-env")) {
        cmd->add_option("--timeout-env", args->timeout_env,
                        "Take the timeout from environment variable VAR when it is set and not "
                        "empty (overrides --timeout; CorralFunctions.cmake passes a test's own "
                        "TIMEOUT this way)")
            ->type_name("VAR");
    }
    if (want("--locks-env")) {
        cmd->add_option(
               "--locks-env", args->locks_env,
               "Also hold the host-wide locks named in environment variable VAR "
               "(comma-separated; CorralFunctions.cmake passes a test's own LOCKS this way)")
            ->type_name("VAR");
    }
    if (want("--ctest-resolve")) {
        cmd->add_flag(
            "--ctest-resolve", args->ctest_resolve,
            "Find the command word as ctest(1) would (the word, <dir>/<config>/<name>, the "
            "word relative to the working directory, then $PATH)");
    }
    if (want("--ctest-config")) {
        cmd->add_option("--ctest-config", args->ctest_config,
                        "The configuration ctest runs (-C) for --ctest-resolve")
            ->type_name("CONFIG");
    }
    if (want("--grace")) {
        cmd->add_option("--grace", args->grace,
                        "Whole seconds (0-3600) between TERM and KILL, on timeout and for leaked "
                        "processes")
            ->type_name("SECONDS")
            ->capture_default_str();
    }
    if (want("--timeout-multiplier")) {
        cmd->add_option(
               "--timeout-multiplier", args->timeout_multiplier,
               "Scale --timeout (default: the plan's, else $CORRAL_TIMEOUT_MULTIPLIER, else 1)")
            ->type_name("X");
    }
    if (want("--scratch-root")) {
        cmd->add_option(
               "--scratch-root", opts->scratch_root,
               "Create the scratch directory under DIR (default: granted heavy_io dir, the "
               "plan's scratch_dir, $TMPDIR, /tmp)")
            ->type_name("DIR")
            ->check(non_empty_path());
    }
    if (want("--plan")) {
        cmd->add_option("--plan", opts->plan_file,
                        "plan.json from corral plan/generate: scratch_dir, timeout_multiplier, "
                        "heavy_io directories")
            ->type_name("FILE");
    }
    if (want("--records")) {
        cmd->add_option("--records", opts->records_file,
                        "Append one JSON line (corral.record/1) per test to FILE, atomically")
            ->type_name("FILE")
            ->check(non_empty_path());
    }
    if (want("--lock")) {
        cmd->add_option("--lock", args->locks,
                        "Hold the host-wide lock NAME while the test runs (repeatable)")
            ->allow_extra_args(false)  // one value per --lock, never the command
            ->type_name("NAME");
    }
    if (want("--slots")) {
        cmd->add_option("--slots", args->slots,
                        "Hold one of N host-wide slots of TYPE while the test runs (repeatable)")
            ->allow_extra_args(false)
            ->type_name("TYPE:N");
    }
    if (want("--leak")) {
        cmd->add_option("--leak", choices->leak,
                        "Processes left behind: fail (exit 122 if the test passed), warn, ignore; "
                        "they are killed in every case")
            ->check(CLI::IsMember({"fail", "warn", "ignore"}))
            ->capture_default_str();
    }
    if (want("--leak-window")) {
        cmd->add_option("--leak-window", args->leak_window,
                        "Milliseconds exiting processes get after the main process exits")
            ->type_name("MS:INT in [0 - 600000]")
            ->capture_default_str();
    }
    if (want("--cgroup")) {
        cmd->add_option("--cgroup", choices->cgroup,
                        "Per-test cgroup: auto (when the host allows; a test without a limit "
                        "gets it once it has run 50 ms), off, require (fail without; joined "
                        "before exec)")
            ->check(CLI::IsMember({"auto", "off", "require"}))
            ->capture_default_str();
    }
    if (want("--memory-limit")) {
        cmd->add_option("--memory-limit", args->memory_limit,
                        "Enforce a memory limit on the whole test via its cgroup (e.g. 512M, 2G)")
            ->type_name("SIZE");
    }
    if (want("--memory-limit-env")) {
        cmd->add_option("--memory-limit-env", args->memory_limit_env,
                        "Take --memory-limit from this environment variable when it is set "
                        "(corral_setup(ENFORCE_MEMORY): each test's grant)")
            ->type_name("VAR");
    }
    if (want("--keep-scratch")) {
        cmd->add_option("--keep-scratch", choices->keep,
                        "Keep the scratch directory: never, failed (a failed or timed-out test's, "
                        "as evidence), always")
            ->check(CLI::IsMember({"never", "failed", "always"}))
            ->capture_default_str();
    }
    if (want("--keep-scratch-count")) {
        cmd->add_option("--keep-scratch-count", args->keep_scratch_count,
                        "Kept scratch directories at most (host-wide, per user); the oldest go")
            ->type_name("N")
            ->capture_default_str();
    }
    if (want("--keep-scratch-size")) {
        cmd->add_option("--keep-scratch-size", args->keep_scratch_size,
                        "Kept scratch directories total at most SIZE; the oldest go, and a larger "
                        "one is not kept")
            ->type_name("SIZE")
            ->capture_default_str();
    }
    if (want("--json")) {
        cmd->add_flag("--json", opts->json,
                      "Print the record as one JSON line on stdout at the end");
    }
    // An option none of these is, before the test command, is said here by
    // name, with the closest one; so is one after a command given without
    // "--", and an option left without its value by the "--" (CLI11 says
    // "arguments were not expected" and lists the "--" or the test's words).
    if (auto misuse = misused_option(known, takes_value)) {
        std::cerr << "corral run: " << *misuse << "\nRun `corral run --help` for the options.\n";
        status = kExitUsage;
        return;
    }

    // The test command is not a CLI11 option: CLI11 would reinterpret its
    // arguments ("[a,b]" as a list, "--x" as an option). Everything from the
    // first positional (or after "--") is passed through untouched.
    cmd->add_option("command", opts->command, "The test command and its arguments, after --")
        ->type_name("COMMAND [ARGS...]");

    cmd->footer("The test command goes after --: corral run [OPTIONS] -- COMMAND [ARGS...]");

    cmd->callback([args, choices, &status] {
        auto& opts = args->options;
        // Only when "--" came before the command (then CLI11 saw the same first word).
        if (auto exact = command_after_separator();
            exact && !exact->empty() && !opts.command.empty() && (*exact)[0] == opts.command[0])
            opts.command = *exact;
        opts.leak = choices->leak == "fail"   ? launcher::LeakPolicy::Fail
                    : choices->leak == "warn" ? launcher::LeakPolicy::Warn
                                              : launcher::LeakPolicy::Ignore;
        opts.cgroup = choices->cgroup == "off"       ? launcher::CgroupMode::Off
                      : choices->cgroup == "require" ? launcher::CgroupMode::Require
                                                     : launcher::CgroupMode::Auto;
        opts.keep_scratch = choices->keep == "never"    ? launcher::KeepScratch::Never
                            : choices->keep == "always" ? launcher::KeepScratch::Always
                                                        : launcher::KeepScratch::Failed;
        launcher::Options checked;
        try {
            checked = launcher::resolve_run_args(*args, [](const std::string& name) {
                const char* v = std::getenv(name.c_str());
                return v ? std::optional<std::string>(v) : std::nullopt;
            });
        } catch (const launcher::BadOption& e) {
            std::cerr << "corral run: " << e.what() << "\n";
            status = kExitUsage;
            return;
        } catch (const launcher::BadEnvironment& e) {
            std::cerr << "corral run: " << e.what() << "\n";
            status = launcher::kExitLauncherFailure;
            return;
        }
        status = launcher::run(checked, std::cerr);
        // The launcher said why its --json line never arrived (and exits 125).
        if (checked.json && !std::cout) stdout_failure_said();
    });
}

}  // namespace corral::cli
