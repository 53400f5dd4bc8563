// cgroup v1/v2 discovery: /proc/self/cgroup + /proc/self/mountinfo -> the
// directories to read limits from, leaf first, never above the mount root.
//
// The one place that knows how a process's cgroup path maps onto a mounted
// hierarchy. cpu.cpp and memory.cpp read limit files from the directories it
// returns and keep the strictest one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/host_root.hpp"
#include "probe/mountinfo.hpp"

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

CgroupTables read_cgroup_tables(const HostRoot& host);

// The location of `controller` ("cpu", "memory", "cpuset"). A v1 hierarchy that
// holds the controller (exact name: "cpuacct" is not "cpu") wins over the v2
// mount; otherwise the v2 hierarchy is used. The error says why there is none.
Read<CgroupLocation> locate_cgroup(const CgroupTables& tables, std::string_view controller);

// One limit file of one cgroup level. A missing file is normal (the controller is
// not enabled there, or it is the root cgroup), so it is not an error.
struct CgroupFile {
    enum class State { kAbsent, kOk, kUnreadable };
    State state = State::kAbsent;
    std::string path;   // host path, for sources and notes
    std::string text;   // trimmed contents when kOk
    std::string error;  // when kUnreadable
};
CgroupFile read_cgroup_file(const HostRoot& host, const std::string& dir, std::string_view name);

// "3 level(s) from <leaf> up to <mount root>" or "<dir> (leaf = mount root)".
std::string describe_levels(const CgroupLocation& location);

// Note for an untranslated location: limits set outside the namespace may be missed.
std::string untranslated_note(const CgroupLocation& location);

}  // namespace corral
