// A process's cgroups: /proc/<pid>/cgroup + /proc/<pid>/mountinfo -> the
// directory of each hierarchy in the host's file tree, translated through the
// mount's root (mountinfo field 4): in a container the v1 memory hierarchy may
// be mounted with root /docker/abc, so the cgroup path /docker/abc/x lives at
// <mount point>/x, not at <mount point>/docker/abc/x.
//
// The one place that knows how a cgroup path maps onto a mounted hierarchy
// (cgroups(7), Documentation/admin-guide/cgroup-v2.rst "Namespace"). The probe
// reads limit files from the levels it returns; the per-test cgroup of
// `corral run` is made under the leaf.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "kernel/host.hpp"
#include "kernel/mountinfo.hpp"

namespace corral {

// One line of /proc/<pid>/cgroup: "hierarchy-id:controller-list:path".
// The path may itself contain ':' (only the first two colons separate fields).
struct ProcCgroupLine {
    int hierarchy_id = 0;     // 0 = the cgroup v2 unified hierarchy
    std::string controllers;  // "cpu,cpuacct", "name=systemd", "" for v2
    std::string path;         // "/docker/abc", "/" (relative to the cgroup namespace)
};

// Malformed lines are skipped (returned in `bad_lines` when given).
std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text,
                                              std::vector<std::string>* bad_lines = nullptr);

// Where one controller's cgroup of this process lives in the host's file tree.
struct CgroupLocation {
    int version = 0;          // 1 (legacy hierarchy) or 2 (unified)
    std::string controller;   // "cpu", "memory", "cpuset"
    std::string cgroup_path;  // as /proc/self/cgroup says
    std::string mount_point;  // host path of the hierarchy's mount (unescaped)
    std::string mount_root;   // the mount's root inside the hierarchy ("/", "/docker/abc", "/..")
    bool translated = true;   // false: the path could not be mapped through the mount root
    // Host paths to read limits from: levels[0] is the leaf, levels.back() the mount point.
    // Never above the mount point.
    std::vector<std::string> levels;

    // "leaf", "parent", "3 levels up", "mount root", "leaf = mount root".
    std::string level_name(size_t index) const;
    // "cgroup v1 cpu" / "cgroup v2"
    std::string hierarchy_name() const;
};

// Both kernel tables, read once, shared by the CPU and memory probes.
struct CgroupTables {
    std::vector<ProcCgroupLine> lines;
    std::vector<MountEntry> mounts;
    std::string error;               // why the tables are unusable (missing /proc, ...)
    std::vector<std::string> notes;  // malformed lines that were skipped
};

// Reads the cgroup and mountinfo tables of `pid` (0: this process, "self").
CgroupTables read_cgroup_tables(const Host& host, pid_t pid = 0);

// The location of `controller` ("cpu", "memory", "cpuset"). A v1 hierarchy that
// holds the controller (exact name: "cpuacct" is not "cpu") wins over the v2
// mount; otherwise the v2 hierarchy is used. The error says why there is none.
Read<CgroupLocation> locate_cgroup(const CgroupTables& tables, std::string_view controller);
// The same, pinned to one hierarchy: version 1 needs a v1 hierarchy holding
// `controller`; version 2 takes the unified hierarchy whatever the controller.
Read<CgroupLocation> locate_cgroup(const CgroupTables& tables, std::string_view controller,
                                   int version);

// mount point + path relative to the mount root ("" or "/x/y") -> host path.
std::string join_cgroup_path(std::string_view mount_point, std::string_view relative);

}  // namespace corral
