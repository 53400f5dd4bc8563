// The scratch root's pools (scratch_retire.hpp): retire an emptied scratch
// directory at the end of its test, remove retired ones while a later test
// runs; make spare directories then, and take one as a test starts.
#include "runtime/scratch_retire.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/unique_fd.hpp"
#include "kernel/dentry.hpp"

namespace corral::scratch {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

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

// open_pool(path), made (0700) when missing.
int open_or_make_pool(const std::string& path) {
    int fd = open_pool(path);
    if (fd < 0 && errno == ENOENT && (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST))
        fd = open_pool(path);
    return fd;
}

// "<root>/.corral-<kind>-<euid>".
std::string pool_of(const std::string& root, std::string_view kind) {
    std::string base = root;
    while (base.size() > 1 && base.back() == '/')
        base.pop_back();
    return (base == "/" ? "" : base) + "/.corral-" + std::string(kind) + "-" +
           std::to_string(::geteuid());
}

std::string spare_name(size_t k) {
    return "s-" + std::to_string(k);
}

// True when the directory open at `fd` has no entry but "." and "..".
// getdents64(2) until the end: one call may return fewer entries than exist.
bool is_empty_dir(int fd) {
    alignas(8) char buf[1024];
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

// The names of the pool open at `fd` (its retired directories) that one
// getdents64(2) read returns: a pool holds about kRetiredBacklog (launcher.hpp).
std::vector<std::string> first_names(int fd) {
    std::vector<std::string> names;
    alignas(8) char buf[4096];
    ssize_t n = ::getdents64(fd, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
        auto* e = reinterpret_cast<struct dirent64*>(buf + off);
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
        off += e->d_reclen;
    }
    return names;
}

}  // namespace

std::string retired_pool(const std::string& root) {
    return pool_of(root, "retired");
}

std::string spare_pool(const std::string& root) {
    return pool_of(root, "spare");
}

bool retire(const ScratchDir& d) {
    if (d.root.empty()) return false;
    {
        UniqueFd dir(::open(d.path.c_str(), kDirFlags));
        if (!dir.ok() || !is_empty_dir(dir.get())) return false;  // the walk says what it is
    }
    UniqueFd pool(open_or_make_pool(retired_pool(d.root)));
    // A mount on d.path fails here (EBUSY): the walk leaves it alone and says so.
    return pool.ok() && ::renameat2(AT_FDCWD, d.path.c_str(), pool.get(), ("r-" + d.id).c_str(),
                                    RENAME_NOREPLACE) == 0;
}

RetiredRemoval remove_retired(const std::string& root, size_t max,
                              const std::function<bool()>& go_on, bool walk, size_t keep) {
    RetiredRemoval out;
    std::string pool_path = retired_pool(root);
    UniqueFd pool(open_pool(pool_path));
    if (!pool.ok()) return out;
    // Counted by the pool's link count where it says (no listing): usually
    // there is nothing to do.
    if (auto n = fs::subdirectories(pool.get()); n && (*n == 0 || *n <= keep)) {
        out.listed = *n;
        return out;
    }
    // Empty ones first: one that cannot go (written into, a mount inside) is
    // passed over, never blocking the rest (the pool would grow behind it).
    std::vector<std::string> written;
    auto names = first_names(pool.get());
    out.listed = names.size();
    auto done = [&] {
        return out.removed >= max || out.listed - out.removed <= keep || (go_on && !go_on());
    };
    for (auto& name : names) {
        if (done()) return out;
        if (fs::unlink_uncached(pool.get(), name.c_str(), AT_REMOVEDIR) == 0) {
            ++out.removed;
        } else if (errno != ENOENT) {  // ENOENT: another launcher removed it
            written.push_back(std::move(name));
        }
    }
    if (!walk) return out;
    for (const auto& name : written) {
        if (done()) break;
        auto tree = scratch::walk(pool_path + "/" + name, true, go_on);
        if (tree.removed) ++out.removed;
        out.skipped_mounts.insert(out.skipped_mounts.end(), tree.skipped_mounts.begin(),
                                  tree.skipped_mounts.end());
        out.errors.insert(out.errors.end(), tree.errors.begin(), tree.errors.end());
        if (tree.stopped) break;
    }
    return out;
}

bool take_spare(const std::string& root, const std::string& path) {
    UniqueFd pool(open_pool(spare_pool(root)));
    if (!pool.ok()) return false;
    // make_spares fills the lowest free names first: with n there, s-<n-1>
    // is most likely one. Unknown n: a few from the top.
    auto n = fs::subdirectories(pool.get());
    if (n && *n == 0) return false;
    size_t k = n ? std::min(*n, kSpares) : kSpares;
    for (size_t tries = 0; k > 0 && tries < 4; --k, ++tries) {
        if (::renameat2(pool.get(), spare_name(k - 1).c_str(), AT_FDCWD, path.c_str(),
                        RENAME_NOREPLACE) == 0)
            return true;
        if (errno != ENOENT) return false;  // EEXIST at path, no RENAME_NOREPLACE (EINVAL)
    }
    return false;
}

size_t make_spares(const std::string& root, size_t max, const std::function<bool()>& go_on) {
    size_t made = 0;
    // Not under a set-group-ID root, where none is taken (scratch::create);
    // not on a filesystem short of inodes or space: a spare would take what
    // a test may need (statvfs(3); a filesystem without an inode count, such
    // as btrfs, says 0 files).
    struct stat st {};
    struct statvfs room {};
    if (::stat(root.c_str(), &st) != 0 || (st.st_mode & S_ISGID) ||
        ::statvfs(root.c_str(), &room) != 0 ||
        (room.f_files > 0 && room.f_favail < kSpareMinFreeInodes) ||
        static_cast<unsigned long long>(room.f_bavail) * room.f_frsize < kSpareMinFreeBytes)
        return made;
    UniqueFd pool(open_or_make_pool(spare_pool(root)));
    if (!pool.ok()) return made;
    if (auto n = fs::subdirectories(pool.get()); n && *n >= kSpares) return made;
    for (size_t k = 0; k < kSpares && made < max; ++k) {
        if (go_on && !go_on()) break;
        if (::mkdirat(pool.get(), spare_name(k).c_str(), 0700) == 0)
            ++made;
        else if (errno != EEXIST)
            break;
    }
    return made;
}

}  // namespace corral::scratch
