// What happened to one test run (`corral run`), and the one table from an
// outcome to the launcher's exit code. The launcher (src/runtime) decides an
// outcome and exits with its code; the report (src/report) reads records back
// into the same outcomes. docs/exit-codes.md "corral run" is held against
// kRunExitCodes by tests/common/run_outcome_test.cpp.
#pragma once

#include <optional>

namespace corral {

// Most telling first when several apply: a test that timed out and leaked is
// TimedOut (issue 12, outcome 5).
enum class RunOutcome {
    Passed,          // exit 0, nothing left behind (or a leak under --leak warn/ignore)
    Failed,          // the test's own non-zero exit code
    Signalled,       // a signal ended the test's main process (not a timeout or OOM kill)
    TimedOut,        // --timeout fired; the tree was killed
    Leaked,          // passed but left processes behind, with --leak fail
    OomKilled,       // the kernel's OOM killer ended it in its cgroup
    NotFound,        // the command was not found or not executable
    LauncherFailed,  // corral run itself failed around the test
};
inline constexpr RunOutcome kAllRunOutcomes[] = {
    RunOutcome::Passed, RunOutcome::Failed,    RunOutcome::Signalled, RunOutcome::TimedOut,
    RunOutcome::Leaked, RunOutcome::OomKilled, RunOutcome::NotFound,  RunOutcome::LauncherFailed};

// "passed", "failed", "signalled", "timed out", "leaked", "OOM-killed",
// "not found", "launcher failed".
const char* outcome_name(RunOutcome o);

// Exit codes of `corral run` that are the launcher's own (timeout(1)'s
// convention: 124-127 for the wrapper, the test's code otherwise).
inline constexpr int kExitLeaked = 122;           // passed but leaked, with --leak fail
inline constexpr int kExitTimeout = 124;          // --timeout fired
inline constexpr int kExitLauncherFailure = 125;  // corral run itself failed / bad option value
inline constexpr int kExitCannotInvoke = 126;     // command found but not executable
inline constexpr int kExitNotFound = 127;         // command not found
inline constexpr int kExitSignalBase = 128;  // 128+N: signal N ended the test (as a shell says)

// One row of the exit-code table: `code` as docs/exit-codes.md writes it in
// its first column ("the test's code", "128+N", "124", ...), and the outcome
// that code stands for (its second column).
struct ExitCodeRow {
    const char* code;
    RunOutcome outcome;
};
inline constexpr ExitCodeRow kRunExitCodes[] = {
    {"0", RunOutcome::Passed},           {"the test's code", RunOutcome::Failed},
    {"128+N", RunOutcome::Signalled},    {"128+N", RunOutcome::OomKilled},
    {"122", RunOutcome::Leaked},         {"124", RunOutcome::TimedOut},
    {"125", RunOutcome::LauncherFailed}, {"126", RunOutcome::NotFound},
    {"127", RunOutcome::NotFound},
};

// What the launcher knows when it decides; `exit_code`/`signal` describe how
// the test's main process ended (neither when it never ran).
struct RunFacts {
    std::optional<int> exit_code;
    std::optional<int> signal;
    std::optional<int> launcher_signal;  // SIGTERM/SIGINT/... to the launcher after the test ended
    bool timed_out = false;
    bool oom_killed = false;
    bool leaked = false;      // processes were left behind
    bool leak_fails = false;  // --leak fail
    bool not_found = false;   // exec failed: ENOENT (127) or another reason (126)
    int exec_errno_code = 0;  // 126 or 127 when not_found
    bool launcher_failed = false;
};

// The outcome of a run (the order of RunOutcome), and its exit code from
// kRunExitCodes: 0, the test's code, 128+N, 122, 124, 125, 126 or 127.
RunOutcome decide_outcome(const RunFacts& f);
int exit_code_of(RunOutcome o, const RunFacts& f);

}  // namespace corral
