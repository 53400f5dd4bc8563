// Scratch filesystems: where tests can put temporary files and sockets, what
// each candidate directory sits on, and what that filesystem can do.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <ostream>

#include "common/socket_path.hpp"
#include "common/text.hpp"
#include "kernel/mountinfo.hpp"
#include "kernel/paths.hpp"
#include "probe/io_bench.hpp"
#include "probe/probe.hpp"
#include "probe/reflink.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

struct Candidate {
    std::string path;  // absolute, lexically normal, as reported
    std::string key;   // canonical path (live) or the path itself (recorded)
    std::string origin;
};

std::string normal_absolute(const std::string& given, const std::string& cwd) {
    fs::path p(given);
    if (p.is_relative()) p = fs::path(cwd) / p;
    std::string s = p.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/')
        s.pop_back();
    return s;
}

std::vector<Candidate> collect_candidates(const Host& host, const ProbeOptions& options) {
    std::vector<std::pair<std::string, std::string>> given;  // (path, origin)
    auto from_env = [&](const char* name) {
        auto it = options.env.find(name);
        if (it != options.env.end() && !it->second.empty()) given.emplace_back(it->second, name);
    };
    from_env("TMPDIR");
    given.emplace_back("/tmp", "/tmp");
    given.emplace_back("/var/tmp", "/var/tmp");
    given.emplace_back("/dev/shm", "/dev/shm");
    from_env("XDG_RUNTIME_DIR");
    for (const auto& extra : options.extra_scratch)
        if (!extra.empty()) given.emplace_back(extra, "--scratch");

    std::vector<Candidate> out;
    for (const auto& [raw, origin] : given) {
        Candidate c{normal_absolute(raw, host.current_dir()), {}, origin};
        c.key = host.canonical(c.path);
        bool merged = false;
        for (auto& seen : out) {
            if (seen.key != c.key) continue;
            if (!has_option(seen.origin, origin)) seen.origin += "," + origin;
            merged = true;
            break;
        }
        if (!merged) out.push_back(std::move(c));
    }
    return out;
}

bool is_memory_fstype(std::string_view fstype) {
    return fstype == "tmpfs" || fstype == "ramfs";
}

// The mount that holds `path`: among the mounts whose mount point contains it,
// prefer the one of the same device (stat), then the longest and latest.
std::optional<MountEntry> find_mount(const std::vector<MountEntry>& mounts, const std::string& path,
                                     const std::string& device) {
    const MountEntry* best = nullptr;
    for (const auto& m : mounts) {
        if (m.device != device || !starts_with_path(path, m.mount_point)) continue;
        if (!best || m.mount_point.size() >= best->mount_point.size()) best = &m;
    }
    if (best) return *best;
    return mount_containing(mounts, path);
}

// Fills everything but reflink and write speed (done once per filesystem).
// The host says what stat/statfs say (nothing on a recorded root: then the
// mount table says everything and the device comes from it).
void fill(ScratchFacts& s, const Candidate& c, const FsStat& st,
          const std::vector<MountEntry>& mounts, const std::string& mountinfo_error) {
    auto m = find_mount(mounts, c.key, st.device);
    if (st.device.empty() && !m) {  // nothing names the filesystem
        s.error = mountinfo_error.empty()
                      ? "no mount in " + std::string(kpath::kSelfMountinfo) + " contains " + c.key
                      : "mount unknown: " + mountinfo_error;
        return;
    }
    s.usable = true;
    s.filesystem_id = "dev:" + (st.device.empty() ? m->device : st.device);
    s.free_bytes = st.free_bytes;
    s.read_only = st.read_only;
    s.memory_backed = st.memory_backed;
    if (m) {
        s.mount_id = "mnt:" + std::to_string(m->id);
        s.mount_point = m->mount_point;
        s.fstype = m->fstype;
        s.device = m->source;
        s.memory_backed = s.memory_backed || is_memory_fstype(m->fstype);
        s.read_only =
            s.read_only || has_option(m->mount_options, "ro") || has_option(m->super_options, "ro");
    } else {
        s.error = mountinfo_error.empty()
                      ? "no mount in " + std::string(kpath::kSelfMountinfo) + " contains " + c.key
                      : "mount unknown: " + mountinfo_error;
    }
}

// Reflink and --io-bench write into the filesystem, so each runs once per
// filesystem; later candidates on the same filesystem share the answer.
struct FilesystemTries {
    // statfs of the first candidate: later ones on the same filesystem report
    // the same free space, so concurrent writers between two statfs calls
    // cannot make /tmp and /var/tmp look different (and flip the plan).
    std::optional<uint64_t> free_bytes;
    std::optional<ReflinkTry> reflink;
    std::string reflink_tried_in;
    std::optional<IoBenchResult> bench;
    std::string bench_tried_in;
};

void try_writes(ScratchFacts& s, FilesystemTries& tries, bool io_bench) {
    if (s.read_only) {
        s.reflink_detail = "not tried: read-only filesystem";
        if (io_bench) s.write_detail = "not measured: read-only filesystem";
        return;
    }
    if (tries.reflink) {
        s.reflink = tries.reflink->supported;
        s.reflink_detail = tries.reflink->detail + " [tried in " + tries.reflink_tried_in + "]";
    } else {
        auto r = try_reflink(s.path);
        s.reflink = r.supported;
        s.reflink_detail = r.detail;
        // A permission problem belongs to this directory, not to the filesystem.
        if (r.supported || r.detail.find("permission") == std::string::npos) {
            tries.reflink = r;
            tries.reflink_tried_in = s.path;
        }
    }
    if (!io_bench) return;
    if (tries.bench) {
        s.write_mb_per_s = tries.bench->mb_per_s;
        s.write_detail = tries.bench->detail + " [measured in " + tries.bench_tried_in + "]";
    } else {
        auto b = measure_write_throughput(s.path, s.free_bytes);
        s.write_mb_per_s = b.mb_per_s;
        s.write_detail = b.detail;
        if (b.mb_per_s) {
            tries.bench = b;
            tries.bench_tried_in = s.path;
        }
    }
}

}  // namespace

std::vector<ScratchFacts> probe_scratch(const Host& host, const ProbeOptions& options,
                                        const std::vector<MountEntry>* given_mounts) {
    const auto candidates = collect_candidates(host, options);
    const auto mountinfo =
        given_mounts ? Read<std::vector<MountEntry>>::ok(*given_mounts) : read_mountinfo(host);
    const std::vector<MountEntry> none;
    const auto& mounts = mountinfo ? *mountinfo : none;

    std::vector<ScratchFacts> out;
    std::map<std::string, FilesystemTries> tries;  // by filesystem_id
    for (const auto& c : candidates) {
        ScratchFacts s;
        s.path = c.path;
        s.origin = c.origin;
        s.socket_headroom = socket_headroom(c.path);  // common/socket_path.hpp
        auto st = host.filesystem(c.key);
        if (!st) {
            s.error = st.error;
        } else {
            fill(s, c, *st, mounts, mountinfo ? "" : mountinfo.error);
            if (!st->not_measured.empty()) {
                s.reflink_detail = "not tried: " + st->not_measured;
                if (options.io_bench) s.write_detail = "not measured: " + st->not_measured;
            } else if (s.usable) {
                auto& fs_tries = tries[s.filesystem_id];
                if (fs_tries.free_bytes)
                    s.free_bytes = fs_tries.free_bytes;
                else
                    fs_tries.free_bytes = s.free_bytes;
                try_writes(s, fs_tries, options.io_bench);
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

void describe_scratch(std::ostream& out, const std::vector<ScratchFacts>& scratch) {
    out << "Scratch filesystems (candidates: $TMPDIR, /tmp, /var/tmp, /dev/shm, $XDG_RUNTIME_DIR, "
           "--scratch):\n";
    if (scratch.empty()) out << "  none\n";
    for (size_t i = 0; i < scratch.size(); ++i) {
        const auto& s = scratch[i];
        out << "  " << s.path << "  (from " << s.origin << ")\n";
        if (!s.usable) {
            out << "    not usable: " << s.error << "\n";
            continue;
        }
        out << "    " << (s.fstype.empty() ? "unknown filesystem" : s.fstype);
        if (!s.device.empty() && s.device != s.fstype) out << " on " << s.device;
        if (!s.mount_point.empty()) out << " (mounted at " << s.mount_point << ")";
        out << ", id " << s.filesystem_id;
        if (!s.mount_id.empty()) out << ", mount " << s.mount_id;
        if (s.read_only) out << ", READ-ONLY";
        out << "\n";
        if (!s.error.empty()) out << "    note: " << s.error << "\n";
        out << "    free: "
            << (s.free_bytes ? human_bytes(*s.free_bytes) + " (statfs f_bavail)"
                             : std::string("unknown (not measured on a recorded root)"));
        if (s.memory_backed) out << "; memory-backed: files here count against the memory budget";
        out << "\n";
        out << "    reflink: "
            << (!s.reflink   ? "unknown"
                : *s.reflink ? "yes"
                             : "no")
            << " (" << s.reflink_detail << ")\n";
        out << "    socket headroom: " << s.socket_headroom
            << " bytes for a socket name directly inside (108-byte sun_path - " << s.path.size()
            << "-byte path - '/' - NUL)";
        if (s.socket_headroom < 20) out << ": TOO SHORT for most socket names";
        out << "\n";
        std::string same;
        for (size_t j = 0; j < scratch.size(); ++j) {
            if (j == i || !scratch[j].usable || scratch[j].filesystem_id != s.filesystem_id)
                continue;
            same += (same.empty() ? "" : ", ") + scratch[j].path;
        }
        if (!same.empty()) out << "    same filesystem as " << same << " (reflink shares)\n";
        std::string other_mount;
        for (size_t j = 0; j < scratch.size(); ++j)
            if (j != i && scratch[j].usable && scratch[j].filesystem_id == s.filesystem_id &&
                scratch[j].mount_id != s.mount_id)
                other_mount += (other_mount.empty() ? "" : ", ") + scratch[j].path;
        if (!other_mount.empty())
            out << "    another mount of it: " << other_mount
                << " (rename/link from there fail with EXDEV)\n";
        if (s.write_mb_per_s) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.0f MB/s", *s.write_mb_per_s);
            out << "    write speed: " << buf << " (" << s.write_detail << ")\n";
        } else if (!s.write_detail.empty()) {
            out << "    write speed: " << s.write_detail << "\n";
        }
    }
}

}  // namespace corral
