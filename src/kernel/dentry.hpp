// Removing a name without leaving a negative dentry behind; making a directory
// with exact permission bits.
//
// unlink(2) or rmdir(2) of a name that nothing else holds turns its dentry
// negative and keeps it cached until memory pressure (fs/dcache.c, d_delete:
// "Are we the only user?"), on disk filesystems such as ext4 (tmpfs keeps
// none). A launcher removes uniquely named entries at every test (a retired
// scratch directory, its owner entry where the runtime directory is on disk,
// a scratch directory the walk removes), so on a host with memory to spare
// they piled up, about two per test: 415 k after a day of launches on a
// 24 GB machine (bench/run_overhead/README.md, ninth step). Held open
// (O_PATH) across the removal, the dentry is unhashed instead, and freed
// with the descriptor: nothing is left.
//
// A negative dentry is only cached knowledge that a name does not exist:
// leaving one is never wrong, only costly. So when the name cannot be held
// (no descriptor left) it is removed all the same; a name another process
// removed first is looked up, and so cached, by the attempt to hold it (two
// launchers trimming one pool). On NFS a file held open is renamed
// (.nfsXXXX) and removed when the descriptor closes: still gone, one more
// round trip.
#pragma once

#include <cstddef>
#include <optional>

namespace corral::fs {

// unlinkat(dirfd, name, flags) (flags: 0 or AT_REMOVEDIR), holding an
// O_PATH | O_NOFOLLOW descriptor of `name` across it (never following a
// symlink: the link itself is held and removed). Returns unlinkat's result,
// with its errno when it is -1.
int unlink_uncached(int dirfd, const char* name, int flags);

// How many subdirectories the directory open at `dir_fd` holds, from its link
// count alone (fstat + fstatfs, no listing): 2 + subdirectories on ext2/3/4
// (below 65000: the dir_nlink feature then says 1), XFS and tmpfs; GNU fts
// trusts it on those alone ("leaf optimization"). nullopt on any other
// filesystem (btrfs and a merged overlayfs directory say 1, a FUSE one what
// its server says), on a link count below 2, or when a call fails: list it.
std::optional<std::size_t> subdirectories(int dir_fd);

// mkdirat(dirfd, name, mode) with mode's permission and sticky bits (mode &
// 01777), whatever the process's umask: the umask is cleared around the call
// and restored (umask(2) is per process: call it where no other thread
// creates files). A default ACL on the parent still applies (acl(5)). The
// set-group-ID bit is not mode's to give: mkdir(2) gives it, with the
// parent's group, under a set-group-ID parent. Set at creation, not by a
// chmod(2) after it: a chmod by a caller outside the directory's group
// clears S_ISGID (chmod(2); setattr_copy in fs/attr.c). Returns mkdirat's
// result, with its errno when it is -1.
int mkdir_exact(int dirfd, const char* name, unsigned mode);

}  // namespace corral::fs
