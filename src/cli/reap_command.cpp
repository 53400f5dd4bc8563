#include "cli/commands.hpp"

namespace corral::cli {

void add_reap_command(CLI::App&, int&) {}

}  // namespace corral::cli
