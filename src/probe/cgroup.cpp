#include "probe/cgroup.hpp"

#include "common/text.hpp"

namespace corral {

CgroupFile read_cgroup_file(const Host& host, const std::string& dir, std::string_view name) {
    CgroupFile f;
    f.path = join_cgroup_path(dir, cat({"/", name}));
    if (!host.exists(f.path)) return f;
    auto text = host.read_text(f.path);
    if (!text) {
        f.state = CgroupFile::State::kUnreadable;
        f.error = text.error;
        return f;
    }
    f.state = CgroupFile::State::kOk;
    f.text = std::string(trim(*text));
    return f;
}

std::string describe_levels(const CgroupLocation& loc) {
    if (loc.levels.size() == 1) return loc.levels.front() + " (leaf = mount root)";
    return std::to_string(loc.levels.size()) + " levels from " + loc.levels.front() + " up to " +
           loc.levels.back();
}

std::string untranslated_note(const CgroupLocation& loc) {
    return loc.hierarchy_name() + ": cgroup path '" + loc.cgroup_path +
           "' cannot be mapped through mount root '" + loc.mount_root + "' of " + loc.mount_point +
           "; read the mount point only, so limits set outside this cgroup namespace may be "
           "missed";
}

}  // namespace corral
