#include "kernel/mountinfo.hpp"

#include "common/text.hpp"
#include "kernel/paths.hpp"

namespace corral {

std::string unescape_mount_field(std::string_view f) {
    std::string out;
    out.reserve(f.size());
    for (size_t i = 0; i < f.size(); ++i) {
        auto is_oct = [](char c) { return c >= '0' && c <= '7'; };
        if (f[i] == '\\' && i + 3 < f.size()) {
            if (is_oct(f[i + 1]) && is_oct(f[i + 2]) && is_oct(f[i + 3])) {
                out += static_cast<char>((f[i + 1] - '0') * 64 + (f[i + 2] - '0') * 8 +
                                         (f[i + 3] - '0'));
                i += 3;
                continue;
            }
        }
        out += f[i];
    }
    return out;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text, std::vector<std::string>* bad) {
    std::vector<MountEntry> out;
    for (auto line : split_lines(text)) {
        if (trim(line).empty()) continue;
        // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        std::vector<std::string_view> f;
        for (auto tok : split(line, ' '))
            if (!tok.empty()) f.push_back(tok);
        size_t dash = 0;
        for (size_t i = 6; i < f.size(); ++i)
            if (f[i] == "-") {
                dash = i;
                break;
            }
        auto id = f.size() > 1 ? parse_u64(f[0]) : std::nullopt;
        auto parent = f.size() > 1 ? parse_u64(f[1]) : std::nullopt;
        if (dash == 0 || dash + 2 >= f.size() || !id || !parent) {
            if (bad) bad->emplace_back(line);
            continue;
        }
        MountEntry m;
        m.id = static_cast<int>(*id);
        m.parent_id = static_cast<int>(*parent);
        m.device = std::string(f[2]);
        m.root = unescape_mount_field(f[3]);
        m.mount_point = unescape_mount_field(f[4]);
        m.mount_options = std::string(f[5]);
        m.fstype = unescape_mount_field(f[dash + 1]);
        m.source = unescape_mount_field(f[dash + 2]);
        if (dash + 3 < f.size()) m.super_options = std::string(f[dash + 3]);
        out.push_back(std::move(m));
    }
    return out;
}

std::optional<MountEntry> mount_containing(const std::vector<MountEntry>& mounts,
                                           std::string_view path) {
    const MountEntry* best = nullptr;
    for (const auto& m : mounts) {
        if (!starts_with_path(path, m.mount_point)) continue;
        if (!best || m.mount_point.size() >= best->mount_point.size()) best = &m;
    }
    if (!best) return std::nullopt;
    return *best;
}

bool has_option(std::string_view options, std::string_view name) {
    for (auto o : split(options, ','))
        if (o == name) return true;
    return false;
}

Read<std::vector<MountEntry>> read_mountinfo(const Host& host) {
    auto text = host.read_text(kpath::kSelfMountinfo);
    if (!text) return Read<std::vector<MountEntry>>::fail(text.error, text.err);
    return Read<std::vector<MountEntry>>::ok(parse_mountinfo(*text));
}

}  // namespace corral
