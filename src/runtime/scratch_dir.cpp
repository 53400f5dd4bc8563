// Over ~400 lines on purpose: making, owning, keeping and removing a scratch
// directory share one no-follow openat/unlinkat walk and its error rules; split,
// the walk would be exported for its callers alone.
#include "runtime/scratch_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "common/atomic_file.hpp"
#include "common/read_file.hpp"
#include "common/text.hpp"
#include "kernel/dentry.hpp"
#include "kernel/paths.hpp"
#include "kernel/process.hpp"
#include "runtime/scratch_retire.hpp"

namespace corral::scratch {
namespace {

std::string errno_text(int err) {
    return std::strerror(err);
}

// Device and mount id of an entry (mount id 0 when the kernel cannot say).
struct Where {
    dev_t dev = 0;
    uint64_t mnt_id = 0;
    mode_t mode = 0;
    uint64_t bytes = 0;
};

bool where_at(int dirfd, const char* name, Where& w, int& err) {
    struct statx sx {};
    int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] == '\0' ? AT_EMPTY_PATH : 0);
    if (::statx(dirfd, name, flags, STATX_TYPE | STATX_MODE | STATX_BLOCKS | STATX_MNT_ID, &sx) !=
        0) {
        err = errno;
        return false;
    }
    w.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    w.mnt_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
    w.mode = sx.stx_mode;
    w.bytes = (sx.stx_mask & STATX_BLOCKS) ? sx.stx_blocks * 512 : 0;
    return true;
}

// One mount: the same device and, where statx says it (Linux >= 5.8), the
// same mount id (a bind mount of the same filesystem differs only there).
bool same_mount(const Where& a, const Where& b) {
    return a.dev == b.dev && (a.mnt_id == 0 || b.mnt_id == 0 || a.mnt_id == b.mnt_id);
}

class Walker {
  public:
    Walker(bool remove, TreeResult& out, const std::function<bool()>& go_on)
        : remove_(remove), out_(out), go_on_(go_on) {}

    // Walks the directory open at `fd` (takes ownership; closed on return),
    // whose path is `path`.
    void walk_dir(int fd, const std::string& path, const Where& top) {
        if (walk_children(fd, path, top)) ::close(fd);
    }

    // Visits every entry of the directory open at `fd`, whose path is `path`.
    // At most two descriptors are open at any depth: a subdirectory is entered
    // with the parent's descriptor closed, and the parent is reopened through
    // ".." and checked to be the same directory (device and inode) on the way
    // back. Returns false when `fd` was lost (closed; the walk of this
    // directory stopped with an error).
    bool walk_children(int& fd, const std::string& path, const Where& top) {
        std::vector<std::string> names;
        if (!read_names(fd, path, names)) return true;
        struct stat self {};
        if (::fstat(fd, &self) != 0) {
            error(path, "fstat", errno);
            return true;
        }
        for (const auto& name : names) {
            if (stop()) return true;
            if (!visit(fd, name, path + "/" + name, top, self)) return false;
        }
        return true;
    }

    // Entry names of the directory at `fd` (a duplicate is read, `fd` stays
    // open). Collected first: unlinking while reading a stream may skip
    // entries. A readdir error is reported and the directory left alone.
    bool read_names(int fd, const std::string& path, std::vector<std::string>& names) {
        int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
        if (!d) {
            error(path, "fdopendir", errno);
            if (dup >= 0) ::close(dup);
            return false;
        }
        ::rewinddir(d);
        errno = 0;
        while (auto* e = ::readdir(d)) {
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                names.emplace_back(e->d_name);
            errno = 0;
        }
        int err = errno;
        ::closedir(d);
        if (err != 0) {
            error(path, "readdir", err);
            return false;
        }
        return true;
    }

    // False when `dfd` was lost (see walk_children).
    bool visit(int& dfd, const std::string& name, const std::string& path, const Where& top,
               const struct stat& parent) {
        Where w;
        int err = 0;
        if (!where_at(dfd, name.c_str(), w, err)) {
            if (err != ENOENT) error(path, "statx", err);
            return true;
        }
        ++out_.entries;
        if (S_ISDIR(w.mode)) {
            if (!same_mount(w, top)) {
                out_.skipped_mounts.push_back(path);
                return true;
            }
            out_.bytes += w.bytes;
            int fd = open_dir(dfd, name, path, w);
            if (fd < 0) return true;
            ::close(dfd);
            dfd = -1;
            bool kept = walk_children(fd, path, top);
            if (kept) {
                dfd = ::openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0) error(path + "/..", "open", errno);
                ::close(fd);
            }
            struct stat up {};
            if (dfd >= 0 && (::fstat(dfd, &up) != 0 || up.st_dev != parent.st_dev ||
                             up.st_ino != parent.st_ino)) {
                out_.errors.push_back(path +
                                      "/..: not the directory it came from (moved while "
                                      "being removed); left alone");
                ::close(dfd);
                dfd = -1;
            }
            if (dfd < 0) return false;
            if (out_.stopped) return true;  // not emptied: no rmdir, no error
            if (remove_ && ::unlinkat(dfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
                error(path, "rmdir", errno);
            return true;
        }
        out_.bytes += w.bytes;
        if (remove_ && ::unlinkat(dfd, name.c_str(), 0) != 0 && errno != ENOENT)
            error(path, "unlink", errno);
        return true;
    }

    int open_dir(int dfd, const std::string& name, const std::string& path, const Where& w) {
        int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int fd = ::openat(dfd, name.c_str(), flags);
        if (fd < 0 && errno == EACCES && remove_) {
            // A directory the test made unreadable (chmod 000): make it ours to empty.
            // It was a directory an instant ago (statx); O_NOFOLLOW below still refuses
            // a symlink swapped in meanwhile.
            if (::fchmodat(dfd, name.c_str(), (w.mode & 07777) | S_IRWXU, 0) == 0)
                fd = ::openat(dfd, name.c_str(), flags);
        }
        if (fd < 0) {
            error(path, "open", errno);
            return -1;
        }
        if (remove_ && (w.mode & S_IRWXU) != S_IRWXU) ::fchmod(fd, (w.mode & 07777) | S_IRWXU);
        return fd;
    }

    void error(const std::string& path, const char* what, int err) {
        out_.errors.push_back(path + ": " + what + ": " + errno_text(err));
    }

  private:
    // go_on_ asked every 64 entries; once it says no, stopped for good.
    bool stop() {
        if (!out_.stopped && go_on_ && ++asked_ % 64 == 0 && !go_on_()) out_.stopped = true;
        return out_.stopped;
    }

    bool remove_;
    TreeResult& out_;
    const std::function<bool()>& go_on_;
    unsigned asked_ = 0;
};

}  // namespace

std::string random_id(size_t n) {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    while (out.size() < n) {
        unsigned char buf[32];
        ssize_t got = ::getrandom(buf, sizeof buf, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        for (ssize_t i = 0; i < got && out.size() < n; ++i)
            if (buf[i] < 252) out += kAlphabet[buf[i] % 36];  // 252 = 7*36: no bias
    }
    return out;
}

ScratchDir create(const std::string& root, size_t id_length) {
    std::string base = root;
    while (base.size() > 1 && base.back() == '/')
        base.pop_back();
    // The permission bits of the root (the directory the test would have used
    // as $TMPDIR), not the umask's nor a default ACL's: set by chmod after
    // mkdir, on the directory made. Under a set-group-ID root the directory
    // inherits the bit and the root's group (mkdir(2)), and so the group of
    // what the test creates; there a chmod by a user outside that group would
    // clear the bit, so the bits are given at mkdir instead (fs::mkdir_exact)
    // and no spare is taken (a spare gets its bits by chmod).
    struct stat st {};
    bool root_mode = ::stat(base.c_str(), &st) == 0;
    mode_t mode = root_mode ? st.st_mode & (S_ISVTX | 0777) : 0700;
    bool setgid_root = root_mode && (st.st_mode & S_ISGID);
    for (int attempt = 0;; ++attempt) {
        ScratchDir d;
        d.id = random_id(id_length);
        d.root = base;
        d.path = (base == "/" ? "" : base) + "/c-" + d.id;
        if (setgid_root) {
            if (fs::mkdir_exact(AT_FDCWD, d.path.c_str(), mode) == 0) return d;
        } else {
            // A spare made earlier (scratch_retire.hpp), else a new one.
            d.from_spare = take_spare(base, d.path);
            if (d.from_spare || ::mkdir(d.path.c_str(), 0700) == 0) {
                if (root_mode && ::chmod(d.path.c_str(), mode) != 0) {
                    int e = errno;
                    fs::unlink_uncached(AT_FDCWD, d.path.c_str(), AT_REMOVEDIR);
                    throw std::system_error(e, std::generic_category(),
                                            "cannot set the mode of scratch directory " + d.path);
                }
                return d;
            }
        }
        if (errno != EEXIST || attempt > 20)
            throw std::system_error(errno, std::generic_category(),
                                    "cannot create scratch directory " + d.path);
    }
}

namespace {

std::string entry_path(const std::string& registry, const std::string& id, const char* kind) {
    return registry + "/" + id + kind;
}

// A directory of this user that no one else can write to: an entry planted
// in the registry would name a directory for the next launcher to remove, or
// a scope for `corral reap` to accept.
bool is_private_registry(const std::string& registry) {
    struct stat st {};
    return ::lstat(registry.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
           (st.st_mode & 022) == 0;
}

// Made 0700, or an existing private one.
void ensure_registry(const std::string& registry) {
    if (::mkdir(registry.c_str(), 0700) == 0) return;
    if (errno != EEXIST)
        throw std::system_error(errno, std::generic_category(),
                                "cannot create the scratch registry " + registry);
    if (!is_private_registry(registry))
        throw std::system_error(EPERM, std::generic_category(),
                                "scratch registry " + registry +
                                    ": not a directory of this user that only it can write to");
}

std::vector<std::string> names_ending(const std::string& dir, std::string_view suffix) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        std::string_view n(e->d_name);
        if (n.size() > suffix.size() && n.substr(n.size() - suffix.size()) == suffix)
            out.emplace_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_small(const std::string& path) {
    auto text = read_file(path);  // empty when unreadable, as the callers expect
    return text ? *text : std::string();
}

// An owner entry's text: the target of the symlink write_owner makes, or the
// content of the regular file an older corral wrote. Empty when unreadable.
std::string read_owner_entry(const std::string& path) {
    char buf[8192];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n >= 0 && static_cast<size_t>(n) < sizeof buf)
        return std::string(buf, static_cast<size_t>(n));
    if (n < 0 && errno == EINVAL) return read_small(path);
    return {};
}

// "<a> <b> <path>" (owner: pid, start time; kept: time, bytes): the path is
// the rest of the text, whatever it holds (a root may have spaces, even a
// newline), less the one newline a regular file was written with. False when
// unparsable.
template <typename A, typename B>
bool parse_entry(const std::string& text, A& a, B& b, std::string& path) {
    std::istringstream in(text);
    in >> a >> b;
    if (!in || in.get() != ' ') return false;
    path.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!path.empty() && path.back() == '\n') path.pop_back();
    return !path.empty();
}

// "<pid>:<pid namespace>" (an older corral wrote "<pid>": namespace 0, unknown).
bool parse_owner_entry(const std::string& text, OwnerEntry& e) {
    std::string who;
    if (!parse_entry(text, who, e.start_time, e.path)) return false;
    auto colon = who.find(':');
    auto pid = parse_i64(std::string_view(who).substr(0, colon));
    if (!pid || *pid <= 0 || *pid > INT32_MAX) return false;
    e.pid = static_cast<pid_t>(*pid);
    e.pid_namespace = 0;
    if (colon != std::string::npos) {
        auto ns = parse_u64(std::string_view(who).substr(colon + 1));
        if (!ns) return false;
        e.pid_namespace = *ns;
    }
    return true;
}

}  // namespace

bool is_scratch_path_of(const std::string& path, const std::string& id) {
    std::string tail = "/c-" + id;
    return !id.empty() && path.size() > tail.size() && path[0] == '/' &&
           path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
}

void write_owner(const std::string& registry, const ScratchDir& d) {
    auto info = proc::read_stat(::getpid());
    if (!info) {
        // Why our own stat could not be read (EMFILE under a low descriptor limit), not ENOENT.
        auto again = read_file(kpath::kSelfStat);
        throw std::system_error(again ? EPROTO : (again.err ? again.err : EIO),
                                std::generic_category(), kpath::kSelfStat);
    }
    write_owner(registry, d, *info);
}

void write_owner(const std::string& registry, const ScratchDir& d,
                 const proc::ProcessStat& self_stat) {
    ensure_registry(registry);
    // The entry is a symlink whose target is the text: symlink(2) makes it
    // whole or not at all, as the rename of a written file did, in one call
    // instead of six (it is written before every test; bench/run_overhead).
    std::string entry = entry_path(registry, d.id, ".owner");
    std::string text = std::to_string(self_stat.pid) + ":" +
                       std::to_string(proc::own_pid_namespace().value_or(0)) + " " +
                       std::to_string(self_stat.start_time) + " " + d.path;
    if (::symlink(text.c_str(), entry.c_str()) == 0) return;
    // An entry of this id left by a launcher killed outright (ids are random):
    // ours now.
    if (errno == EEXIST && fs::unlink_uncached(AT_FDCWD, entry.c_str(), 0) == 0 &&
        ::symlink(text.c_str(), entry.c_str()) == 0)
        return;
    throw std::system_error(errno, std::generic_category(),
                            "cannot write the owner entry " + entry);
}

bool is_registered(const std::string& registry, const std::string& dir) {
    auto slash = dir.rfind("/c-");
    if (registry.empty() || slash == std::string::npos) return false;
    std::string id = dir.substr(slash + 3);
    if (id.empty() || id.find('/') != std::string::npos || !is_private_registry(registry))
        return false;
    OwnerEntry e;
    return parse_owner_entry(read_owner_entry(entry_path(registry, id, ".owner")), e) &&
           e.pid > 0 && e.path == dir && is_scratch_path_of(e.path, id);
}

void remove_owner(const std::string& registry, const std::string& id) {
    fs::unlink_uncached(AT_FDCWD, entry_path(registry, id, ".owner").c_str(), 0);
}

std::vector<OwnerEntry> claim_stale(const std::string& registry, std::string_view own_id) {
    std::vector<OwnerEntry> out;
    if (!is_private_registry(registry)) return out;
    // A pid is only judged in the namespace that gave it: an owner in another
    // one (a container sharing this runtime directory) is left alone.
    const uint64_t own_namespace = proc::own_pid_namespace().value_or(0);
    for (const auto& name : names_ending(registry, ".owner")) {
        OwnerEntry e;
        e.id = name.substr(0, name.size() - 6);
        if (!own_id.empty() && e.id == own_id) continue;
        // Unparsable: written by something else (write_owner makes a complete
        // entry in one call), never ours to judge.
        if (!parse_owner_entry(read_owner_entry(registry + "/" + name), e)) continue;
        if (e.pid <= 0 || !is_scratch_path_of(e.path, e.id)) continue;
        if (e.pid_namespace != 0 && e.pid_namespace != own_namespace) continue;
        if (auto info = proc::read_stat(e.pid); info && info->start_time == e.start_time)
            continue;  // the owner is alive
        e.claim = registry + "/" + e.id + ".sweep-" + std::to_string(::getpid());
        if (::rename((registry + "/" + name).c_str(), e.claim.c_str()) != 0)
            continue;  // another sweeper claimed it first
        out.push_back(std::move(e));
    }
    return out;
}

void release_claim(const OwnerEntry& e) {
    if (!e.claim.empty()) fs::unlink_uncached(AT_FDCWD, e.claim.c_str(), 0);
}

KeepResult keep(const std::string& registry, const ScratchDir& d, uint64_t bytes, size_t max_count,
                uint64_t max_bytes) {
    ensure_registry(registry);
    std::string lock_path = registry + "/kept.lock";
    int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0)
        throw std::system_error(errno, std::generic_category(), "cannot open " + lock_path);
    while (::flock(lock, LOCK_EX) != 0 && errno == EINTR) {
    }
    KeepResult result;
    try {
        auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        write_file_atomically(
            entry_path(registry, d.id, ".kept"),
            std::to_string(now) + " " + std::to_string(bytes) + " " + d.path + "\n", 0600,
            Durability::Process);
        struct Kept {
            long long when = 0;
            uint64_t bytes = 0;
            std::string path, entry;
        };
        std::vector<Kept> kept;
        for (const auto& name : names_ending(registry, ".kept")) {
            Kept k;
            k.entry = registry + "/" + name;
            parse_entry(read_small(k.entry), k.when, k.bytes, k.path);
            std::string id = name.substr(0, name.size() - 5);
            struct stat st {};
            if (!is_scratch_path_of(k.path, id) || ::lstat(k.path.c_str(), &st) != 0 ||
                !S_ISDIR(st.st_mode)) {
                fs::unlink_uncached(AT_FDCWD, k.entry.c_str(), 0);  // removed by hand, or not ours
                continue;
            }
            kept.push_back(std::move(k));
        }
        std::sort(kept.begin(), kept.end(),
                  [](const Kept& a, const Kept& b) { return a.when < b.when; });
        uint64_t total = 0;
        for (const auto& k : kept)
            total += k.bytes;
        size_t i = 0;
        while (i < kept.size() && (kept.size() - i > max_count || total > max_bytes)) {
            if (kept[i].path == d.path) break;  // never the one just kept
            walk(kept[i].path, true);
            fs::unlink_uncached(AT_FDCWD, kept[i].entry.c_str(), 0);
            total -= kept[i].bytes;
            result.removed.push_back(kept[i].path);
            ++i;
        }
        result.kept_count = kept.size() - i;
        result.kept_bytes = total;
    } catch (...) {
        ::close(lock);
        throw;
    }
    ::close(lock);
    return result;
}

namespace {
// The top of the tree removed (`rc` 0), or the failing call's error.
void note_removal(TreeResult& out, const std::string& path, int rc, const char* call) {
    int e = errno;
    if (rc == 0)
        out.removed = true;
    else
        out.errors.push_back(path + ": " + call + ": " + errno_text(e));
}
}  // namespace

TreeResult walk(const std::string& path, bool remove, const std::function<bool()>& go_on) {
    TreeResult out;
    // The common end of a test: it left its scratch empty. rmdir(2) removes
    // only an empty directory and does not follow a final symlink; anything
    // else (ENOTEMPTY, a mount on it: EBUSY, a symlink: ENOTDIR) takes the walk.
    if (remove && fs::unlink_uncached(AT_FDCWD, path.c_str(), AT_REMOVEDIR) == 0) {
        out.removed = true;
        return out;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        // The test made its scratch directory itself unreadable (chmod 000):
        // ours to read again, as any directory inside (open_dir). Never
        // through a symlink (AT_SYMLINK_NOFOLLOW refuses one).
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
            ::fchmodat(AT_FDCWD, path.c_str(), (st.st_mode & 07777) | S_IRWXU,
                       AT_SYMLINK_NOFOLLOW) == 0)
            fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        else
            errno = EACCES;
    }
    if (fd < 0) {
        int e = errno;
        struct stat st {};
        // The test replaced the directory itself (a symlink, a file): removed
        // as what it is now, by unlink(2), which never follows a symlink.
        if ((e == ENOTDIR || e == ELOOP) && ::lstat(path.c_str(), &st) == 0 &&
            !S_ISDIR(st.st_mode)) {
            out.replaced_by = S_ISLNK(st.st_mode) ? "a symlink" : "a file";
            out.bytes = static_cast<uint64_t>(st.st_blocks) * 512;
            out.entries = 1;
            if (remove)
                note_removal(out, path, fs::unlink_uncached(AT_FDCWD, path.c_str(), 0), "unlink");
            return out;
        }
        if (e == ENOENT) {  // the test removed it itself: nothing to measure or remove
            out.gone = true;
            return out;
        }
        out.errors.push_back(path + ": open: " + errno_text(e));
        return out;
    }
    Where top;
    int err = 0;
    if (!where_at(fd, "", top, err)) {
        out.errors.push_back(path + ": statx: " + errno_text(err));
        ::close(fd);
        return out;
    }
    // A mount on the scratch directory itself (the test bind-mounted or
    // mounted a tmpfs onto its $TMPDIR): its root is not the test's to empty,
    // like any mount inside. ".." of a mount root is in the parent mount.
    Where parent;
    if (where_at(fd, "..", parent, err) && !same_mount(parent, top)) {
        out.skipped_mounts.push_back(path);
        ::close(fd);
        return out;
    }
    out.bytes += top.bytes;
    Walker walker(remove, out, go_on);
    walker.walk_dir(fd, path, top);
    if (remove && !out.stopped)
        note_removal(out, path, fs::unlink_uncached(AT_FDCWD, path.c_str(), AT_REMOVEDIR), "rmdir");
    return out;
}

}  // namespace corral::scratch
