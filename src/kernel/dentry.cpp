// Removal without a negative dentry left behind (dentry.hpp).
#include "kernel/dentry.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace corral::fs {

int unlink_uncached(int dirfd, const char* name, int flags) {
    int held = ::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int rc = ::unlinkat(dirfd, name, flags);
    int err = errno;
    if (held >= 0) ::close(held);
    errno = err;
    return rc;
}

}  // namespace corral::fs
