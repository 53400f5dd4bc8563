// Removing a name without leaving a negative dentry behind.
//
// unlink(2) or rmdir(2) of a name that nothing else holds turns its dentry
// negative and keeps it cached until memory pressure (fs/dcache.c, d_delete:
// "Are we the only user?"). A launcher removes uniquely named entries at
// every test (its owner entry, a retired scratch directory, a per-test
// cgroup), so on a host with memory to spare they pile up, about two per test,
// in the same few directories, and every later create there gets slower: the
// owner entry's symlink(2) took 11 us on a fresh directory and 0.85 ms after
// ~400 k launches (Linux 6.18, tmpfs; bench/run_overhead/README.md, ninth
// step). Held open (O_PATH) across the removal, the dentry is unhashed
// instead, and freed with the descriptor: nothing is left.
//
// A negative dentry is only cached knowledge that a name does not exist:
// leaving one is never wrong, only costly. So when the name cannot be held
// (no descriptor left, or it is gone already) it is removed all the same.
#pragma once

namespace corral::fs {

// unlinkat(dirfd, name, flags) (flags: 0 or AT_REMOVEDIR), holding an
// O_PATH | O_NOFOLLOW descriptor of `name` across it (never following a
// symlink: the link itself is held and removed). Returns unlinkat's result,
// with its errno when it is -1.
int unlink_uncached(int dirfd, const char* name, int flags);

}  // namespace corral::fs
