// corral: probe the host, plan, emit; launch and reap tests.
#include <iostream>

#include "cli/commands.hpp"
#include "corral_version.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "Corral bounds parallel CMake/CTest builds and tests to the machine they run on.\n"
        "  probe     what this host really offers (cgroup-aware CPUs and memory, scratch disks)\n"
        "  plan      decide parallel levels, CTest resources, Ninja pools, scratch, timeouts\n"
        "  generate  probe + plan + write every output file (resources.json, pools, env, CI)\n"
        "  run       launch one test bounded and isolated; kill what it leaves behind\n"
        "  reap      kill processes left behind under a scope directory\n",
        "corral"};
    app.set_version_flag("--version", std::string("corral ") + corral::kCorralVersion);
    app.require_subcommand(1);
    app.fallthrough(false);

    int status = corral::cli::kExitOk;
    corral::cli::add_probe_command(app, status);
    corral::cli::add_plan_command(app, status);
    corral::cli::add_generator_commands(app, status);
    corral::cli::add_run_command(app, status);
    corral::cli::add_reap_command(app, status);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);  // prints help, version or the error
        return code == 0 ? corral::cli::kExitOk : corral::cli::kExitUsage;
    }
    return status;
}
