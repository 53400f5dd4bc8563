// A GitHub/Forgejo Actions runner, emulated for one job: what the generated CI
// workflows must survive. Written once, for every workflow test.
//
// The rules followed (GitHub docs, "Workflow syntax for GitHub Actions" and
// "Workflow commands": jobs.<id>.env, steps[*].run/working-directory/shell/env,
// $GITHUB_ENV; Forgejo Actions runs the same syntax through act):
//   * `run:` steps run in order, each as its own script with the default shell
//     `bash --noprofile --norc -eo pipefail {0}` (`shell: sh` -> `sh -e {0}`), in
//     `working-directory` relative to the workspace (the checkout);
//   * each step sees: the runner's environment < the job's `env:` < every
//     NAME=value (or NAME<<DELIMITER) line earlier steps appended to the file
//     named by $GITHUB_ENV < the step's own `env:`; $GITHUB_PATH lines are
//     prepended to PATH for later steps;
//   * the first failing step fails the job; later steps run only when their
//     `if:` is `${{ always() }}` or `${{ !cancelled() }}` (the job is never
//     cancelled here); `if: ${{ success() }}` is the default;
//   * `uses: actions/checkout@...` is emulated by the workspace the caller
//     prepared; `actions/download-artifact@...` likewise (the caller copied the
//     artifacts to `with: path`, which must exist); `actions/upload-artifact@...`
//     checks that each line of `with: path` names an existing file (missing:
//     the step fails under `if-no-files-found: error`, else a warning) and
//     records it in JobOutcome::artifacts;
//   * a job with `strategy: matrix:` is run once per matrix value the caller
//     picks: `${{ matrix.NAME }}` is replaced by that value everywhere in the
//     job (the only expression substituted).
//     Anything else (another action, another `if:`, other `${{ }}` expressions,
//     a key not listed here) throws std::runtime_error: an emulation that does
//     not know a construct must not pretend it ran.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace corral::test {

struct RunnerSetup {
    std::filesystem::path workspace;         // the checked-out project ($GITHUB_WORKSPACE)
    std::filesystem::path scratch;           // step scripts and $GITHUB_ENV files go here
    std::map<std::string, std::string> env;  // the runner's own environment (PATH, HOME, ...)
};

struct StepOutcome {
    std::string name;  // the step's name, else its first line
    int exit_code = 0;
    std::string log;  // stdout and stderr, interleaved as written
};

struct Artifact {
    std::string name;                                   // with: name
    std::vector<std::filesystem::path> files, missing;  // with: path lines, in the workspace
};

struct JobOutcome {
    std::vector<StepOutcome> steps;   // the steps that ran, in order
    std::vector<Artifact> artifacts;  // the upload-artifact steps that ran
    std::string step_summary;         // what the steps appended to $GITHUB_STEP_SUMMARY, in order
    bool success = false;             // every step ran and exited 0
    std::string transcript() const;   // every step's name, exit code and log
};

// Runs the only job of `workflow_yaml` as described above.
JobOutcome run_job(const std::string& workflow_yaml, const RunnerSetup& setup);
// Runs job `job_id` with the matrix values `matrix` (NAME -> value; must name
// every key of the job's strategy.matrix, and a value listed there).
JobOutcome run_job(const std::string& workflow_yaml, const RunnerSetup& setup,
                   const std::string& job_id, const std::map<std::string, std::string>& matrix);

}  // namespace corral::test
