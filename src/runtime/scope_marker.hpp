// The "Corral-made" mark of a scope directory: a small file `.corral-scope`
// that Corral writes into a directory it created for tests (corral_setup's
// SCOPE_DIR, `corral run`'s per-test scratch directory). `corral reap` always
// accepts a scope that carries a valid mark (docs/runtime.md, "Dedicated
// scopes only"). The CMake side (cmake/CorralFunctions.cmake,
// _corral_make_scope) writes the same two lines.
//
// Format (text, at most 4 KiB):
//   corral-scope 1
//   <the directory's absolute path when it was made>
#pragma once

#include <string>

namespace corral::scope_marker {

inline constexpr const char* kFileName = ".corral-scope";
inline constexpr const char* kFirstLine = "corral-scope 1";

// The marker text for directory `dir` (absolute).
std::string text_for(const std::string& dir);

// Writes <dir>/.corral-scope (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644) into the
// directory `dir` opened with O_NOFOLLOW. False (and `why`) when it could not;
// an existing marker is left alone and is not an error.
bool write(const std::string& dir, std::string& why);

// True when `dir` carries a valid mark: `dir` itself is a directory, not a
// symlink, owned by `uid`; <dir>/.corral-scope is a regular file (not a
// symlink: opened with O_NOFOLLOW), owned by `uid`, at most 4 KiB; its first
// line is kFirstLine, and the path on its second line names this very
// directory (same device and inode), so a marker copied or moved elsewhere
// does not count. Otherwise false, with the reason in `why` when given.
bool is_corral_made(const std::string& dir, unsigned uid, std::string* why = nullptr);

}  // namespace corral::scope_marker
