#include "cli/commands.hpp"

namespace corral::cli {

void add_plan_command(CLI::App&, int&) {}

}  // namespace corral::cli
