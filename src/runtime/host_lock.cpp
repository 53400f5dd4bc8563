#include "runtime/host_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "common/text.hpp"
#include "common/unique_fd.hpp"
#include "common/units.hpp"
#include "kernel/host.hpp"

namespace corral::locks {
namespace {

// mkdir 0700, or accept an existing real directory owned by us.
bool ensure_private_dir(const std::string& path, std::string& why) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        why = path + ": mkdir: " + std::strerror(errno);
        return false;
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        why = path + ": " + std::strerror(errno);
        return false;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
        why = path + ": not a directory owned by uid " + std::to_string(::geteuid()) +
              (S_ISDIR(st.st_mode) ? " (uid " + std::to_string(st.st_uid) + " made it)" : "");
        return false;
    }
    // Writable by others, anyone could plant lock files and scratch registry
    // entries (an owner entry names a directory for the next launcher to
    // remove).
    if ((st.st_mode & 022) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        why = path + ": writable by group or others (mode " + mode + "; chmod go-w it)";
        return false;
    }
    return true;
}

int open_lock_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "cannot open lock file " + path);
    return fd;
}

bool flock_retry(int fd, int op) {
    for (;;) {
        if (::flock(fd, op) == 0) return true;
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) return false;
        throw std::system_error(errno, std::generic_category(), "flock");
    }
}

// The slot count every run holding a slot of `type` agrees on, kept in
// slot.<type>.count: each holder keeps a shared flock on it. A run that can take
// it exclusively holds no competitor, so it (re)writes the count; otherwise it
// reads the count and must name the same one. Returns the descriptor to hold.
int agree_on_count(const std::string& dir, const SlotRequest& s) {
    const std::string path = dir + "/slot." + s.type + ".count";
    UniqueFd fd(open_lock_file(path));
    const std::string mine = std::to_string(s.count) + "\n";
    if (flock_retry(fd.get(), LOCK_EX | LOCK_NB)) {
        if (::ftruncate(fd.get(), 0) != 0 ||
            ::pwrite(fd.get(), mine.data(), mine.size(), 0) != static_cast<ssize_t>(mine.size()))
            throw std::system_error(errno, std::generic_category(), "cannot write " + path);
    }
    // Shared from here on (flock converts; another run may write in between,
    // which the read below sees).
    flock_retry(fd.get(), LOCK_SH);
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0) throw std::system_error(errno, std::generic_category(), "cannot read " + path);
    const std::string theirs(buf, static_cast<size_t>(n));
    if (!theirs.empty() && theirs != mine)
        throw std::invalid_argument("--slots " + s.type + ":" + std::to_string(s.count) +
                                    ": runs holding slots of " + s.type + " now say it has " +
                                    std::string(trim(theirs)) +
                                    " slots; every caller must name the same count");
    return fd.release();
}

}  // namespace

std::string runtime_dir() {
    std::string why;
    if (const char* d = std::getenv("CORRAL_RUNTIME_DIR"); d && *d) {
        // Relative, two launchers in different directories would hold
        // different "host-wide" locks, and a test that changed directory
        // would not find its launcher's registry.
        if (d[0] != '/')
            throw BadRuntimeDir(std::string("CORRAL_RUNTIME_DIR='") + d +
                                "': must be an absolute path");
        if (!ensure_private_dir(d, why)) throw std::runtime_error("CORRAL_RUNTIME_DIR: " + why);
        return d;
    }
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) {
        std::string dir = std::string(x) + "/corral";
        if (ensure_private_dir(dir, why)) return dir;
    }
    // A runtime directory belongs on a tmpfs (FHS 3.0 /run; the XDG base
    // directory spec): every launch writes and removes its scratch owner entry
    // there. In a container /run is often a directory of the image's disk (an
    // inode allocated and freed per launch on ext4, a copy-up on overlayfs), so
    // a /dev/shm on tmpfs comes before a /run that is not one
    // (bench/run_overhead/README.md, tenth step). One directory, chosen by
    // what the filesystems are, never by what exists: one another user made
    // (in the shared /dev/shm or /tmp) is an error, not passed over, or two
    // launches would hold their "host-wide" locks in two directories once it
    // is gone.
    const std::string uid = std::to_string(::geteuid());
    const bool run_writable = ::access("/run", W_OK) == 0;
    std::string dir;
    if (run_writable && memory_backed("/run"))
        dir = "/run/corral-" + uid;
    else if (::access("/dev/shm", W_OK) == 0 && memory_backed("/dev/shm"))
        dir = "/dev/shm/corral-" + uid;
    else if (run_writable)
        dir = "/run/corral-" + uid;
    else
        dir = "/tmp/corral-" + uid;
    if (ensure_private_dir(dir, why)) return dir;
    throw std::runtime_error(
        "no usable runtime directory for host locks and the scratch registry (" + why +
        "); set CORRAL_RUNTIME_DIR to a directory of your own");
}

bool valid_name(std::string_view name) {
    return static_cast<bool>(units::parse_lock_name(name));
}

SlotRequest parse_slot_request(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
        throw std::invalid_argument("--slots '" + std::string(text) +
                                    "': expected TYPE:N, e.g. heavy_vm:4");
    SlotRequest r;
    r.type = std::string(text.substr(0, colon));
    auto n = parse_u64(text.substr(colon + 1));
    if (!valid_name(r.type))
        throw std::invalid_argument("--slots '" + std::string(text) + "': type '" + r.type +
                                    "' must be 1-100 of [A-Za-z0-9._-], not starting with '.'");
    if (!n || *n < 1 || *n > 4096)
        throw std::invalid_argument("--slots '" + std::string(text) +
                                    "': N must be a whole number from 1 to 4096");
    r.count = static_cast<int>(*n);
    return r;
}

HeldLocks::HeldLocks(HeldLocks&& o) noexcept : fds_(std::move(o.fds_)), held_(std::move(o.held_)) {
    o.fds_.clear();
}

HeldLocks& HeldLocks::operator=(HeldLocks&& o) noexcept {
    if (this != &o) {
        for (int fd : fds_)
            ::close(fd);
        fds_ = std::move(o.fds_);
        held_ = std::move(o.held_);
        o.fds_.clear();
    }
    return *this;
}

HeldLocks::~HeldLocks() {
    for (int fd : fds_)
        ::close(fd);
}

void HeldLocks::add(int fd, std::string what) {
    fds_.push_back(fd);
    if (!what.empty()) held_.push_back(std::move(what));
}

HeldLocks acquire(const std::string& dir, std::vector<std::string> names,
                  std::vector<SlotRequest> slots,
                  const std::function<void(const std::string&)>& on_wait) {
    for (const auto& n : names)
        if (!valid_name(n))
            throw std::invalid_argument("--lock '" + n +
                                        "': a name is 1-100 of [A-Za-z0-9._-], not starting "
                                        "with '.'");
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::sort(slots.begin(), slots.end(),
              [](const SlotRequest& a, const SlotRequest& b) { return a.type < b.type; });
    // One slot per type: a repeated type would wait forever on the slot this run
    // already holds (with count 1), so repeats merge; differing counts disagree.
    for (size_t i = 1; i < slots.size(); ++i)
        if (slots[i].type == slots[i - 1].type && slots[i].count != slots[i - 1].count)
            throw std::invalid_argument(
                "--slots " + slots[i].type + ": named with " + std::to_string(slots[i - 1].count) +
                " and " + std::to_string(slots[i].count) + " slots; a type has one count");
    slots.erase(
        std::unique(slots.begin(), slots.end(),
                    [](const SlotRequest& a, const SlotRequest& b) { return a.type == b.type; }),
        slots.end());

    HeldLocks held;
    for (const auto& name : names) {
        UniqueFd fd(open_lock_file(dir + "/lock." + name));
        if (!flock_retry(fd.get(), LOCK_EX | LOCK_NB)) {
            if (on_wait) on_wait("the host-wide lock " + name);
            flock_retry(fd.get(), LOCK_EX);
        }
        held.add(fd.release(), "lock:" + name);
    }
    for (const auto& s : slots) {
        held.add(agree_on_count(dir, s), "");
        std::vector<UniqueFd> guards;  // closes every slot file on a throw
        guards.reserve(static_cast<size_t>(s.count));
        std::vector<int> fds;
        for (int i = 0; i < s.count; ++i) {
            guards.emplace_back(open_lock_file(dir + "/slot." + s.type + "." + std::to_string(i)));
            fds.push_back(guards.back().get());
        }
        // Start at a pid-dependent slot so concurrent launchers spread out, then
        // poll: a blocking flock on one slot would miss another one freeing up.
        int start = static_cast<int>(::getpid() % s.count);
        int taken = -1;
        auto backoff = std::chrono::milliseconds(5);
        for (bool announced = false; taken < 0;) {
            for (int k = 0; k < s.count && taken < 0; ++k) {
                int i = (start + k) % s.count;
                if (flock_retry(fds[static_cast<size_t>(i)], LOCK_EX | LOCK_NB)) taken = i;
            }
            if (taken >= 0) break;
            if (!announced && on_wait) on_wait("a host-wide slot of " + s.type);
            announced = true;
            std::this_thread::sleep_for(backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(100));
        }
        held.add(guards[static_cast<size_t>(taken)].release(),
                 "slot:" + s.type + "." + std::to_string(taken));
    }
    return held;
}

}  // namespace corral::locks
