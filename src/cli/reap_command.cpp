// corral reap: the cleanup fixture. Exit codes (docs/exit-codes.md):
//   0 clean: nothing in scope, or everything found has ended
//   1 not clean: something survived SIGKILL, refused the signal, or was still
//     in scope after --max-rounds
//   2 bad usage
//   3 --fail-if-found and something was found (it was still killed unless --dry-run)
//   4 the scope is not dedicated to tests (reaper.hpp check_dedicated); nothing signalled
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "common/defaults.hpp"
#include "kernel/process.hpp"
#include "runtime/reaper.hpp"

namespace corral::cli {
namespace fs = std::filesystem;

inline constexpr int kExitReapFound = 3;
inline constexpr int kExitReapRefused = 4;

void add_reap_command(CLI::App& app, int& status) {
    auto* cmd = app.add_subcommand(
        "reap",
        "Kill the processes a test left behind under a scope directory (a CTest\n"
        "FIXTURES_CLEANUP test, or by hand). A process is tied to the scope when an\n"
        "argv element names a path under DIR, its working directory or executable lies\n"
        "under DIR, an open file does (--match files), or its environment holds\n"
        "CORRAL_SCOPE=TOKEN or CORRAL_SCOPE=<a path under DIR> (as `corral run` sets\n"
        "it). Paths match on path boundaries: /s/001 never matches /s/0010 or\n"
        "/s/001-old. Never touched: corral itself, its ancestors, PID 1,\n"
        "kernel threads, other users' processes (unless --all-users); they are\n"
        "reported as spared.\n"
        "Kill order: --order classes first (in the order given), then everything else,\n"
        "then --then classes; each class gets SIGTERM+SIGCONT, --grace, SIGKILL, and the\n"
        "next class is only signalled after a fresh scan shows the earlier ones gone.\n"
        "Only dedicated scopes: '/', system directories, /tmp and /var/tmp themselves,\n"
        "home directories (and what contains one), the current directory and its\n"
        "ancestors are refused (exit 4, nothing signalled) unless --force; a scope\n"
        "Corral made (it holds a valid .corral-scope) is always accepted.\n"
        "Exit: 0 clean, 1 something survived, 2 usage, 3 found (with --fail-if-found),\n"
        "4 scope refused.\n"
        "Example: corral reap --scope /ci/tmp/vm-001 --order 'firecracker,qemu-system*'\n"
        "         --then '*-pager' --grace 10");
    struct Options {
        std::string scope;
        std::string token;
        std::string match = "argv,cwd,exe,env";
        std::vector<std::string> order;
        std::vector<std::string> then;
        double grace_seconds = defaults::kGraceSeconds;
        int max_rounds = 20;
        bool all_users = false;
        bool dry_run = false;
        bool json = false;
        bool fail_if_found = false;
        bool force = false;
    };
    auto opts = std::make_shared<Options>();
    cmd->add_option("--scope", opts->scope,
                    "Directory whose processes to kill (a test's data or scratch directory). "
                    "A trailing slash or a symlink to it gives the same result; it need not "
                    "exist any more. Refused (exit 4) unless dedicated to tests: see --force.")
        ->type_name("DIR");
    cmd->add_option("--token", opts->token,
                    "Also kill processes whose environment holds CORRAL_SCOPE=TOKEN (what "
                    "`corral run` exports). Not read from corral's own environment: give it "
                    "explicitly.")
        ->type_name("TOKEN");
    cmd->add_option("--match", opts->match,
                    "Which ties count, comma-separated: argv, cwd, exe, files, env. 'files' "
                    "reads every process's open descriptors (slower)")
        ->type_name("LIST")
        ->capture_default_str();
    cmd->add_option("--order", opts->order,
                    "Name patterns (fnmatch globs on comm or argv[0]'s basename) killed "
                    "first, one class per pattern, in this order; comma-separated or repeated")
        ->type_name("GLOBS")
        ->delimiter(',');
    cmd->add_option("--then", opts->then,
                    "Name patterns killed last, after everything else (e.g. '*-pager')")
        ->type_name("GLOBS")
        ->delimiter(',');
    cmd->add_option("--grace", opts->grace_seconds,
                    "Seconds between SIGTERM and SIGKILL for each class")
        ->type_name("SECONDS")
        ->transform(in_range(0, 3600, false))
        ->capture_default_str();
    cmd->add_option("--max-rounds", opts->max_rounds,
                    "At most this many scan+kill rounds (one class per round); handles "
                    "SIGTERM handlers that spawn children and bounded fork loops")
        ->type_name("N")
        ->transform(in_range(1, 10000, true))
        ->capture_default_str();
    cmd->add_flag("--all-users", opts->all_users,
                  "Also kill other users' processes in scope (default: report them as spared)");
    cmd->add_flag("--dry-run", opts->dry_run, "Report what would be signalled; signal nothing");
    cmd->add_flag("--fail-if-found", opts->fail_if_found,
                  "Exit 3 when anything was found (strict fixtures: a test must clean up "
                  "after itself)");
    cmd->add_flag("--force", opts->force,
                  "Accept a scope that is not dedicated to tests (a system directory, /tmp, a "
                  "home directory or what contains one, the current directory or an ancestor). "
                  "'/' is refused even so");
    cmd->add_flag("--json", opts->json, "Print the report as JSON (schema corral.reap/1)");

    cmd->callback([opts, &status] {
        // Reading /proc needs a descriptor per file, ending a process one
        // pidfd: with too few, a scan would find nothing and call it clean.
        constexpr size_t kMinDescriptors = 8;
        if (auto b = proc::raise_descriptor_limit(256, kMinDescriptors); b.free < kMinDescriptors) {
            std::cerr << "corral reap: " << proc::descriptor_shortage(b, kMinDescriptors)
                      << " needed to scan and end processes: nothing was scanned; close "
                         "inherited descriptors or raise the limit\n";
            status = kExitFailure;
            return;
        }
        try {
            reap::ReapOptions options;
            std::optional<std::string> token;
            if (!opts->token.empty()) token = opts->token;
            options.scan.scope = reap::make_scope(opts->scope, token);
            reap::check_dedicated(options.scan.scope, reap::HostDirs::from_host(), opts->force);
            // A scope that is not there (a typo in a fixture, a removed build
            // tree) is still scanned: processes may name it, or sit in it
            // deleted. But "clean" alone would hide the typo. The path as
            // compared (normalised); a scope that cannot be looked at is not
            // called missing.
            if (!options.scan.scope.paths.empty()) {
                std::error_code ec;
                const auto& path = options.scan.scope.paths.front();
                const auto st = fs::status(path, ec);
                if (st.type() == fs::file_type::not_found)
                    std::cerr << "corral reap: note: the scope " << path
                              << " does not exist; only processes that still name it are found\n";
                else if (!ec && st.type() != fs::file_type::directory)
                    std::cerr << "corral reap: note: the scope " << path
                              << " is not a directory; only processes that name it are found\n";
            }
            options.scan.match = reap::parse_match_set(opts->match);
            options.scan.all_users = opts->all_users;
            options.order = opts->order;
            options.then = opts->then;
            options.grace_ms = static_cast<int>(std::lround(opts->grace_seconds * 1000));
            options.max_rounds = opts->max_rounds;
            options.dry_run = opts->dry_run;
            auto report = reap::reap(options);

            int code = kExitOk;
            if (!report.dry_run && (!report.clean() || report.any_survived()))
                code = kExitFailure;
            else if (opts->fail_if_found && !report.found.empty())
                code = kExitReapFound;
            if (opts->json) {
                auto j = reap::to_json(report);
                j["exit_status"] = code;
                std::cout << j.dump(2) << "\n";
            } else {
                reap::describe(std::cout, report);
            }
            for (const auto& s : report.spared)
                if (s.reason == reap::SpareReason::OtherUser)
                    std::cerr << "corral reap: warning: spared pid " << s.info.pid << " of uid "
                              << s.info.uid << " in scope (" << s.info.command_line()
                              << "); use --all-users to kill it\n";
            status = code;
        } catch (const reap::ScopeRefused& e) {
            std::cerr << "corral reap: " << e.what() << "\n";
            status = kExitReapRefused;
        } catch (const reap::UsageError& e) {
            std::cerr << "corral reap: " << e.what() << "\n";
            status = kExitUsage;
        }
    });
}

}  // namespace corral::cli
