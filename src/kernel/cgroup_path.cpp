#include "kernel/cgroup_path.hpp"

#include "common/text.hpp"
#include "kernel/paths.hpp"

namespace corral {

std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text,
                                              std::vector<std::string>* bad_lines) {
    std::vector<ProcCgroupLine> out;
    for (auto line : split_lines(text)) {
        if (trim(line).empty()) continue;
        auto first = line.find(':');
        auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
        auto id = first == std::string_view::npos ? std::nullopt : parse_u64(line.substr(0, first));
        if (second == std::string_view::npos || !id || *id > 1'000'000 ||
            line.size() == second + 1 || line[second + 1] != '/') {
            if (bad_lines) bad_lines->emplace_back(line);
            continue;
        }
        ProcCgroupLine entry;
        entry.hierarchy_id = static_cast<int>(*id);
        entry.controllers = std::string(line.substr(first + 1, second - first - 1));
        entry.path = std::string(line.substr(second + 1));  // may contain ':'
        out.push_back(std::move(entry));
    }
    return out;
}

CgroupTables read_cgroup_tables(const Host& host, pid_t pid) {
    CgroupTables t;
    const std::string dir =
        std::string(kpath::kProc) + "/" + (pid == 0 ? std::string("self") : std::to_string(pid));
    const std::string cgroup_file = dir + "/cgroup";
    const std::string mountinfo_file = dir + "/mountinfo";
    auto cgroup_text = host.read_text(cgroup_file);
    if (!cgroup_text) {
        t.error = cgroup_text.error;
        return t;
    }
    auto mountinfo_text = host.read_text(mountinfo_file);
    if (!mountinfo_text) {
        t.error = mountinfo_text.error;
        return t;
    }
    std::vector<std::string> bad;
    t.lines = parse_proc_cgroup(*cgroup_text, &bad);
    for (const auto& b : bad)
        t.notes.push_back(cgroup_file + ": skipped malformed line '" + b + "'");
    bad.clear();
    t.mounts = parse_mountinfo(*mountinfo_text, &bad);
    for (const auto& b : bad)
        t.notes.push_back(mountinfo_file + ": skipped malformed line '" + b + "'");
    if (t.lines.empty()) t.error = cgroup_file + ": no valid lines";
    return t;
}

namespace {

// Does `path` contain a "." or ".." component (or is it not absolute)?
bool has_dot_components(std::string_view path) {
    if (path.empty() || path.front() != '/') return true;
    for (auto part : split(path, '/'))
        if (part == "." || part == "..") return true;
    return false;
}

// cgroup path relative to the mount's root, or nullopt when it cannot be mapped.
std::optional<std::string> translate(std::string_view cgroup_path, std::string_view mount_root) {
    if (has_dot_components(cgroup_path) || has_dot_components(mount_root)) return std::nullopt;
    if (!starts_with_path(cgroup_path, mount_root)) return std::nullopt;
    auto rest = mount_root == "/" ? cgroup_path : cgroup_path.substr(mount_root.size());
    while (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    return std::string(rest);
}

}  // namespace

std::string join_cgroup_path(std::string_view mount_point, std::string_view relative) {
    std::string out(mount_point);
    while (out.size() > 1 && out.back() == '/')
        out.pop_back();
    if (out == "/" && !relative.empty()) out.clear();
    out += relative;
    return out.empty() ? "/" : out;
}

std::string CgroupLocation::level_name(size_t index) const {
    const bool leaf = index == 0;
    const bool top = index + 1 == levels.size();
    if (leaf && top) return "leaf = mount root";
    if (leaf) return "leaf";
    if (top) return "mount root";
    if (index == 1) return "parent";
    return std::to_string(index) + " levels up";
}

std::string CgroupLocation::hierarchy_name() const {
    return version == 1 ? "cgroup v1 " + controller : "cgroup v2";
}

Read<CgroupLocation> locate_cgroup(const CgroupTables& tables, std::string_view controller) {
    return locate_cgroup(tables, controller, 0);
}

Read<CgroupLocation> locate_cgroup(const CgroupTables& tables, std::string_view controller,
                                   int want_version) {
    using R = Read<CgroupLocation>;
    if (!tables.error.empty()) return R::fail(tables.error);

    const ProcCgroupLine* line = nullptr;
    int version = 0;
    for (const auto& l : tables.lines)
        if (want_version != 2 && l.hierarchy_id != 0 && has_option(l.controllers, controller)) {
            line = &l;
            version = 1;
            break;
        }
    if (!line && want_version != 1)
        for (const auto& l : tables.lines)
            if (l.hierarchy_id == 0 && l.controllers.empty()) {
                line = &l;
                version = 2;
                break;
            }
    if (!line)
        return R::fail(
            std::string(kpath::kSelfCgroup) +
            (want_version == 2 ? ": no cgroup v2 line"
             : want_version == 1
                 ? ": no cgroup v1 hierarchy with controller '" + std::string(controller) + "'"
                 : ": no cgroup v1 hierarchy with controller '" + std::string(controller) +
                       "' and no cgroup v2 line"));

    // Several mounts may show one hierarchy (bind mounts in containers): prefer one
    // whose root maps the path, the most specific root first.
    const MountEntry* best = nullptr;
    std::optional<std::string> best_relative;
    const MountEntry* fallback = nullptr;
    for (const auto& m : tables.mounts) {
        bool matches = version == 1
                           ? m.fstype == "cgroup" && has_option(m.super_options, controller)
                           : m.fstype == "cgroup2";
        if (!matches) continue;
        if (!fallback) fallback = &m;
        auto relative = translate(line->path, m.root);
        if (!relative) continue;
        if (!best || m.root.size() > best->root.size() ||
            (m.root.size() == best->root.size() &&
             m.mount_point.size() < best->mount_point.size())) {
            best = &m;
            best_relative = relative;
        }
    }
    if (!best && !fallback) {
        return R::fail(version == 1 ? "cgroup v1 hierarchy " + std::to_string(line->hierarchy_id) +
                                          " holding '" + std::string(controller) +
                                          "' is not mounted (no 'cgroup' entry in " +
                                          kpath::kSelfMountinfo + " with that controller)"
                                    : std::string(kpath::kSelfMountinfo) +
                                          ": no cgroup2 mount for the unified hierarchy");
    }

    CgroupLocation loc;
    loc.version = version;
    loc.controller = std::string(controller);
    loc.cgroup_path = line->path;
    const MountEntry& mount = best ? *best : *fallback;
    loc.mount_point = mount.mount_point;
    loc.mount_root = mount.root;
    loc.translated = best != nullptr;
    std::string relative = best ? *best_relative : "";
    // Leaf first, then each parent, ending at the mount point itself.
    for (;;) {
        loc.levels.push_back(join_cgroup_path(loc.mount_point, relative));
        if (relative.empty()) break;
        relative.resize(relative.rfind('/'));
    }
    return R::ok(std::move(loc));
}

}  // namespace corral
