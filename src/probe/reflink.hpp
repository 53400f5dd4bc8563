// Does this filesystem share blocks between files (FICLONE, "reflink")?
// Answered by trying it, never by guessing from the filesystem type.
#pragma once

#include <optional>
#include <string>

namespace corral {

struct ReflinkTry {
    std::optional<bool> supported;  // null = could not tell (not tried, or an unrelated error)
    std::string detail;             // why, with the errno name
};

// Clones a small file into a second one on the filesystem of `dir`, then
// removes both. The files are O_TMPFILE (never named), or where the
// filesystem lacks O_TMPFILE, named in a private mkdtemp directory and
// unlinked with it as soon as both are open. O_TMPFILE first because removing
// a directory can cost a full scheduler tick on ext4 mounted with "discard"
// (measured 4 ms here), and `corral probe` must stay within a few ms.
// Live filesystems only.
ReflinkTry try_reflink(const std::string& dir);

// The verdict for a FICLONE that failed with `err` (exposed for tests).
ReflinkTry reflink_verdict_for_errno(int err);

}  // namespace corral
