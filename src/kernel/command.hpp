// Running a helper program and reading what it prints: posix_spawn(3) with
// its standard output on a pipe, then waitpid(2). For the few lookups a
// statically linked program must leave to a dynamically linked tool (the
// passwd database through getent(1): NSS modules cannot be loaded into a
// static program) and for ctest's listing in `corral shard`. Not for tests:
// the launcher has its own spawn (spawn.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace corral::proc {

struct Captured {
    int spawn_errno = 0;     // posix_spawnp's error (ENOENT: not found); nothing ran when set
    int status = -1;         // the exit status, or 128 + signal number; -1 when unknown
    bool timed_out = false;  // killed (SIGKILL) at the time limit: `out` is partial
    bool too_much = false;   // killed (SIGKILL) past max_bytes of output: `out` is partial
    std::string out;         // everything written to standard output (stderr is inherited)
};

// Runs argv (a path, or a name looked up on PATH as execvp(3) does) with the
// caller's environment, in `cwd` when not empty, stdin inherited, and waits
// at most `timeout_ms` milliseconds (0: no limit) for its output to end and
// reads at most about `max_bytes` of it (0: no limit). It runs in a process
// group of its own, which a limit ends (SIGKILL) as a whole.
// Works when the caller ignores SIGCHLD (an inherited SIG_IGN would let the
// kernel reap the child before waitpid: it is set to SIG_DFL for the call and
// put back). Throws std::system_error only when the pipe cannot be made.
Captured capture(const std::vector<std::string>& argv, const std::string& cwd = {},
                 int timeout_ms = 0, std::size_t max_bytes = 0);

}  // namespace corral::proc
