#include "kernel/spawn.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace corral::proc {

pid_t spawn_shared(int (*child)(void*), void* arg, std::size_t argv_words, int* pidfd) {
    // glibc spawni.c: 32 KiB plus the argument vector, rounded to pages.
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::size_t size = 32 * 1024 + (argv_words + 2) * sizeof(char*);
    size = (size + page - 1) / page * page;
    void* stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (stack == MAP_FAILED) return -1;
    // The stack grows down on every architecture Linux runs this on but PA-RISC.
    // With CLONE_PIDFD the descriptor is stored through clone's parent_tid
    // argument (clone(2)).
    int fd = -1;
    pid_t pid = ::clone(child, static_cast<char*>(stack) + size,
                        CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, arg, &fd);
    const int clone_errno = errno;
#if defined(__SANITIZE_ADDRESS__)
    // The child's frames left AddressSanitizer redzones in this stack's
    // shadow, which we share: clear them before the addresses are reused.
    ASAN_UNPOISON_MEMORY_REGION(stack, size);
#endif
    ::munmap(stack, size);
    if (pid < 0) {
        errno = clone_errno;
        return -1;
    }
    *pidfd = fd;
    return pid;
}

}  // namespace corral::proc
