// Limit files of the cgroup levels kernel/cgroup_path.hpp locates (leaf first,
// never above the mount root). cpu.cpp and memory.cpp read limit files from
// those directories and keep the strictest one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kernel/cgroup_path.hpp"

namespace corral {

// One limit file of one cgroup level. A missing file is normal (the controller is
// not enabled there, or it is the root cgroup), so it is not an error.
struct CgroupFile {
    enum class State { kAbsent, kOk, kUnreadable };
    State state = State::kAbsent;
    std::string path;   // host path, for sources and notes
    std::string text;   // trimmed contents when kOk
    std::string error;  // when kUnreadable
};
CgroupFile read_cgroup_file(const Host& host, const std::string& dir, std::string_view name);

// "3 level(s) from <leaf> up to <mount root>" or "<dir> (leaf = mount root)".
std::string describe_levels(const CgroupLocation& location);

// Note for an untranslated location: limits set outside the namespace may be missed.
std::string untranslated_note(const CgroupLocation& location);

}  // namespace corral
