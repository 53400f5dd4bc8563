#include "probe/reflink.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "common/unique_fd.hpp"
#include "probe/probe_tempdir.hpp"

namespace corral {
namespace {

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
            return {false,
                    "filesystem does not support reflink (FICLONE: " + errno_name(err) + ")"};
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
    ProbeFiles files(dir);
    auto not_tried = [&](int err) -> ReflinkTry {
        if (err == EROFS) return {std::nullopt, "not tried: read-only filesystem (EROFS)"};
        if (err == EACCES || err == EPERM)
            return {std::nullopt, "not tried: no permission to create files in " + dir + " (" +
                                      errno_name(err) + ")"};
        if (err == ENOSPC || err == EDQUOT)
            return {std::nullopt,
                    "not tried: no space left in " + dir + " (" + errno_name(err) + ")"};
        return {std::nullopt, "not tried: creating a file in " + dir + ": " + errno_text(err)};
    };
    UniqueFd source(files.open_file(O_RDWR));
    if (source.get() < 0) return not_tried(errno);
    UniqueFd clone(files.open_file(O_WRONLY));
    if (clone.get() < 0) return not_tried(errno);
    files.remove_names();  // both stay open; nothing remains on disk from here on

    // A few real bytes: an empty clone could succeed where cloning data would not.
    if (!write_all(source.get(), "corral reflink probe\n")) return not_tried(errno);
    if (::ioctl(clone.get(), FICLONE, source.get()) == 0)
        return {true, "FICLONE succeeded (between two " + files.described() + ", removed)"};
    return reflink_verdict_for_errno(errno);
}

}  // namespace corral
