// Host-wide named locks and counted slots shared by every `corral run` on the
// machine (two ctest processes of two CI jobs on one runner included): flock()
// on files in one runtime directory. The descriptors are O_CLOEXEC and held by
// the launcher only, so a test never inherits them, and the kernel releases
// them when the launcher ends in any way, SIGKILL included.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace corral::locks {

// $CORRAL_RUNTIME_DIR, else $XDG_RUNTIME_DIR/corral when usable, else one
// directory chosen by what the filesystems are: /run/corral-<uid> when /run is
// a writable tmpfs, else /dev/shm/corral-<uid> when /dev/shm is a writable
// tmpfs, else /run/corral-<uid> when /run is writable, else /tmp/corral-<uid>
// (FHS 3.0: /run is a tmpfs; in a container it is often on disk). Created 0700;
// an existing one must be a real directory owned by this user that no one else
// can write to, or this throws std::runtime_error naming it (never another
// directory: every launch of the user must find the same locks).
std::string runtime_dir();
// What runtime_dir() throws for a relative $CORRAL_RUNTIME_DIR: a bad value
// from the environment (docs/exit-codes.md: 125), not a host without one.
struct BadRuntimeDir : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Lock and slot-type names: the rule of units::parse_lock_name (src/common/units.hpp).
bool valid_name(std::string_view name);

struct SlotRequest {
    std::string type;
    int count = 1;  // the type has `count` slots host-wide: files <type>.0 .. <type>.<count-1>
};
// "TYPE:N" -> SlotRequest; throws std::invalid_argument with the reason.
SlotRequest parse_slot_request(std::string_view text);

class HeldLocks {
  public:
    HeldLocks() = default;
    HeldLocks(HeldLocks&&) noexcept;
    HeldLocks& operator=(HeldLocks&&) noexcept;
    HeldLocks(const HeldLocks&) = delete;
    HeldLocks& operator=(const HeldLocks&) = delete;
    ~HeldLocks();

    // "lock:NAME" and "slot:TYPE.I", in acquisition order.
    const std::vector<std::string>& held() const { return held_; }
    // Takes ownership of fd; an empty `what` is held but not listed.
    void add(int fd, std::string what);

  private:
    std::vector<int> fds_;
    std::vector<std::string> held_;
};

// Takes every named lock (sorted by name), then one slot of each type (sorted
// by type): one global order, so launchers never deadlock one another. Blocks
// until all are held; `on_wait` is called once per lock/slot it has to wait for.
// A type named twice is one slot; every concurrent holder of a type must name
// the same count (kept in <dir>/slot.<type>.count under a shared flock), else
// std::invalid_argument. Throws std::system_error / std::invalid_argument; on
// a throw no descriptor stays open.
HeldLocks acquire(const std::string& dir, std::vector<std::string> names,
                  std::vector<SlotRequest> slots,
                  const std::function<void(const std::string&)>& on_wait = {});

}  // namespace corral::locks
