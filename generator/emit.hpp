// Stage 3: the emitters. Each renders a Plan into one output format. They are
// pure functions (no I/O, no clock, no host): the same Plan gives the same
// bytes. They validate what the target format cannot carry (a bad CTest
// resource name, an environment variable name a shell cannot export, a NUL
// byte) and throw EmitError rather than produce a file the consumer would
// misread. Output files and their consumers are described in docs/outputs.md.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plan/plan.hpp"

namespace corral {

// The plan cannot be rendered faithfully into some format.
struct EmitError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// resources.json: the CTest resource specification file (version 1.0, "local"
// with one element). CTest reads it only through --resource-spec-file, the
// CTEST_RESOURCE_SPEC_FILE CMake variable (3.18+), a test preset's
// resourceSpecFile or a GENERATED_RESOURCE_SPEC_FILE fixture (3.28+) - there is
// no environment variable for it.
std::string emit_resource_spec(const Plan& plan);

// pools.cmake: JOB_POOLS + CMAKE_JOB_POOL_COMPILE/LINK. Works with include()
// from a project and with `cmake -C pools.cmake` (where only cache entries
// survive, so it also sets the CMAKE_JOB_POOLS cache variable).
std::string emit_pools_cmake(const Plan& plan);

// pools.ninja: `pool NAME` / `  depth = N` blocks for hand-written Ninja files.
std::string emit_pools_ninja(const Plan& plan);

// plan.cmake: set(CORRAL_PLAN_...) lines for the CMake package (CMake 3.16
// cannot parse JSON). Values are bracket arguments, exact for any bytes.
std::string emit_plan_cmake(const Plan& plan);

// env.sh: `export NAME='value'` lines, POSIX-shell quoted.
std::string emit_env_sh(const Plan& plan);

// github.env: NAME=value lines for $GITHUB_ENV (Forgejo reads the same file);
// multi-line values use the NAME<<DELIMITER form.
std::string emit_github_env(const Plan& plan);

// CI workflow snippets, filled from templates/ and parsed back with yaml-cpp
// to check the key fields before they are returned.
std::string emit_github_workflow(const Plan& plan);
std::string emit_forgejo_workflow(const Plan& plan);
// The sharded form (`corral ci --shards N`, docs/sharding.md): a matrix job of N
// shards (1..256; EmitError otherwise) reading the committed ci/shards/ files of
// `corral shard`, and a job merging their records into one `corral report`.
std::string emit_github_sharded_workflow(const Plan& plan, int shards);
std::string emit_forgejo_sharded_workflow(const Plan& plan, int shards);

// report.txt: the human summary, with every warning.
std::string emit_report(const Plan& plan);

// One line for report.txt and `corral plan`: what plain `ctest -jN` does under this
// plan's spec (the `cpus` resource every Corral test takes; docs/cmake.md "CPU bound").
std::string ctest_bound(const Plan& plan);

// Building blocks, exposed for tests and for other emitters.
namespace emit_detail {

// POSIX shell single-quoting: abc -> 'abc', it's -> 'it'\''s'. Throws on NUL.
std::string shell_quote(std::string_view value);
// A CMake bracket argument ([=[...]=]) holding exactly `value`.
std::string cmake_bracket(std::string_view value);
// Throws EmitError unless every resource type and id is one CTest accepts.
void check_resources(const Plan& plan);
// Throws EmitError unless `name` is a portable environment variable name.
void check_env_name(std::string_view name);
// Replaces every @KEY@ in `text` with values.at(KEY). Throws EmitError on an
// unknown or unused placeholder, so a template and its emitter stay in step.
std::string fill_template(std::string_view text, std::string_view template_name,
                          const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace emit_detail

}  // namespace corral
