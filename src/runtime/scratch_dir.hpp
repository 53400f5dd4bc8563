// The per-test scratch directory: created short and unique under a scratch
// root, measured and removed afterwards without ever following a symlink out
// of it or descending into another mount (a bind mount or tmpfs the test left
// inside it is skipped and reported, never emptied).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace corral::scratch {

// n characters of [a-z0-9] from getrandom(): usable in machine names, vsock
// ids, socket paths and cgroup names.
std::string random_id(size_t n);

struct ScratchDir {
    std::string path;  // <root>/c-<id>
    std::string id;    // the <id> part; also the test id
};

// Creates <root>/c-<id> with mode 0700 (root must exist), holding the
// Corral-made mark (scope_marker.hpp) so `corral reap` accepts it. Throws
// std::system_error naming the path on failure.
ScratchDir create(const std::string& root, size_t id_length = 8);

struct TreeResult {
    uint64_t bytes = 0;    // allocated bytes (st_blocks * 512) of everything walked
    uint64_t entries = 0;  // files, links and directories walked
    std::vector<std::string> skipped_mounts;  // directories on another mount: left alone
    std::vector<std::string> errors;          // "path: what failed: strerror"
    bool removed = false;                     // the top directory itself is gone
};

// Walks `path` (which must be a real directory, not a symlink) with openat /
// fstatat(AT_SYMLINK_NOFOLLOW) / unlinkat: symlinks are removed as links,
// never followed; directories on another mount (device or mount id differs)
// are not entered. With remove = false it only measures.
TreeResult walk(const std::string& path, bool remove);

}  // namespace corral::scratch
