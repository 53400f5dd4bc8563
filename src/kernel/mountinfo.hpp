// proc_pid_mountinfo(5), parsed once, here. Fields are unescaped (the kernel
// writes space, tab, newline and backslash in paths as \040 \011 \012 \134).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/host.hpp"

namespace corral {

struct MountEntry {
    int id = 0;
    int parent_id = 0;
    std::string device;       // "major:minor"
    std::string root;         // the mount's root within its filesystem ("/", "/docker/abc", "/..")
    std::string mount_point;  // where it is mounted
    std::string mount_options;
    std::string fstype;         // "ext4", "cgroup", "cgroup2", "fuse.sshfs"
    std::string source;         // "/dev/vda", "tmpfs"
    std::string super_options;  // for cgroup v1: the controllers, e.g. "rw,cpu,cpuacct"
};

// Malformed lines are skipped (returned in `bad_lines` when given).
std::vector<MountEntry> parse_mountinfo(std::string_view text,
                                        std::vector<std::string>* bad_lines = nullptr);

// This process's mount table read through `host` and parsed; the read error
// (the strerror text) when it cannot be read.
Read<std::vector<MountEntry>> read_mountinfo(const Host& host);

std::string unescape_mount_field(std::string_view field);

// The entry whose mount_point contains `path` (on '/' boundaries), the longest
// and, among equal mount points, the last one mounted (it hides the others).
std::optional<MountEntry> mount_containing(const std::vector<MountEntry>& mounts,
                                           std::string_view path);

// Has a comma-separated option list the exact option `name`? ("cpu" != "cpuacct")
bool has_option(std::string_view options, std::string_view name);

}  // namespace corral
