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

// Clones a small file into a second one inside a private temporary directory
// under `dir` (mkdtemp), then removes both. Live filesystems only.
ReflinkTry try_reflink(const std::string& dir);

// The verdict for a FICLONE that failed with `err` (exposed for tests).
ReflinkTry reflink_verdict_for_errno(int err);

}  // namespace corral
