#include "common/run_outcome.hpp"

namespace corral {

const char* outcome_name(RunOutcome o) {
    switch (o) {
        case RunOutcome::Passed:
            return "passed";
        case RunOutcome::Failed:
            return "failed";
        case RunOutcome::Signalled:
            return "signalled";
        case RunOutcome::TimedOut:
            return "timed out";
        case RunOutcome::Leaked:
            return "leaked";
        case RunOutcome::OomKilled:
            return "OOM-killed";
        case RunOutcome::NotFound:
            return "not found";
        case RunOutcome::LauncherFailed:
            return "launcher failed";
    }
    return "?";
}

RunOutcome decide_outcome(const RunFacts& f) {
    if (f.launcher_failed) return RunOutcome::LauncherFailed;
    if (f.not_found) return RunOutcome::NotFound;
    if (f.timed_out) return RunOutcome::TimedOut;
    if (f.launcher_signal) return RunOutcome::Signalled;
    if (f.oom_killed && f.signal) return RunOutcome::OomKilled;
    if (f.signal) return RunOutcome::Signalled;
    if (f.exit_code && *f.exit_code != 0) return RunOutcome::Failed;
    if (f.leaked && f.leak_fails) return RunOutcome::Leaked;
    return RunOutcome::Passed;
}

int exit_code_of(RunOutcome o, const RunFacts& f) {
    switch (o) {
        case RunOutcome::Passed:
            return 0;
        case RunOutcome::Failed:
            return f.exit_code.value_or(kExitLauncherFailure);
        case RunOutcome::Signalled:
        case RunOutcome::OomKilled:
            return kExitSignalBase +
                   (f.launcher_signal ? *f.launcher_signal : f.signal.value_or(9));
        case RunOutcome::Leaked:
            return kExitLeaked;
        case RunOutcome::TimedOut:
            return kExitTimeout;
        case RunOutcome::LauncherFailed:
            return kExitLauncherFailure;
        case RunOutcome::NotFound:
            return f.exec_errno_code == kExitCannotInvoke ? kExitCannotInvoke : kExitNotFound;
    }
    return kExitLauncherFailure;
}

}  // namespace corral
