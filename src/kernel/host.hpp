// The host as an interface (as ninja's DiskInterface / VirtualFileSystem): every
// read the probe, the reaper's scan and the scope refusal rules make of the
// machine goes through a Host. LiveHost is this machine; RecordedHost is a
// recorded tree (tests/data/hosts/<name>: proc/, sys/, etc/passwd) plus an
// injected environment, so the same code runs on it without root. Callers have
// one path: what differs between the two lives here, never in a live() branch.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/read_file.hpp"

namespace corral {

// What stat(2) + statfs(2) say of a directory (live), or what the mount table
// can say of it (recorded). `not_measured` is non-empty when free space,
// reflink and write speed cannot be measured there (a recorded root) and says why.
struct FsStat {
    std::string device;                  // "major:minor" of st_dev; empty when unknown
    std::optional<uint64_t> free_bytes;  // statfs f_bavail * f_frsize
    bool read_only = false;              // statfs ST_RDONLY
    bool memory_backed = false;          // statfs f_type TMPFS_MAGIC / RAMFS_MAGIC
    std::string not_measured;
};

class Host {
  public:
    virtual ~Host() = default;

    // Whole file at a host path ("/proc/meminfo"). The error names the host path
    // and the errno text; Read::err holds the errno (EACCES, ENOENT, ...).
    virtual Read<std::string> read_text(const std::filesystem::path& host_path) const = 0;
    // First line without its newline.
    Read<std::string> read_line(const std::filesystem::path& host_path) const;
    // lstat(2) succeeds (the file may still be unreadable).
    virtual bool exists(const std::filesystem::path& host_path) const = 0;
    // Entry names of a directory (no "." / ".."), sorted; empty when unreadable.
    virtual std::vector<std::string> list_dir(const std::filesystem::path& host_path) const = 0;
    // readlink(2); nullopt when not a symlink or unreadable.
    virtual std::optional<std::string> read_link(const std::filesystem::path& host_path) const = 0;

    // CPUs this process may run on: sched_getaffinity(2) live, the recorded
    // Cpus_allowed_list of the process status file otherwise. `source` names which.
    virtual Read<int> affinity(std::string& source) const = 0;
    // sysconf(_SC_NPROCESSORS_ONLN) when the online list is unreadable; nullopt
    // on a recorded host (no such call for it).
    virtual std::optional<int> online_cpus_fallback() const = 0;
    // The directory relative paths are taken from ("/" on a recorded host).
    virtual std::string current_dir() const = 0;
    // Symlinks resolved (live), or the path itself (recorded: its symlinks are not the host's).
    virtual std::string canonical(const std::string& path) const = 0;
    // stat + statfs of a directory; the error names the path and errno text.
    virtual Read<FsStat> filesystem(const std::string& path) const = 0;

    // The process environment (live: environ; recorded: injected).
    virtual std::optional<std::string> env(const std::string& name) const = 0;
    // Home directories of the passwd database: every entry, plus the lookups
    // by uid and by name (enumeration may be off with sssd/LDAP). Live: through
    // getent(1), so NSS modules work in the static program; recorded: etc/passwd.
    virtual std::vector<std::string> all_homes() const = 0;
    virtual std::optional<std::string> home_of_uid(uid_t uid) const = 0;
    virtual std::optional<std::string> home_of_name(const std::string& name) const = 0;
    // This process: pid, real and effective uid (recorded: the tree's proc/self link and injected
    // ids).
    virtual pid_t self_pid() const = 0;
    virtual uid_t uid() const = 0;
    virtual uid_t euid() const = 0;
};

// This machine. One instance; never destroyed.
const Host& live_host();

// Whether the directory at `path` of this machine lies on a tmpfs or ramfs
// (statfs(2) f_type, as FsStat::memory_backed); false when statfs fails. One
// call, no stat: a launcher asks it of /run and /dev/shm at every start
// (runtime/host_lock.hpp runtime_dir).
bool memory_backed(const std::string& path);

class LiveHost : public Host {
  public:
    Read<std::string> read_text(const std::filesystem::path& host_path) const override;
    bool exists(const std::filesystem::path& host_path) const override;
    std::vector<std::string> list_dir(const std::filesystem::path& host_path) const override;
    std::optional<std::string> read_link(const std::filesystem::path& host_path) const override;
    Read<int> affinity(std::string& source) const override;
    std::optional<int> online_cpus_fallback() const override;
    std::string current_dir() const override;
    std::string canonical(const std::string& path) const override;
    Read<FsStat> filesystem(const std::string& path) const override;
    std::optional<std::string> env(const std::string& name) const override;
    std::vector<std::string> all_homes() const override;
    std::optional<std::string> home_of_uid(uid_t uid) const override;
    std::optional<std::string> home_of_name(const std::string& name) const override;
    pid_t self_pid() const override;
    uid_t uid() const override;
    uid_t euid() const override;
};

// A recorded tree: host path "/proc/x" is read from <root>/proc/x. The
// environment and ids are injected; passwd comes from <root>/etc/passwd.
class RecordedHost : public Host {
  public:
    explicit RecordedHost(std::filesystem::path root,
                          std::map<std::string, std::string> environment = {}, uid_t uid = 1000);
    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path resolve(const std::filesystem::path& host_path) const;

    Read<std::string> read_text(const std::filesystem::path& host_path) const override;
    bool exists(const std::filesystem::path& host_path) const override;
    std::vector<std::string> list_dir(const std::filesystem::path& host_path) const override;
    std::optional<std::string> read_link(const std::filesystem::path& host_path) const override;
    Read<int> affinity(std::string& source) const override;
    std::optional<int> online_cpus_fallback() const override;
    std::string current_dir() const override;
    std::string canonical(const std::string& path) const override;
    Read<FsStat> filesystem(const std::string& path) const override;
    std::optional<std::string> env(const std::string& name) const override;
    std::vector<std::string> all_homes() const override;
    std::optional<std::string> home_of_uid(uid_t uid) const override;
    std::optional<std::string> home_of_name(const std::string& name) const override;
    pid_t self_pid() const override;
    uid_t uid() const override;
    uid_t euid() const override;

  private:
    std::filesystem::path root_;
    std::map<std::string, std::string> env_;
    uid_t uid_;
};

// `corral probe --root DIR`: the live host for "/" (after resolving symlinks),
// a RecordedHost for anything else.
std::unique_ptr<Host> make_host(const std::filesystem::path& root);

}  // namespace corral
