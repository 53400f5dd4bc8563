// The outputs of `corral generate`: rendered all at once (pure), then written
// together. Writing stages every file complete in a directory beside the
// outputs and renames each into place only when all are staged, so a bad plan,
// a full disk or a kill leaves every output file either as it was or complete.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "plan/plan.hpp"
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

// Writes `files` into `dir` (created if missing) as one generation: the files
// are written complete into a fresh directory dir/.corral-staging.XXXXXX, each
// dir/<name> is a symlink to .corral-current/<name>, and one rename(2) of the
// symlink dir/.corral-current switches every name to the new generation at
// once (docs/outputs.md). A kill or error at any moment leaves every name in
// the old set or every name in the new one, never a mix. Holds an exclusive
// flock on `dir` meanwhile, so two concurrent runs do not interleave, and
// removes staging directories and old generations a killed run left behind.
// Throws std::system_error (or std::runtime_error) naming the path.
void write_outputs(const std::filesystem::path& dir, const std::vector<OutputFile>& files);

// Prefix of the staging directories (and generations) write_outputs creates
// inside `dir`, and the link naming the current generation.
inline constexpr const char* kStagingPrefix = ".corral-staging.";
inline constexpr const char* kCurrentLink = ".corral-current";

}  // namespace corral
