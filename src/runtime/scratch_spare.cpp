// Spare scratch directories (scratch_spare.hpp): take one for a new test,
// retire an emptied one.
#include "runtime/scratch_spare.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>  // renameat2
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/unique_fd.hpp"

namespace corral::scratch {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// Spares tried per take: a listing is a snapshot, others take from it too.
constexpr size_t kTakeAttempts = 4;

// The pool at `path`, if it is ours alone: a directory (not a symlink), owned
// by the effective user, no group or other permission. -1 otherwise (errno
// ENOENT when there is none).
int open_pool(const std::string& path) {
    int fd = ::open(path.c_str(), kDirFlags);
    if (fd < 0) return -1;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
        (st.st_mode & 077) != 0) {
        ::close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

// True when the directory open at `fd` has no entry but "." and "..".
// getdents64(2) until the end: one call may return fewer entries than exist.
bool is_empty_dir(int fd) {
    alignas(8) char buf[1024];
    if (::lseek(fd, 0, SEEK_SET) != 0) return false;
    for (;;) {
        ssize_t n = ::getdents64(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) return true;
        for (ssize_t off = 0; off < n;) {
            auto* e = reinterpret_cast<struct dirent64*>(buf + off);
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) return false;
            off += e->d_reclen;
        }
    }
}

// The inode flags (FS_IOC_GETFLAGS, ioctl_iflags(2)), project id and extent
// hints (FS_IOC_FSGETXATTR, ioctl_xfs_fsgetxattr(2)) of two directories are the
// same, or a filesystem reports neither. A test that set +A, +d, +F
// (casefold), an encryption policy or a project id on its $TMPDIR changed them.
bool same_attributes(int a, int b) {
    int fa = 0, fb = 0;
    int ra = ::ioctl(a, FS_IOC_GETFLAGS, &fa);
    int rb = ::ioctl(b, FS_IOC_GETFLAGS, &fb);
    if ((ra == 0) != (rb == 0) || (ra == 0 && fa != fb)) return false;
    struct fsxattr xa {
    }, xb{};
    ra = ::ioctl(a, FS_IOC_FSGETXATTR, &xa);
    rb = ::ioctl(b, FS_IOC_FSGETXATTR, &xb);
    if (ra != 0 || rb != 0) return ra != 0 && rb != 0;
    return xa.fsx_xflags == xb.fsx_xflags && xa.fsx_projid == xb.fsx_projid &&
           xa.fsx_extsize == xb.fsx_extsize && xa.fsx_cowextsize == xb.fsx_cowextsize;
}

// No extended attribute at all (no ACL, no user.*): what mkdir(2) gives where
// the filesystem sets none (with an LSM labelling every inode, nothing is
// retired).
bool has_no_xattr(int fd) {
    ssize_t n = ::flistxattr(fd, nullptr, 0);
    return n == 0 || (n < 0 && errno == ENOTSUP);
}

// Up to 64 entry names of the pool, starting from a place `seed` picks (two
// launchers that list at once try different spares first).
std::vector<std::string> spare_names(int pool, const std::string& seed) {
    std::vector<std::string> names;
    alignas(8) char buf[4096];
    ssize_t n = ::getdents64(pool, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n && names.size() < 64;) {
        auto* e = reinterpret_cast<struct dirent64*>(buf + off);
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
        off += e->d_reclen;
    }
    if (names.size() > 1) {
        size_t start = 0;
        for (char c : seed)
            start = start * 31 + static_cast<unsigned char>(c);
        std::rotate(names.begin(), names.begin() + static_cast<long>(start % names.size()),
                    names.end());
    }
    return names;
}

}  // namespace

std::string spare_pool(const std::string& root) {
    std::string base = root;
    while (base.size() > 1 && base.back() == '/')
        base.pop_back();
    return (base == "/" ? "" : base) + "/.corral-spare-" + std::to_string(::geteuid());
}

bool take_spare(const ScratchDir& d, mode_t mode) {
    if (d.root.empty()) return false;
    UniqueFd pool(open_pool(spare_pool(d.root)));
    if (!pool.ok()) return false;
    auto names = spare_names(pool.get(), d.id);
    for (size_t i = 0; i < names.size() && i < kTakeAttempts; ++i) {
        if (::renameat2(pool.get(), names[i].c_str(), AT_FDCWD, d.path.c_str(), RENAME_NOREPLACE) !=
            0) {
            if (errno == ENOENT) continue;  // another launcher took it first
            return false;                   // d.path exists (EEXIST), or renameat2 unsupported
        }
        UniqueFd dir(::open(d.path.c_str(), kDirFlags));
        struct stat st {};
        if (dir.ok() && ::fstat(dir.get(), &st) == 0 && S_ISDIR(st.st_mode) &&
            st.st_uid == ::geteuid() && is_empty_dir(dir.get()) && ::fchmod(dir.get(), mode) == 0)
            return true;
        // Written into after it was retired (or changed under us): not a fresh
        // directory. Removed as a scratch directory is, without following links.
        auto gone = walk(d.path, true);
        if (!gone.removed && !gone.gone) return false;
    }
    return false;
}

bool retire(const ScratchDir& d) {
    if (d.root.empty()) return false;
    UniqueFd dir(::open(d.path.c_str(), kDirFlags));
    if (!dir.ok()) return false;  // replaced, removed, unreadable: the walk says what
    // Ours, and not a mount the test put on its $TMPDIR (whose root is not
    // ours to chmod or move; statx(2) STATX_ATTR_MOUNT_ROOT, Linux >= 5.8).
    struct statx sx {};
    if (::statx(dir.get(), "", AT_EMPTY_PATH, STATX_TYPE | STATX_UID, &sx) != 0 ||
        !S_ISDIR(sx.stx_mode) || sx.stx_uid != ::geteuid() ||
        !(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
        (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return false;
    // Other users' processes could add entries until now; no one but us after.
    if (::fchmod(dir.get(), 0700) != 0 || !is_empty_dir(dir.get()) || !has_no_xattr(dir.get()))
        return false;
    std::string pool_path = spare_pool(d.root);
    int pool_fd = open_pool(pool_path);
    if (pool_fd < 0 && errno == ENOENT &&
        (::mkdir(pool_path.c_str(), 0700) == 0 || errno == EEXIST))
        pool_fd = open_pool(pool_path);
    UniqueFd pool(pool_fd);
    return pool.ok() && same_attributes(dir.get(), pool.get()) &&
           ::renameat2(AT_FDCWD, d.path.c_str(), pool.get(), ("s-" + d.id).c_str(),
                       RENAME_NOREPLACE) == 0;
}

}  // namespace corral::scratch
