// The one door through which the probe reads the host. Every path the probe
// opens is resolved against a root directory ("/" on a live host, a recorded
// tree in tests), so recorded /proc and /sys trees drive the real code.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace corral {

// A value read from the host, or the reason it could not be read.
template <typename T>
struct Read {
    std::optional<T> value;
    std::string error;  // empty when value is set

    explicit operator bool() const { return value.has_value(); }
    const T& operator*() const { return *value; }
    static Read ok(T v) { return Read{std::move(v), {}}; }
    static Read fail(std::string why) { return Read{std::nullopt, std::move(why)}; }
};

// The one whole-file reader: open(2) and read(2) until end of file, retrying
// EINTR, errno captured at the call that failed (std::ifstream leaves errno
// unspecified, so strerror(errno) after it can say "Success"). The error is
// the strerror text alone ("No such file or directory", "Is a directory");
// callers add the path and what the file was for.
Read<std::string> read_file(const std::filesystem::path& path);

class HostRoot {
  public:
    explicit HostRoot(std::filesystem::path root = "/");

    // True when the root is the real "/", so live-only interfaces
    // (sched_getaffinity, statfs, FICLONE) describe the same host.
    bool live() const { return live_; }
    const std::filesystem::path& root() const { return root_; }

    // Host path ("/proc/self/cgroup") -> path under the root.
    std::filesystem::path resolve(const std::filesystem::path& host_path) const;

    // Whole file as text; the error names the host path and errno text.
    Read<std::string> read_text(const std::filesystem::path& host_path) const;
    // First line without its newline.
    Read<std::string> read_line(const std::filesystem::path& host_path) const;
    bool exists(const std::filesystem::path& host_path) const;

  private:
    std::filesystem::path root_;
    bool live_;
};

}  // namespace corral
