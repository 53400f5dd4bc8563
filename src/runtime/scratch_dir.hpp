// The per-test scratch directory: created short and unique under a scratch
// root, measured and removed afterwards without ever following a symlink out
// of it or descending into another mount (a bind mount or tmpfs the test left
// inside it is skipped and reported, never emptied).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/process.hpp"

namespace corral::scratch {

// n characters of [a-z0-9] from getrandom(): usable in machine names, vsock
// ids, socket paths and cgroup names.
std::string random_id(size_t n);

struct ScratchDir {
    std::string path;         // <root>/c-<id>
    std::string id;           // the <id> part; also the test id
    std::string root;         // <root>, without trailing slashes (its pools: scratch_retire.hpp)
    bool from_spare = false;  // a spare directory renamed into place, not made by mkdir
};

// Creates <root>/c-<id> (root must exist): a spare of root's pool renamed into
// place when there is one (scratch_retire.hpp), else by mkdir(2). With the permission bits of the
// root it stands in for (e.g. 1777 under /tmp, 0700 under a private
// $XDG_RUNTIME_DIR), regardless of the umask, owned by the caller: whatever a
// test could do in its $TMPDIR without `corral run`, it can do in this one
// (a harness that hands a subdirectory to an unprivileged user keeps working).
// Nothing is written into it: the test finds it empty, as a fresh $TMPDIR.
// Throws std::system_error naming the path on failure.
ScratchDir create(const std::string& root, size_t id_length = 8);

// --- the scratch registry --------------------------------------------------
//
// <registry>/<id>.owner holds "<pid>:<pid namespace> <start_time> <path>" of
// the launcher that owns a live scratch directory (a symlink with that target;
// "<pid> ..." and a regular file from corral before 2026-12, still read; an
// owner in another PID namespace is never judged gone); <registry>/<id>.kept "<unix_ns>
// <bytes> <path>" of one kept for evidence. The registry is a private directory (host_lock.hpp
// runtime_dir() + "/scratch"), so a launcher killed outright (SIGKILL: CTest's TIMEOUT kills the
// whole tree with SIGSTOP + SIGKILL) is detected by the next one: its pid is gone or carries
// another start time.

struct OwnerEntry {
    std::string id;
    pid_t pid = 0;
    unsigned long long start_time = 0;  // proc_pid_stat(5) field 22
    uint64_t pid_namespace = 0;         // proc::own_pid_namespace() of the owner; 0: unknown
    std::string path;
    std::string claim;  // the renamed entry file, while claimed
};

// Records the calling process as the owner of `d`. Throws std::system_error.
void write_owner(const std::string& registry, const ScratchDir& d);
// The same with the caller's own process stat already read (`self_stat`:
// its pid and start time), as the launcher has it.
void write_owner(const std::string& registry, const ScratchDir& d,
                 const proc::ProcessStat& self_stat);
// True when `dir` is the scratch directory of a launcher that is registered
// in `registry` (<registry>/<id>.owner names exactly `dir`): Corral made it,
// so `corral reap` accepts it as a scope (docs/runtime.md, "Dedicated scopes
// only"). The registry is the launcher's private directory, so the entry
// cannot be planted by another user. False on any doubt.
bool is_registered(const std::string& registry, const std::string& dir);
// Removes the owner entry (no error when it is gone).
void remove_owner(const std::string& registry, const std::string& id);
// Owner entries whose process is gone (or is another process now), each
// claimed by an atomic rename so that only one sweeper handles it. Call
// release_claim() when done. The entry of `own_id` (the caller's own, alive
// by definition) is not read.
std::vector<OwnerEntry> claim_stale(const std::string& registry, std::string_view own_id = {});
void release_claim(const OwnerEntry& e);
// True when `path` is "<dir>/c-<id>": a sweeper only ever removes that.
bool is_scratch_path_of(const std::string& path, const std::string& id);

struct KeepResult {
    size_t kept_count = 0;             // kept directories after trimming, this one included
    uint64_t kept_bytes = 0;           // their sizes as measured when kept
    std::vector<std::string> removed;  // older kept directories removed to stay in bounds
};
// Registers `path` (`bytes` big) as kept, then removes the oldest kept
// directories until at most max_count remain and they total at most max_bytes
// (the new one is never removed here: the caller checks that it fits alone).
// Kept entries whose directory is gone are dropped. Serialised by flock on
// <registry>/kept.lock.
KeepResult keep(const std::string& registry, const ScratchDir& d, uint64_t bytes, size_t max_count,
                uint64_t max_bytes);

struct TreeResult {
    uint64_t bytes = 0;    // allocated bytes (st_blocks * 512) of everything walked
    uint64_t entries = 0;  // files, links and directories walked
    std::vector<std::string> skipped_mounts;  // directories on another mount: left alone
    std::vector<std::string> errors;          // "path: what failed: strerror"
    bool removed = false;                     // the top directory itself is gone
    // Set when `path` is no longer a directory (the test replaced it): "a symlink", "a file".
    std::string replaced_by;
    bool gone = false;     // `path` does not exist (the test removed it): not an error
    bool stopped = false;  // go_on said stop: partly walked, not an error (walk again later)
};

// Walks `path` with openat / fstatat(AT_SYMLINK_NOFOLLOW) / unlinkat:
// symlinks are removed as links, never followed, `path` itself included (a
// test that replaced its scratch with a symlink or a file: replaced_by).
// Directories on another mount (device or mount id differs), `path` itself
// included, are not entered. With remove = false it only measures. With
// remove = true an empty directory is removed by one rmdir(2), unwalked:
// bytes and entries 0.
// When given, `go_on` is asked every 64 entries and stops the walk with false
// (stopped: what was removed is gone, the rest stays; no error is reported).
TreeResult walk(const std::string& path, bool remove, const std::function<bool()>& go_on = nullptr);

}  // namespace corral::scratch
