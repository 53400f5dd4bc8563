#include "cli/commands.hpp"

namespace corral::cli {

void add_run_command(CLI::App&, int&) {}

}  // namespace corral::cli
