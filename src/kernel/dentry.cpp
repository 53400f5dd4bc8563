// Removal without a negative dentry left behind, and a directory's
// subdirectories counted without listing it, a directory made with exact
// permission bits (dentry.hpp).
#include "kernel/dentry.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

int mkdir_exact(int dirfd, const char* name, unsigned mode) {
    mode_t old = ::umask(0);
    int rc = ::mkdirat(dirfd, name, static_cast<mode_t>(mode & 01777));
    int err = errno;
    ::umask(old);
    errno = err;
    return rc;
}

std::optional<std::size_t> subdirectories(int dir_fd) {
    struct stat st {};
    struct statfs sfs {};
    if (::fstat(dir_fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_nlink < 2 ||
        ::fstatfs(dir_fd, &sfs) != 0)
        return std::nullopt;
    switch (sfs.f_type) {
        case EXT4_SUPER_MAGIC:  // ext2 and ext3 too: one magic
        case XFS_SUPER_MAGIC:
        case TMPFS_MAGIC:
            return static_cast<std::size_t>(st.st_nlink - 2);
        default:
            return std::nullopt;
    }
}

}  // namespace corral::fs
