// The outputs of `corral generate`: rendered all at once (pure), then written
// together. Writing stages every file complete in a directory beside the
// outputs and renames each into place only when all are staged, so a bad plan,
// a full disk or a kill leaves every output file either as it was or complete.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "generator/plan.hpp"
#include "probe/facts.hpp"

namespace corral {

struct OutputFile {
    std::string name;  // file name inside the output directory, e.g. "resources.json"
    std::string content;
    unsigned mode = 0644;
};

// Every output file, in a fixed order (docs/outputs.md). Pure; throws
// EmitError (generator/emit.hpp) when some format cannot carry the plan.
std::vector<OutputFile> render_outputs(const Facts& facts, const Plan& plan);

// Writes `files` into `dir` (created if missing). Holds an exclusive flock on
// `dir` meanwhile, so two concurrent runs do not interleave, and removes
// staging directories a killed run left behind. Throws std::system_error (or
// std::runtime_error) naming the path; on a throw no output was replaced
// unless the failure came while renaming (then each file is old or new, whole).
void write_outputs(const std::filesystem::path& dir, const std::vector<OutputFile>& files);

// Prefix of the staging directories write_outputs creates inside `dir`.
inline constexpr const char* kStagingPrefix = ".corral-staging.";

}  // namespace corral
