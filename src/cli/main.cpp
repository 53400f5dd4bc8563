// corral: probe the host, plan, emit; launch and reap tests.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "corral_version.hpp"

namespace {

// One line per subcommand in `corral --help`; each subcommand's own --help
// keeps its full description.
// A constant table, not a std::map: nothing to construct at each start.
constexpr std::pair<std::string_view, std::string_view> kSummaries[] = {
    {"probe", "what this host really offers: cgroup-aware CPUs and memory, scratch disks, GPUs"},
    {"plan", "decide parallel levels, CTest resources, Ninja pools, scratch and timeouts"},
    {"generate", "probe + plan + write every output (resources.json, pools, env, CI snippets)"},
    {"spec", "print the CTest resource spec (resources.json)"},
    {"pools", "print the Ninja job pools (pools.cmake or pools.ninja)"},
    {"env", "print the planned environment (sh export lines or $GITHUB_ENV lines)"},
    {"ci", "print a GitHub or Forgejo Actions test job"},
    {"run", "launch one test bounded and isolated; kill what it leaves behind"},
    {"reap", "kill the processes left behind under a scope directory"},
    {"report", "summarise a test run: failures, leaks, slowest, JUnit, Markdown, HTML timeline"},
    {"profile", "per-test measured needs from records; --check lints declarations"},
    {"shard", "split the CTest suite into N balanced shards for N CI machines"},
};

class SummaryFormatter : public CLI::Formatter {
  public:
    std::string make_subcommand(const CLI::App* sub) const override {
        auto it = std::find_if(std::begin(kSummaries), std::end(kSummaries),
                               [&](const auto& s) { return s.first == sub->get_name(); });
        if (it == std::end(kSummaries)) return CLI::Formatter::make_subcommand(sub);
        std::stringstream out;
        CLI::detail::format_help(out, sub->get_display_name(true), std::string(it->second),
                                 column_width_);
        return out.str();
    }
};

std::vector<std::string>& words() {
    static std::vector<std::string> kept;
    return kept;
}

}  // namespace

namespace corral::cli {
namespace {
bool stdout_failure_was_said = false;
}
bool stdout_arrived(const char* who) {
    if (std::cout.flush()) return true;
    if (!stdout_failure_was_said) std::cerr << who << ": cannot write to standard output\n";
    stdout_failure_was_said = true;
    return false;
}
void stdout_failure_said() {
    stdout_failure_was_said = true;
}
}  // namespace corral::cli

void corral::cli::keep_program_words(int argc, char** argv) {
    words().assign(argv, argv + argc);
}

const std::vector<std::string>& corral::cli::program_words() {
    return words();
}

int main(int argc, char** argv) {
    corral::cli::keep_program_words(argc, argv);
    CLI::App app{
        "Corral bounds parallel CMake/CTest builds and tests to the machine they run on.\n"
        "Start with `corral probe`, then `corral generate`; `corral SUBCOMMAND --help` for more.",
        "corral"};
    app.formatter(std::make_shared<SummaryFormatter>());
    // Errors name the command they are about, as corral's own messages do
    // ("corral run: --leak: ..."); subcommands inherit this when added.
    app.failure_message([](const CLI::App* top, const CLI::Error& e) {
        std::string who = "corral";
        for (const auto* sub : top->get_subcommands())
            who += " " + sub->get_name();
        return who + ": " + e.what() + "\nRun `" + who + " --help` for the options.\n";
    });
    app.set_version_flag("--version", std::string("corral ") + corral::kCorralVersion);
    app.require_subcommand(1);
    app.fallthrough(false);

    // Each command's options are registered only when that command is asked
    // for (argv[1]); `corral --help` and anything else get all of them. A test
    // launch (`corral run`) pays for no other command's CLI11 setup
    // (bench/run_overhead/README.md).
    using Adder = void (*)(CLI::App&, int&);
    struct Command {
        std::vector<std::string_view> names;
        Adder add;
    };
    const std::vector<Command> commands = {
        {{"probe"}, corral::cli::add_probe_command},
        {{"plan"}, corral::cli::add_plan_command},
        {{"generate", "spec", "pools", "env", "ci"}, corral::cli::add_generator_commands},
        {{"run"}, corral::cli::add_run_command},
        {{"reap"}, corral::cli::add_reap_command},
        {{"report"}, corral::cli::add_report_command},
        {{"shard"}, corral::cli::add_shard_command},
        {{"profile"}, corral::cli::add_profile_command},
    };
    int status = corral::cli::kExitOk;
    const Command* asked = nullptr;
    if (argc > 1)
        for (const auto& c : commands)
            if (std::find(c.names.begin(), c.names.end(), std::string_view(argv[1])) !=
                c.names.end())
                asked = &c;
    if (asked) {
        asked->add(app, status);
        if (status != corral::cli::kExitOk) return status;  // the adder said why (a usage error)
    } else {
        for (const auto& c : commands)
            c.add(app, status);
        if (argc > 1 && argv[1][0] != '-') {
            std::cerr << "corral: unknown command '" << argv[1] << "'; the commands are:";
            for (const auto& c : commands)
                for (auto name : c.names)
                    std::cerr << ' ' << name;
            std::cerr << " (corral --help)\n";
            return corral::cli::kExitUsage;
        }
        // Before a command only --help and --version are options (CLI11 would
        // say "A subcommand is required" and not name the word).
        if (argc > 1 && argv[1][0] == '-' && std::string_view(argv[1]) != "-h" &&
            std::string_view(argv[1]) != "--help" && std::string_view(argv[1]) != "--version") {
            std::cerr << "corral: unknown option '" << argv[1]
                      << "': before a command only --help and --version are options; "
                         "corral COMMAND --help lists a command's own\n";
            return corral::cli::kExitUsage;
        }
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);  // prints help, version or the error
        if (!corral::cli::stdout_arrived("corral") && code == 0)
            return corral::cli::kExitFailure;  // --help or --version that never arrived
        return code == 0 ? corral::cli::kExitOk : corral::cli::kExitUsage;
    }
    // Output that never arrived is a failure (stdout on a full disk, /dev/full).
    if (!corral::cli::stdout_arrived("corral") && status == corral::cli::kExitOk)
        status = corral::cli::kExitFailure;
#if defined(__SANITIZE_ADDRESS__)
    return status;  // the leak check runs at exit
#else
    // Every command's work is done and its objects are gone: what is left to
    // destroy is the option tree and the program's statics, which the kernel
    // frees at once. Skipping their destructors saves ~0.6 ms of every test
    // launch (bench/run_overhead/README.md "Exit"). C stdio is flushed first.
    if (std::fflush(nullptr) != 0 && status == corral::cli::kExitOk)
        status = corral::cli::kExitFailure;
    std::_Exit(status);
#endif
}
