#include "cli/commands.hpp"

namespace corral::cli {

void add_generator_commands(CLI::App&, int&) {}

}  // namespace corral::cli
