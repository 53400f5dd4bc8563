// What CTest granted a test (its resource allocation environment) and what the
// launcher makes of it: the scratch root, GPU visibility variables, the
// declared memory. ctest(1) "Resource Allocation", "Environment Variables".
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/gpu_grant.hpp"
#include "runtime/records.hpp"

namespace corral::launcher {

// CTEST_RESOURCE_GROUP_COUNT=N, CTEST_RESOURCE_GROUP_<g>=type,type,
// CTEST_RESOURCE_GROUP_<g>_<TYPE>=id:X,slots:Y;id:Z,slots:W (TYPE upper-cased).
// Throws std::invalid_argument naming the variable and what was expected.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::vector<records::GrantedResource> parse_ctest_resources(const EnvLookup& getenv);

struct Translation {
    std::optional<std::string> scratch_root;               // from a granted heavy_io id
    std::vector<std::pair<std::string, std::string>> env;  // variables to export
    std::vector<std::string> notes;                        // human: what could not be mapped
};
// heavy_io id -> its scratch directory (from the plan); gpus ids -> the
// visibility variables (gpu_grant.hpp: the plan's handles, else this host's,
// else the id's index); mem_mib slots -> CORRAL_MEMORY_BYTES.
Translation translate_grants(const std::vector<records::GrantedResource>& grants,
                             const std::map<std::string, std::string>& heavy_io_paths,
                             const GpuHandles* gpu_handles = nullptr);

// The memory the test declared: its mem_mib slots in bytes (MiB each), nullopt
// when CTest granted none.
std::optional<uint64_t> declared_memory_bytes(const std::vector<records::GrantedResource>& grants);
// The processors it was granted: its cpus slots (corral_add_test PROCESSORS),
// nullopt when CTest granted none.
std::optional<int> granted_processors(const std::vector<records::GrantedResource>& grants);

}  // namespace corral::launcher
