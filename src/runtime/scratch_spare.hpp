// Spare scratch directories: an emptied scratch directory is renamed into its
// root's spare pool instead of removed, and the next test's scratch directory
// is renamed out of it instead of made.
//
// Why: on ext4 mounted with `discard` (Ubuntu's cloud images, so hosted CI
// runners; this project's test machines) every rmdir(2) of a directory waits
// for the discard of the directory's block, and every mkdir(2) allocates one:
// 0.3-0.5 ms of each test launch, more than the rest of the launcher's own
// work (bench/run_overhead/README.md, "sixth step"). rename(2) frees and
// allocates nothing.
//
// The pool is <root>/.corral-spare-<euid>: a real directory (never a symlink,
// O_NOFOLLOW) owned by the caller with mode 0700, so no other user can reach
// a spare by path; a pool that is anything else is not used (the launcher
// falls back to mkdir/rmdir). A spare holds only what the launcher checked
// when it retired it: an empty directory of the caller's with no extended
// attribute and the inode flags, project id and extent hints of a directory
// made fresh under that root. There are at most as many spares as tests
// ended at once under the root; each is an empty directory.
#pragma once

#include <sys/types.h>

#include <string>

#include "runtime/scratch_dir.hpp"

namespace corral::scratch {

// "<root>/.corral-spare-<euid>" (root without trailing slashes).
std::string spare_pool(const std::string& root);

// Renames a spare of d.root's pool to d.path (RENAME_NOREPLACE) and gives it
// `mode` (the permission bits create() would set). A spare that is no longer
// an empty directory of ours (a process that kept a descriptor of an ended
// test wrote into it) is removed with walk() and the next one tried. True
// when d.path is now a checked spare; false, with nothing at d.path, when the
// pool is missing, unusable or has no usable spare.
bool take_spare(const ScratchDir& d, mode_t mode);

// After the test, in place of removing an empty scratch directory: checks
// that d.path is still the directory it was made as (see above), empty, takes
// its group and other permissions away (0700; a process of another user
// holding a descriptor of it can add nothing after the check), and renames it
// into the pool (created when missing). True when d.path is gone into the
// pool; false when it was not retired: remove it with walk() as before (its
// mode may be 0700 by then).
bool retire(const ScratchDir& d);

}  // namespace corral::scratch
