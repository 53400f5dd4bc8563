// The default scope directories of test projects: corral_setup() names one
// per build tree under the planned scratch directory (/tmp/corral-<hash of
// the build directory>, cmake/CorralFunctions.cmake), outside the tree, so
// removing a test's temporary directory leaves it behind. A test that
// configures projects removes them with its temporary directory.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "runtime/scope_marker.hpp"

namespace corral::test {

// Removes the scope directory of every build tree below `root` (each
// CMakeCache.txt's _CORRAL_SCOPE_DIR), when it lies outside `root` and carries
// the mark corral_setup() wrote there (scope_marker::is_corral_made, the rule
// `corral reap` uses). Errors are ignored: it is cleanup.
inline void remove_build_scopes(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const std::string under = fs::weakly_canonical(root, ec).string() + "/";
    for (fs::recursive_directory_iterator
             it(root, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec)) {
        if (it->path().filename() != "CMakeCache.txt") continue;
        std::ifstream cache(it->path());
        const std::string key = "_CORRAL_SCOPE_DIR:INTERNAL=";
        std::string scope;
        for (std::string line; std::getline(cache, line);)
            if (line.rfind(key, 0) == 0) scope = line.substr(key.size());
        if (scope.empty() || (scope + "/").rfind(under, 0) == 0) continue;
        if (scope_marker::is_corral_made(scope, ::geteuid())) fs::remove_all(scope, ec);
        ec.clear();
    }
}

}  // namespace corral::test
