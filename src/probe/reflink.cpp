#include "probe/reflink.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "probe/probe_tempdir.hpp"

namespace corral {
namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

}  // namespace

ReflinkTry reflink_verdict_for_errno(int err) {
    switch (err) {
        // No remap_file_range (ext4, tmpfs), XFS without reflink=1, or a
        // filesystem that refuses this pair of files.
        case EOPNOTSUPP:
        case ENOTTY:
        case EINVAL:
        case EXDEV:
            return {false, "filesystem does not support reflink (FICLONE: " + errno_name(err) + ")"};
        case EROFS:
            return {std::nullopt, "not tried: read-only filesystem (EROFS)"};
        case ENOSPC:
        case EDQUOT:
            return {std::nullopt, "could not tell: no space left (" + errno_name(err) + ")"};
        case EACCES:
        case EPERM:
            return {std::nullopt, "could not tell: permission denied (" + errno_name(err) + ")"};
        default:
            return {std::nullopt, "could not tell: FICLONE failed: " + errno_text(err)};
    }
}

ReflinkTry try_reflink(const std::string& dir) {
    ProbeTempDir scratch(dir);
    if (!scratch.ok()) {
        int err = scratch.error();
        if (err == EROFS) return {std::nullopt, "not tried: read-only filesystem (EROFS)"};
        if (err == EACCES || err == EPERM)
            return {std::nullopt, "not tried: no permission to create a directory in " + dir +
                                      " (" + errno_name(err) + ")"};
        if (err == ENOSPC || err == EDQUOT)
            return {std::nullopt, "not tried: no space left in " + dir + " (" + errno_name(err) + ")"};
        return {std::nullopt, "not tried: mkdtemp in " + dir + ": " + errno_text(err)};
    }
    Fd source{scratch.create_file("source")};
    if (source.fd < 0) return {std::nullopt, "not tried: creating a file: " + errno_text(errno)};
    Fd clone{scratch.create_file("clone", O_WRONLY)};
    if (clone.fd < 0) return {std::nullopt, "not tried: creating a file: " + errno_text(errno)};
    scratch.remove_names();  // both stay open; nothing remains on disk from here on

    // A few real bytes: an empty clone could succeed where cloning data would not.
    if (!write_all(source.fd, "corral reflink probe\n")) {
        int err = errno;
        if (err == ENOSPC || err == EDQUOT)
            return {std::nullopt, "not tried: no space left (" + errno_name(err) + ")"};
        return {std::nullopt, "not tried: writing the source file: " + errno_text(err)};
    }
    if (::ioctl(clone.fd, FICLONE, source.fd) == 0)
        return {true, "FICLONE succeeded (tried in a private temporary directory, removed)"};
    return reflink_verdict_for_errno(errno);
}

}  // namespace corral
