#include "kernel/spawn.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace corral::proc {

namespace {

// The child's stack when it fits: a frame of the caller's own stack. The
// caller is suspended until the child execs or exits (CLONE_VFORK), so its
// frames above this one stay intact, and the child writes from the top
// down, into pages the caller's deeper calls (option parsing) have most
// likely touched already: no mmap(2)/munmap(2) and no page faults, where a
// fresh mapping took 2-3 (bench/run_overhead/README.md, eleventh step).
// Under a small stack limit (`ulimit -s`, RLIMIT_STACK) the frame could reach
// past the stack's end: SIGSEGV at the clone (a 48 KiB limit crashed every
// launch). Below kFrameStackLimit the child gets a mapping, as before.
constexpr std::size_t kFrameStack = 48 * 1024;
constexpr rlim_t kFrameStackLimit = 1024 * 1024;

bool frame_stack_fits(std::size_t size) {
    if (size > kFrameStack) return false;
    struct rlimit stack {};
    return ::getrlimit(RLIMIT_STACK, &stack) == 0 &&
           (stack.rlim_cur == RLIM_INFINITY || stack.rlim_cur >= kFrameStackLimit);
}

pid_t clone_on(int (*child)(void*), void* arg, void* stack, std::size_t size, int* fd) {
    // The stack grows down on every architecture Linux runs this on but PA-RISC.
    // With CLONE_PIDFD the descriptor is stored through clone's parent_tid
    // argument (clone(2)).
    pid_t pid = ::clone(child, static_cast<char*>(stack) + size,
                        CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, arg, fd);
#if defined(__SANITIZE_ADDRESS__)
    // The child's frames left AddressSanitizer redzones in this stack's
    // shadow, which we share: clear them before the addresses are reused.
    const int clone_errno = errno;
    ASAN_UNPOISON_MEMORY_REGION(stack, size);
    errno = clone_errno;
#endif
    return pid;
}

// The frame path in a function of its own, entered only once the limit is
// checked: a frame is reserved at a function's entry, whichever branch runs.
[[gnu::noinline]] pid_t clone_on_frame(int (*child)(void*), void* arg, int* fd) {
    alignas(64) unsigned char frame[kFrameStack];
    return clone_on(child, arg, frame, sizeof frame, fd);
}

}  // namespace

pid_t spawn_shared(int (*child)(void*), void* arg, std::size_t argv_words, int* pidfd) {
    // glibc spawni.c: 32 KiB plus the argument vector, rounded to pages.
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::size_t size = 32 * 1024 + (argv_words + 2) * sizeof(char*);
    size = (size + page - 1) / page * page;
    int fd = -1;
    pid_t pid;
    if (frame_stack_fits(size)) {
        pid = clone_on_frame(child, arg, &fd);
    } else {
        void* stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (stack == MAP_FAILED) return -1;
        pid = clone_on(child, arg, stack, size, &fd);
        const int clone_errno = errno;
        ::munmap(stack, size);
        errno = clone_errno;
    }
    if (pid < 0) return -1;
    *pidfd = fd;
    return pid;
}

}  // namespace corral::proc
