#include "runtime/cgroup_sandbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "common/text.hpp"
#include "kernel/cgroup_path.hpp"
#include "kernel/dentry.hpp"

namespace corral::cgroup {

// --- live cgroupfs operations ---

int FsOps::make_dir(const std::string& path) const {
    // The parent's write permission is checked first (effective ids): a
    // mkdir(2) refused with EACCES has looked the new name up, and cgroupfs
    // keeps it as a negative dentry (kernel/dentry.hpp), two a launch for an
    // unprivileged user whose test runs 50 ms (one per hierarchy tried).
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0 &&
        ::faccessat(AT_FDCWD, path.substr(0, slash).c_str(), W_OK | X_OK, AT_EACCESS) != 0)
        return errno;
    return ::mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
}
int FsOps::remove_dir(const std::string& path) const {
    return fs::unlink_uncached(AT_FDCWD, path.c_str(), AT_REMOVEDIR) == 0 ? 0 : errno;
}
int FsOps::write(const std::string& path, const std::string& value) const {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t n = ::write(fd, value.data(), value.size());
    int err = n < 0 ? errno : n == static_cast<ssize_t>(value.size()) ? 0 : EIO;
    ::close(fd);
    return err;
}
Read<std::string> FsOps::read(const std::string& path) const {
    return read_file(path);
}
int FsOps::can_write(const std::string& path) const {
    return ::access(path.c_str(), W_OK) == 0 ? 0 : errno;
}
const FsOps& live_fs_ops() {
    static const FsOps* ops = new FsOps();
    return *ops;
}

namespace {

std::string errtext(const std::string& path, const std::string& what, int err) {
    return path + ": " + what + ": " + std::strerror(err);
}

bool has_word(const Read<std::string>& text, std::string_view word) {
    if (!text) return false;
    for (auto w : split(trim(*text), ' '))
        if (w == word) return true;
    return false;
}

// A launcher killed by SIGKILL cannot remove its cgroup. Remove siblings named
// corral-* that are empty and older than a minute (a fresh one may be waiting
// for its child to join); rmdir refuses any that still hold a process.
void remove_stale_siblings(const std::string& parent, const FsOps& ops) {
    DIR* d = ::opendir(parent.c_str());
    if (!d) return;
    auto now = ::time(nullptr);
    while (auto* e = ::readdir(d)) {
        if (std::strncmp(e->d_name, "corral-", 7) != 0) continue;
        std::string dir = parent + "/" + e->d_name;
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || now - st.st_mtime < 60)
            continue;
        auto procs = ops.read(dir + "/cgroup.procs");
        if (procs && trim(*procs).empty()) ops.remove_dir(dir);
    }
    ::closedir(d);
}

struct Candidate {
    std::string parent;  // cgroupfs directory the test's cgroup is made in
    bool v2;
    bool memory;
};

// cgroup v2: our cgroup `own` lists memory in cgroup.controllers but not in
// cgroup.subtree_control. Moves us into a leaf and enables memory for the
// children of `own`, or says why it cannot (cgroup-v2.rst "No Internal Process
// Constraint": subtree_control takes +memory only while `own` holds no process).
bool delegate_memory(const std::string& own, const Where& where, std::string& why) {
    const FsOps& ops = *where.ops;
    const std::string head = "cgroup v2 " + own + ": ";
    if (int err = ops.can_write(own + "/cgroup.subtree_control"))
        return why = head + "cannot enable memory for its children: cgroup.subtree_control: " +
                     std::strerror(err) + " (the subtree is not delegated to us)",
               false;
    auto procs = ops.read(own + "/cgroup.procs");
    if (!procs) return why = head + "cgroup.procs: " + procs.error, false;
    const pid_t self = where.host->self_pid();
    std::string others;
    size_t n_others = 0;
    for (auto line : split_lines(*procs))
        if (auto pid = parse_u64(trim(line)); pid && static_cast<pid_t>(*pid) != self) {
            if (++n_others <= 5) others += (others.empty() ? "" : ", ") + std::string(trim(line));
        }
    if (n_others > 0)
        return why = head + "it holds " + std::to_string(n_others) + " other process(es) (pid " +
                     others + (n_others > 5 ? ", ..." : "") +
                     ", e.g. ctest itself), and memory can be enabled for a cgroup's children "
                     "only when it holds no processes (cgroup v2 no-internal-process rule); "
                     "start the run in a cgroup of its own (systemd-run --scope -p "
                     "Delegate=yes ...)",
               false;
    const std::string leaf = own + "/corral-launcher-" + std::to_string(self);
    if (int err = ops.make_dir(leaf); err && err != EEXIST)
        return why = head + errtext(leaf, "mkdir", err), false;
    if (int err = ops.write(leaf + "/cgroup.procs", "0")) {
        ops.remove_dir(leaf);
        return why = head + errtext(leaf + "/cgroup.procs", "moving the launcher", err), false;
    }
    if (int err = ops.write(own + "/cgroup.subtree_control", "+memory")) {
        ops.write(own + "/cgroup.procs", "0");  // back where we were
        ops.remove_dir(leaf);
        return why = head + errtext(own + "/cgroup.subtree_control", "write +memory", err), false;
    }
    return true;
}

// Writes the limit; false + reason when it is not (fully) enforced. A failed
// swap write leaves memory.max in place but the limit not enforced: the test
// could grow past it into swap.
bool apply_limit(const std::string& dir, bool v2, uint64_t bytes, const FsOps& ops,
                 std::string& why) {
    const std::string value = std::to_string(bytes);
    const std::string limit_file = dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes");
    if (int err = ops.write(limit_file, value))
        return why = errtext(limit_file, "write " + value, err), false;
    // v2: memory.swap.max caps swap on its own; v1: memory.memsw.limit_in_bytes
    // is memory + swap, so equal to the limit means no swap.
    const std::string swap_file = dir + (v2 ? "/memory.swap.max" : "/memory.memsw.limit_in_bytes");
    const std::string swap_value = v2 ? "0" : value;
    if (int err = ops.write(swap_file, swap_value))
        return why = errtext(swap_file, "write " + swap_value, err) +
                     ": swap is not held to the limit, so the test can use more than it",
               false;
    return true;
}

}  // namespace

std::unique_ptr<Sandbox> Sandbox::create(const std::string& name,
                                         std::optional<uint64_t> memory_limit, std::string& why_not,
                                         Hierarchy only, const Where& where) {
    const FsOps& ops = *where.ops;
    auto tables = read_cgroup_tables(*where.host);
    auto under_root = [&](const std::string& p) { return where.fs_root.string() + p; };
    std::vector<Candidate> candidates;
    std::optional<Candidate> v2_plain;
    std::string v2_why;  // why cgroup v2 cannot limit memory, when it cannot
    auto v2 = locate_cgroup(tables, "memory", 2);
    if (v2 && v2->translated) {
        const std::string own = under_root(v2->levels.front());
        bool memory = has_word(ops.read(own + "/cgroup.subtree_control"), "memory");
        if (!memory && memory_limit && (only == Hierarchy::Auto || only == Hierarchy::V2Memory)) {
            if (!has_word(ops.read(own + "/cgroup.controllers"), "memory"))
                v2_why = "cgroup v2 " + own + ": no memory controller in cgroup.controllers";
            else
                memory = delegate_memory(own, where, v2_why);
        }
        if (memory)
            candidates.push_back({own, true, true});
        else
            v2_plain = Candidate{own, true, false};
    } else {
        v2_why = v2 ? "cgroup v2: path '" + v2->cgroup_path + "' is outside mount root '" +
                          v2->mount_root + "' of " + v2->mount_point
                    : "cgroup v2: " + v2.error;
    }
    auto v1 = locate_cgroup(tables, "memory", 1);
    if (v1 && v1->translated) candidates.push_back({under_root(v1->levels.front()), false, true});
    if (v2_plain && !memory_limit) candidates.push_back(*v2_plain);
    if (only != Hierarchy::Auto)
        std::erase_if(candidates, [only](const Candidate& c) {
            Hierarchy kind = !c.v2      ? Hierarchy::V1Memory
                             : c.memory ? Hierarchy::V2Memory
                                        : Hierarchy::V2Tracking;
            return kind != only;
        });
    auto join_reason = [](std::string& all, const std::string& more) {
        if (!more.empty()) all += (all.empty() ? "" : "; ") + more;
    };
    if (candidates.empty()) {
        why_not = memory_limit ? "no cgroup hierarchy with the memory controller"
                               : "no cgroup hierarchy (v2 or v1 memory) found";
        if (!tables.error.empty()) why_not += " (" + tables.error + ")";
        if (memory_limit) join_reason(why_not, v2_why);
        return nullptr;
    }

    std::string reasons;
    for (const auto& c : candidates) {
        remove_stale_siblings(c.parent, ops);
        std::string dir = c.parent + "/corral-" + name;
        if (int err = ops.make_dir(dir)) {
            join_reason(reasons, errtext(dir, "mkdir", err));
            continue;
        }
        std::unique_ptr<Sandbox> s(new Sandbox());
        s->dir_ = dir;
        s->ops_ = &ops;
        s->v2_ = c.v2;
        s->memory_ = c.memory;
        s->limit_.bytes = memory_limit;
        std::string why;
        if (memory_limit) {
            s->limit_.enforced = apply_limit(dir, c.v2, *memory_limit, ops, why);
            s->limit_.reason = why;
        }
        s->procs_fd_ = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
        if (s->procs_fd_ < 0) {
            join_reason(reasons, errtext(dir + "/cgroup.procs", "open", errno));
            s->remove(why);
            continue;
        }
        return s;
    }
    why_not = reasons;
    if (memory_limit) join_reason(why_not, v2_why);
    return nullptr;
}

Sandbox::~Sandbox() {
    std::string why;
    remove(why);
}

bool Sandbox::add(pid_t pid) const {
    auto text = std::to_string(pid);
    ssize_t n;
    do {
        n = ::write(procs_fd_, text.data(), text.size());
    } while (n < 0 && errno == EINTR);
    return n >= 0 || errno == ESRCH;
}

std::vector<pid_t> Sandbox::pids() const {
    std::vector<pid_t> out;
    auto text = ops_->read(dir_ + "/cgroup.procs");
    if (!text) return out;
    for (auto line : split_lines(*text))
        if (auto v = parse_u64(trim(line))) out.push_back(static_cast<pid_t>(*v));
    return out;
}

std::optional<uint64_t> Sandbox::peak_memory() const {
    if (!memory_) return std::nullopt;
    auto text = ops_->read(dir_ + (v2_ ? "/memory.peak" : "/memory.max_usage_in_bytes"));
    if (!text) return std::nullopt;
    auto v = parse_u64(trim(*text));
    if (!v) return std::nullopt;
    return *v;
}

bool Sandbox::oom_killed() const {
    if (!memory_) return false;
    // v2: memory.events "oom_kill N"; v1: memory.oom_control "oom_kill N" (4.13+).
    auto text = ops_->read(dir_ + (v2_ ? "/memory.events" : "/memory.oom_control"));
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
    int err = 0;
    for (int attempt = 0; attempt < 200; ++attempt) {
        err = ops_->remove_dir(dir_);
        if (err == 0 || err == ENOENT) {
            removed_ = true;
            return true;
        }
        if (err != EBUSY) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    why = errtext(dir_, "rmdir", err);
    return false;
}

}  // namespace corral::cgroup
