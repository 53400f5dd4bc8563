/* The floor of any launcher: a static program that posix_spawn(3)s its
 * arguments and waits (run_overhead.py times `floor /bin/true` beside
 * `corral run -- /bin/true`). What corral adds over it is its own work; what
 * it adds over the bare command is one more exec and two wakeups, which this
 * host's state moves by tenths of a millisecond between runs. */
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
    pid_t pid;
    int status = 0;
    if (argc < 2 || posix_spawn(&pid, argv[1], 0, 0, argv + 1, environ) != 0) return 127;
    if (waitpid(pid, &status, 0) != pid) return 125;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
