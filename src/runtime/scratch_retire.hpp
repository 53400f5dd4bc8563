// The scratch root's two pools of directories, both renamed rather than made or
// removed at a test's start and end: retired scratch directories (below) and
// spare ones (further below).
//
// Retired scratch directories: an emptied scratch directory is renamed out of
// the way when its test ends, and removed by a later launcher while that
// launcher's own test runs, instead of rmdir(2)'d on the way out.
//
// Why: on ext4 without a journal mounted `discard` (this project's test
// machines) every rmdir(2) of a directory waits for the discard of the
// directory's block: 0.2-0.4 ms and a wakeup at the end of each test launch
// (docs/runtime.md; with a journal the discard waits for the commit instead).
// rename(2) frees nothing; the removal, and its wait, overlap a later test
// that runs long enough (launcher.hpp kRetireDelayMs).
//
// The directories wait in <root>/.corral-retired-<euid>: a real directory
// (never a symlink, O_NOFOLLOW) owned by the caller with mode 0700, so no
// other user can reach them by path; a pool that is anything else is not used
// (the scratch directory is removed at once, as before). A retired directory
// is never handed out again: every test gets a directory made for it by
// mkdir(2), and whatever a process that still reaches an old one (a working
// directory, a descriptor, a bind mount) writes there later stays in the pool
// and is removed with it. The pool holds up to about kRetiredBacklog (16)
// directories: those of tests that ended before a later one ran long enough.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/scratch_dir.hpp"

namespace corral::scratch {

// "<root>/.corral-retired-<euid>" (root without trailing slashes).
std::string retired_pool(const std::string& root);

// In place of removing d.path at the end of its test: when it is a directory
// (not a symlink) with no entry, renames it into d.root's pool
// (RENAME_NOREPLACE; the pool is made when missing). True when d.path is gone
// into the pool (then it counts as removed, 0 bytes); false with d.path
// untouched otherwise (not a directory, not empty, unreadable, a mount on it:
// EBUSY, an unusable pool): remove it with walk() as before.
bool retire(const ScratchDir& d);

struct RetiredRemoval {
    size_t removed = 0;
    std::vector<std::string> skipped_mounts;  // as TreeResult's: left alone
    std::vector<std::string> errors;          // "path: what failed: strerror"
    size_t listed = 0;  // directories the pool held, as listed (one 4 KiB read: up to ~100)
};

// Removes up to `max` directories of root's pool, as many as one read of it
// lists (~100): first every empty one it can (rmdir(2)), past any that fails;
// then, with `walk`, those written into after they were retired, by walk()
// (never following a symlink, never entering another mount: said in
// skipped_mounts). Concurrent callers share the work (ENOENT: another one
// removed it). Nothing when the pool is missing or not ours alone. When
// given, `go_on` is asked before each removal, and every 64 entries of a
// walk, and stops them with false (the launcher's test has ended, a signal
// or its timeout is due: launch_setup.cpp). It leaves at least `keep` of
// those listed (the trim of a backlog: launch_setup.cpp sweep_stale).
RetiredRemoval remove_retired(const std::string& root, size_t max,
                              const std::function<bool()>& go_on = nullptr, bool walk = true,
                              size_t keep = 0);

// --- spare directories -------------------------------------------------------
//
// Spare directories: made empty by mkdir(2) while a longer test runs, renamed
// into place as a later test's scratch directory. Why: on ext4 without a
// journal (this project's machines) mkdir(2) scans past every inode freed in
// the last minutes (fs/ext4/ialloc.c, recently_deleted()): 110-160 us at a
// test's start, against 30-40 us for renaming a directory made earlier (with a
// journal the two cost about the same: bench/run_overhead/README.md, tenth
// step). A spare is a directory no test has had, never a retired one: made by
// a launcher of this user in <root>/.corral-spare-<euid>, a real directory
// owned by the caller with mode 0700 (as the retired pool: no other user can
// reach a spare by path), named s-0 .. s-<kSpares - 1>.

inline constexpr size_t kSpares = 16;

// "<root>/.corral-spare-<euid>" (root without trailing slashes).
std::string spare_pool(const std::string& root);

// Renames a spare of root's pool to `path` (RENAME_NOREPLACE; a few names
// tried, the pool's link count saying how many are there). True when `path`
// is now that spare (mode 0700, empty); false, with `path` untouched, when the
// pool is missing, not ours alone, empty, or the names tried were gone (taken
// by another launcher): make `path` with mkdir(2) instead.
bool take_spare(const std::string& root, const std::string& path);

// Makes missing spares (the pool too, when missing), at most `max`, asking
// `go_on` (when given) before each. Returns how many it made; a failure
// (ENOSPC, EACCES, a pool not ours alone) ends it quietly: a spare only saves
// time. None is made under a set-group-ID root (none is taken there,
// scratch::create), nor where the root's filesystem has fewer than
// kSpareMinFreeInodes inodes or kSpareMinFreeBytes bytes free for the caller.
inline constexpr unsigned long long kSpareMinFreeInodes = 4096;
inline constexpr unsigned long long kSpareMinFreeBytes = 64ull << 20;
size_t make_spares(const std::string& root, size_t max,
                   const std::function<bool()>& go_on = nullptr);

}  // namespace corral::scratch
