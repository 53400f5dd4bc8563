// What the kernel's dentry cache holds for one name, read without changing it:
// openat2(2) with RESOLVE_CACHED (Linux >= 5.12) finishes a lookup from the
// cache only, and fails with EAGAIN when it would have to ask the filesystem.
// A cached negative dentry ("this name does not exist") ends the lookup with
// ENOENT. A probe of an uncached name caches nothing.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace corral::test {

enum class Cached {
    Negative,     // a negative dentry: the name was removed and its entry kept
    NotCached,    // nothing cached for the name
    Present,      // the name exists
    Unsupported,  // no openat2 / RESOLVE_CACHED here (errno says why)
};

inline Cached cached(const std::string& dir, const std::string& name) {
    int d = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return Cached::Unsupported;
    open_how how{};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_CACHED;
    long fd = ::syscall(SYS_openat2, d, name.c_str(), &how, sizeof how);
    int e = errno;
    ::close(d);
    if (fd >= 0) {
        ::close(static_cast<int>(fd));
        return Cached::Present;
    }
    errno = e;
    if (e == ENOENT) return Cached::Negative;
    if (e == EAGAIN) return Cached::NotCached;
    return Cached::Unsupported;
}

inline const char* to_string(Cached c) {
    switch (c) {
        case Cached::Negative:
            return "a negative dentry";
        case Cached::NotCached:
            return "nothing cached";
        case Cached::Present:
            return "present";
        case Cached::Unsupported:
            return "unsupported";
    }
    return "?";
}

}  // namespace corral::test
