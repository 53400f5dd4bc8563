// corral run: the test launcher (src/runtime/launcher.hpp does the work).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "common/defaults.hpp"
#include "common/units.hpp"
#include "kernel/process.hpp"
#include "runtime/launcher.hpp"

namespace corral::cli {
namespace {

// The words after the first "--" following "run", byte for byte from
// proc_pid_cmdline(5). CLI11 rewrites some positional values (it splits "[a,b]"
// into a list), and a test's arguments must reach it untouched.
std::optional<std::vector<std::string>> command_after_separator() {
    auto argv = proc::self_argv();  // fails cleanly without free descriptors
    const std::vector<std::string> words = argv ? *argv : std::vector<std::string>();
    auto run = std::find(words.begin() + (words.empty() ? 0 : 1), words.end(), "run");
    if (run == words.end()) return std::nullopt;
    auto sep = std::find(run + 1, words.end(), "--");
    if (sep == words.end()) return std::nullopt;
    return std::vector<std::string>(sep + 1, words.end());
}

// The program CTest itself would run for the command word `command` (ctest(1)
// runs a test's first word through cmCTestTestHandler::FindExecutable, in the
// test's working directory): the word as written, then <dir>/<config>/<name>
// (or the usual configuration names when no configuration is given), then the
// same relative to the working directory when the word is absolute, then $PATH
// for a bare name. "" when CTest would not find it either.
std::string ctest_find_executable(const std::string& command, const std::string& config) {
    namespace fs = std::filesystem;
    auto slash = command.rfind('/');
    std::string dir = slash == std::string::npos ? "" : command.substr(0, slash);
    std::string name = slash == std::string::npos ? command : command.substr(slash + 1);
    if (slash == 0) dir = "/";
    std::vector<std::string> attempts;
    auto add = [&](std::string path) {
        if (!path.empty() && path.back() != '/') path += '/';
        attempts.push_back(path + name);
        if (!config.empty()) {
            attempts.push_back(path + config + "/" + name);
            attempts.push_back(config + "/" + path + name);
        } else {
            for (const char* c :
                 {"Release", "Debug", "MinSizeRel", "RelWithDebInfo", "Deployment", "Development"})
                attempts.push_back(path + c + "/" + name);
        }
    };
    add(dir);
    if (!dir.empty() && dir[0] == '/') add(dir.substr(1));
    for (const auto& a : attempts) {
        std::error_code ec;
        if (fs::exists(a, ec) && !fs::is_directory(a, ec)) {
            fs::path p = fs::absolute(a, ec);
            return (ec ? fs::path(a) : p).lexically_normal().string();
        }
    }
    if (dir.empty()) {
        const char* path = std::getenv("PATH");
        std::string all = path ? path : "";
        for (size_t start = 0; start <= all.size();) {
            size_t end = all.find(':', start);
            if (end == std::string::npos) end = all.size();
            std::string d = all.substr(start, end - start);
            start = end + 1;
            if (d.empty()) continue;
            std::error_code ec;
            fs::path candidate = fs::path(d) / name;
            if (fs::exists(candidate, ec) && !fs::is_directory(candidate, ec))
                return candidate.string();
        }
    }
    return "";
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
        "  * own process group, own cgroup when the host allows (true peak memory,\n"
        "    --memory-limit), child subreaper so daemons cannot escape;\n"
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
    auto opts = std::make_shared<launcher::Options>();
    struct Raw {
        std::string leak = "warn";
        std::string cgroup = "auto";
        std::string memory_limit;
        std::string memory_limit_env;
        std::string keep = "failed";
        std::string keep_size = "1G";
        std::vector<std::string> slots;
        std::string timeout_env;
        std::string locks_env;
        bool ctest_resolve = false;
        std::string ctest_config;
        std::string grace = std::to_string(defaults::kGraceSeconds);
    };
    auto raw = std::make_shared<Raw>();

    cmd->add_option("--name", opts->name, "Test name for reports and records (default: command)")
        ->type_name("NAME");
    cmd->add_option("--timeout", opts->timeout_seconds,
                    "Kill the test's whole tree after SECONDS x the timeout multiplier; exit 124")
        ->type_name("SECONDS");
    cmd->add_option("--timeout-env", raw->timeout_env,
                    "Take the timeout from environment variable VAR when it is set and not "
                    "empty (overrides --timeout; CorralFunctions.cmake passes a test's own "
                    "TIMEOUT this way)")
        ->type_name("VAR");
    cmd->add_option("--locks-env", raw->locks_env,
                    "Also hold the host-wide locks named in environment variable VAR "
                    "(comma-separated; CorralFunctions.cmake passes a test's own LOCKS this way)")
        ->type_name("VAR");
    cmd->add_flag("--ctest-resolve", raw->ctest_resolve,
                  "Find the command word as ctest(1) would (the word, <dir>/<config>/<name>, the "
                  "word relative to the working directory, then $PATH)");
    cmd->add_option("--ctest-config", raw->ctest_config,
                    "The configuration ctest runs (-C) for --ctest-resolve")
        ->type_name("CONFIG");
    cmd->add_option("--grace", raw->grace,
                    "Whole seconds (0-3600) between TERM and KILL, on timeout and for leaked "
                    "processes")
        ->type_name("SECONDS")
        ->capture_default_str();
    cmd->add_option(
           "--timeout-multiplier", opts->timeout_multiplier,
           "Scale --timeout (default: the plan's, else $CORRAL_TIMEOUT_MULTIPLIER, else 1)")
        ->type_name("X");
    cmd->add_option("--scratch-root", opts->scratch_root,
                    "Create the scratch directory under DIR (default: granted heavy_io dir, the "
                    "plan's scratch_dir, $TMPDIR, /tmp)")
        ->type_name("DIR");
    cmd->add_option("--plan", opts->plan_file,
                    "plan.json from corral plan/generate: scratch_dir, timeout_multiplier, "
                    "heavy_io directories")
        ->type_name("FILE");
    cmd->add_option("--records", opts->records_file,
                    "Append one JSON line (corral.record/1) per test to FILE, atomically")
        ->type_name("FILE");
    cmd->add_option("--lock", opts->locks,
                    "Hold the host-wide lock NAME while the test runs (repeatable)")
        ->allow_extra_args(false)  // one value per --lock, never the command
        ->type_name("NAME");
    cmd->add_option("--slots", raw->slots,
                    "Hold one of N host-wide slots of TYPE while the test runs (repeatable)")
        ->allow_extra_args(false)
        ->type_name("TYPE:N");
    cmd->add_option("--leak", raw->leak,
                    "Processes left behind: fail (exit 122 if the test passed), warn, ignore; "
                    "they are killed in every case")
        ->check(CLI::IsMember({"fail", "warn", "ignore"}))
        ->capture_default_str();
    cmd->add_option("--leak-window", opts->leak_window_ms,
                    "Milliseconds exiting processes get after the main process exits")
        ->type_name("MS")
        ->check(CLI::Range(0, 600000))
        ->capture_default_str();
    cmd->add_option("--cgroup", raw->cgroup,
                    "Per-test cgroup: auto (when the host allows), off, require (fail without)")
        ->check(CLI::IsMember({"auto", "off", "require"}))
        ->capture_default_str();
    cmd->add_option("--memory-limit", raw->memory_limit,
                    "Enforce a memory limit on the whole test via its cgroup (e.g. 512M, 2G)")
        ->type_name("SIZE");
    cmd->add_option("--memory-limit-env", raw->memory_limit_env,
                    "Take --memory-limit from this environment variable when it is set "
                    "(corral_setup(ENFORCE_MEMORY): each test's grant)")
        ->type_name("VAR");
    cmd->add_option("--keep-scratch", raw->keep,
                    "Keep the scratch directory: never, failed (a failed or timed-out test's, "
                    "as evidence), always")
        ->check(CLI::IsMember({"never", "failed", "always"}))
        ->capture_default_str();
    cmd->add_option("--keep-scratch-count", opts->keep_scratch_count,
                    "Kept scratch directories at most (host-wide, per user); the oldest go")
        ->type_name("N")
        ->capture_default_str();
    cmd->add_option("--keep-scratch-size", raw->keep_size,
                    "Kept scratch directories total at most SIZE; the oldest go, and a larger "
                    "one is not kept")
        ->type_name("SIZE")
        ->capture_default_str();
    cmd->add_flag("--json", opts->json, "Print the record as one JSON line on stdout at the end");
    // The test command is not a CLI11 option: CLI11 would reinterpret its
    // arguments ("[a,b]" as a list, "--x" as an option). Everything from the
    // first positional (or after "--") is passed through untouched.
    cmd->add_option("command", opts->command, "The test command and its arguments, after --")
        ->type_name("COMMAND [ARGS...]");

    cmd->footer("Usage: corral run [OPTIONS] [--] COMMAND [ARGS...]");

    cmd->callback([cmd, opts, raw, &status] {
        // Only when "--" came before the command (then CLI11 saw the same first word).
        if (auto exact = command_after_separator();
            exact && !exact->empty() && !opts->command.empty() && (*exact)[0] == opts->command[0])
            opts->command = *exact;
        auto bad = [&status](const std::string& why) {
            std::cerr << "corral run: " << why << "\n";
            status = launcher::kExitLauncherFailure;
        };
        opts->leak = raw->leak == "fail"   ? launcher::LeakPolicy::Fail
                     : raw->leak == "warn" ? launcher::LeakPolicy::Warn
                                           : launcher::LeakPolicy::Ignore;
        opts->cgroup = raw->cgroup == "off"       ? launcher::CgroupMode::Off
                       : raw->cgroup == "require" ? launcher::CgroupMode::Require
                                                  : launcher::CgroupMode::Auto;
        opts->keep_scratch = raw->keep == "never"    ? launcher::KeepScratch::Never
                             : raw->keep == "always" ? launcher::KeepScratch::Always
                                                     : launcher::KeepScratch::Failed;
        auto keep_bytes = units::parse_size(raw->keep_size);
        if (!keep_bytes) return bad("--keep-scratch-size " + keep_bytes.error);
        opts->keep_scratch_bytes = *keep_bytes;
        auto grace = units::parse_grace(raw->grace);
        if (!grace) return bad("--grace " + grace.error);
        opts->grace_seconds = *grace;
        std::string limit_from = "--memory-limit";
        if (!raw->memory_limit_env.empty()) {
            const char* text = std::getenv(raw->memory_limit_env.c_str());
            if (text && *text) {
                raw->memory_limit = text;
                limit_from = "$" + raw->memory_limit_env;
            }
        }
        if (!raw->memory_limit.empty()) {
            auto bytes = units::parse_size(raw->memory_limit);
            if (!bytes) return bad(limit_from + " " + bytes.error);
            if (*bytes < 4096)
                return bad(limit_from + " '" + raw->memory_limit + "': at least 4K (one page)");
            opts->memory_limit_bytes = *bytes;
        }
        if (!raw->timeout_env.empty()) {
            const char* text = std::getenv(raw->timeout_env.c_str());
            if (text && *text) {
                char* end = nullptr;
                double seconds = std::strtod(text, &end);
                if (end == text || *end != '\0' || !(seconds > 0))
                    return bad("$" + raw->timeout_env + " '" + text +
                               "': expected a timeout in seconds (> 0)");
                opts->timeout_seconds = seconds;
            }
        }
        if (!raw->locks_env.empty()) {
            const char* text = std::getenv(raw->locks_env.c_str());
            std::string all = text ? text : "";
            for (size_t start = 0; start < all.size();) {
                size_t end = all.find(',', start);
                if (end == std::string::npos) end = all.size();
                if (end > start) opts->locks.push_back(all.substr(start, end - start));
                start = end + 1;
            }
        }
        if (raw->ctest_resolve && !opts->command.empty()) {
            auto found = ctest_find_executable(opts->command[0], raw->ctest_config);
            if (!found.empty()) opts->command[0] = found;
        }
        opts->slots.clear();
        for (const auto& s : raw->slots) {
            try {
                opts->slots.push_back(locks::parse_slot_request(s));
            } catch (const std::exception& e) {
                return bad(e.what());
            }
        }
        for (const auto& l : opts->locks)
            if (auto name = units::parse_lock_name(l); !name) return bad("--lock " + name.error);
        status = launcher::run(*opts, std::cerr);
    });
}

}  // namespace corral::cli
