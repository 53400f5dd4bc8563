#include "runtime/cgroup_sandbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "common/text.hpp"

namespace corral::cgroup {
namespace {

std::optional<std::string> read_small(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    ::close(fd);
    if (n < 0) return std::nullopt;
    return out;
}

bool write_small(const std::string& path, const std::string& value, std::string& why) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        why = path + ": " + std::strerror(errno);
        return false;
    }
    ssize_t n = ::write(fd, value.data(), value.size());
    int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(value.size())) {
        why = path + ": write '" + value + "': " + std::strerror(n < 0 ? err : EIO);
        return false;
    }
    return true;
}

bool is_fs(const std::string& path, long magic) {
    struct statfs s {};
    return ::statfs(path.c_str(), &s) == 0 && static_cast<long>(s.f_type) == magic;
}

// Our own cgroup paths from /proc/self/cgroup: the v2 one ("0::/x") and the
// v1 memory one ("4:memory:/x").
struct OwnPaths {
    std::optional<std::string> v2;
    std::optional<std::string> v1_memory;
};

OwnPaths own_paths() {
    OwnPaths p;
    auto text = read_small("/proc/self/cgroup");
    if (!text) return p;
    for (auto line : split_lines(*text)) {
        auto first = line.find(':');
        auto second = line.find(':', first == std::string_view::npos ? 0 : first + 1);
        if (first == std::string_view::npos || second == std::string_view::npos) continue;
        auto controllers = line.substr(first + 1, second - first - 1);
        auto path = std::string(line.substr(second + 1));
        if (line.substr(0, first) == "0" && controllers.empty()) p.v2 = path;
        for (auto c : split(controllers, ','))
            if (c == "memory") p.v1_memory = path;
    }
    return p;
}

std::string join(const std::string& mount, const std::string& path) {
    return path == "/" ? mount : mount + path;
}

// A launcher killed by SIGKILL cannot remove its cgroup. Remove siblings named
// corral-* that are empty and older than a minute (a fresh one may be waiting
// for its child to join); rmdir refuses any that still hold a process.
void remove_stale_siblings(const std::string& parent) {
    DIR* d = ::opendir(parent.c_str());
    if (!d) return;
    auto now = ::time(nullptr);
    while (auto* e = ::readdir(d)) {
        if (std::strncmp(e->d_name, "corral-", 7) != 0) continue;
        std::string dir = parent + "/" + e->d_name;
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || now - st.st_mtime < 60)
            continue;
        auto procs = read_small(dir + "/cgroup.procs");
        if (procs && trim(*procs).empty()) ::rmdir(dir.c_str());
    }
    ::closedir(d);
}

}  // namespace

std::unique_ptr<Sandbox> Sandbox::create(const std::string& name,
                                         std::optional<uint64_t> memory_limit, std::string& why_not,
                                         Hierarchy only) {
    auto own = own_paths();
    struct Candidate {
        std::string parent;
        bool v2;
        bool memory;
    };
    std::vector<Candidate> candidates;
    std::optional<Candidate> v2_plain;
    if (own.v2) {
        for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
            if (!is_fs(mount, CGROUP2_SUPER_MAGIC)) continue;
            std::string parent = join(mount, *own.v2);
            auto controllers = read_small(parent + "/cgroup.subtree_control");
            bool memory = false;
            if (controllers)
                for (auto c : split(trim(*controllers), ' '))
                    if (c == "memory") memory = true;
            if (memory)
                candidates.push_back({parent, true, true});
            else
                v2_plain = Candidate{parent, true, false};
            break;
        }
    }
    if (own.v1_memory && is_fs("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC))
        candidates.push_back({join("/sys/fs/cgroup/memory", *own.v1_memory), false, true});
    if (v2_plain && !memory_limit) candidates.push_back(*v2_plain);
    if (only != Hierarchy::Auto)
        std::erase_if(candidates, [only](const Candidate& c) {
            Hierarchy kind = !c.v2      ? Hierarchy::V1Memory
                             : c.memory ? Hierarchy::V2Memory
                                        : Hierarchy::V2Tracking;
            return kind != only;
        });
    if (candidates.empty()) {
        why_not = memory_limit ? "no cgroup hierarchy with the memory controller"
                               : "no cgroup hierarchy (v2 or v1 memory) found";
        return nullptr;
    }

    std::string reasons;
    for (const auto& c : candidates) {
        remove_stale_siblings(c.parent);
        std::string dir = c.parent + "/corral-" + name;
        if (::mkdir(dir.c_str(), 0755) != 0) {
            reasons += (reasons.empty() ? "" : "; ") + dir + ": mkdir: " + std::strerror(errno);
            continue;
        }
        std::unique_ptr<Sandbox> s(new Sandbox());
        s->dir_ = dir;
        s->v2_ = c.v2;
        s->memory_ = c.memory;
        std::string why;
        if (memory_limit) {
            std::string file = c.v2 ? "/memory.max" : "/memory.limit_in_bytes";
            if (!write_small(dir + file, std::to_string(*memory_limit), why)) {
                reasons += (reasons.empty() ? "" : "; ") + why;
                s->remove(why);
                continue;
            }
            if (c.v2) write_small(dir + "/memory.swap.max", "0", why);  // best effort
        }
        s->procs_fd_ = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
        if (s->procs_fd_ < 0) {
            reasons +=
                (reasons.empty() ? "" : "; ") + dir + "/cgroup.procs: " + std::strerror(errno);
            s->remove(why);
            continue;
        }
        return s;
    }
    why_not = reasons;
    return nullptr;
}

Sandbox::~Sandbox() {
    std::string why;
    remove(why);
}

std::vector<pid_t> Sandbox::pids() const {
    std::vector<pid_t> out;
    auto text = read_small(dir_ + "/cgroup.procs");
    if (!text) return out;
    for (auto line : split_lines(*text))
        if (auto v = parse_u64(trim(line))) out.push_back(static_cast<pid_t>(*v));
    return out;
}

std::optional<uint64_t> Sandbox::peak_memory() const {
    if (!memory_) return std::nullopt;
    auto text = read_small(dir_ + (v2_ ? "/memory.peak" : "/memory.max_usage_in_bytes"));
    if (!text) return std::nullopt;
    auto v = parse_u64(trim(*text));
    if (!v) return std::nullopt;
    return *v;
}

bool Sandbox::oom_killed() const {
    if (!memory_) return false;
    // v2: memory.events "oom_kill N"; v1: memory.oom_control "oom_kill N" (4.13+).
    auto text = read_small(dir_ + (v2_ ? "/memory.events" : "/memory.oom_control"));
    if (!text) return false;
    for (auto line : split_lines(*text)) {
        auto fields = split(trim(line), ' ');
        if (fields.size() == 2 && fields[0] == "oom_kill")
            if (auto n = parse_u64(fields[1]); n && *n > 0) return true;
    }
    return false;
}

bool Sandbox::remove(std::string& why) {
    if (removed_ || dir_.empty()) return true;
    if (procs_fd_ >= 0) {
        ::close(procs_fd_);
        procs_fd_ = -1;
    }
    // A killed process leaves the cgroup only once it is fully gone: retry for ~2 s.
    for (int attempt = 0; attempt < 200; ++attempt) {
        if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) {
            removed_ = true;
            return true;
        }
        if (errno != EBUSY) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    why = dir_ + ": rmdir: " + std::strerror(errno);
    return false;
}

}  // namespace corral::cgroup
