// Starting a process without copying the caller: clone(2) with CLONE_VM |
// CLONE_VFORK, the way glibc's posix_spawn does it
// (sysdeps/unix/sysv/linux/spawni.c). The child borrows the caller's memory
// on a stack of its own until it calls execve(2) or _exit(2); the caller is
// suspended until then. No page tables are copied and no page of the caller
// is write-faulted afterwards, so the cost does not grow with the caller's
// size (bench/run_overhead/README.md "Spawn").
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace corral::proc {

// Runs `child(arg)` in a new process (SIGCHLD to the caller at its exit, as
// fork(2)) and returns its pid once the child has exec'ed or exited, with a
// pidfd of it in `*pidfd` (CLONE_PIDFD, Linux >= 5.2; close-on-exec): the
// descriptor exists before the process does, so a caller out of descriptors
// fails here, before anything ran. -1 with errno from mmap(2) or clone(2)
// (EMFILE among them) when no process was made.
//
// `child` runs on a stack of its own of 32 KiB plus `argv_words` pointers (room
// for execvpe(3)'s copy of the arguments when it falls back to /bin/sh): a
// 48 KiB frame of the caller's stack when that holds it and the stack limit
// (RLIMIT_STACK) is at least 1 MiB, else a mapping made for it. It runs in the
// caller's memory: it must not allocate, lock, throw or return into the
// caller's frames. Only async-signal-safe calls (signal-safety(7)), ending in
// an exec or _exit(2); its return value becomes the exit status if it returns.
// It may write results into `arg`'s memory: the caller reads them after this
// returns. The caller must have no signal handlers installed (SIG_DFL and
// SIG_IGN only; the launcher uses signalfd(2)): a handler would run in the
// child on the caller's memory.
pid_t spawn_shared(int (*child)(void*), void* arg, std::size_t argv_words, int* pidfd);

}  // namespace corral::proc
