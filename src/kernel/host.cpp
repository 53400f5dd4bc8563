#include "kernel/host.hpp"

#include <dirent.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "common/text.hpp"
#include "kernel/command.hpp"
#include "kernel/paths.hpp"

namespace corral {
namespace fs = std::filesystem;
namespace {

struct PasswdEntry {
    std::string name;
    uid_t uid = 0;
    std::string home;
};

// passwd(5) lines, as in /etc/passwd and as getent(1) prints them:
// name:password:uid:gid:gecos:home:shell. Malformed lines are skipped.
std::vector<PasswdEntry> parse_passwd(std::string_view text) {
    std::vector<PasswdEntry> out;
    for (auto line : split_lines(text)) {
        auto f = split(line, ':');
        if (f.size() < 7) continue;
        auto uid = parse_u64(f[2]);
        if (!uid) continue;
        out.push_back({std::string(f[0]), static_cast<uid_t>(*uid), std::string(f[5])});
    }
    return out;
}

// The recorded tree's etc/passwd.
std::vector<PasswdEntry> recorded_passwd(const Host& host) {
    auto text = host.read_text("/etc/passwd");
    if (!text) return {};
    return parse_passwd(*text);
}

// The passwd database through getent(1) (libc-bin, Essential on Debian;
// /usr/bin/getent on Debian, Fedora, Arch and Alpine; never one from PATH,
// which a test's environment may shadow): the corral program is linked
// statically for its start-up time, and a static program cannot load NSS
// modules (glibc's warning at link time; with "passwd: files systemd" a
// getpwent(3) in it crashes in libnss_systemd). All entries without keys,
// else those of the keys (a uid or a name each). getent's answer counts when
// it exits 0, or 2 for keys ("not found", getent(1)); anything else (no
// getent, a crash, more than 10 s or 256 MiB; then for the rest of the
// process, so three lookups wait 10 s, not 30) falls back to /etc/passwd itself, the
// "files" source every nsswitch.conf lists, so the home directories that
// matter most are still known.
std::vector<PasswdEntry> getent_passwd(const std::vector<std::string>& keys) {
    constexpr int kGetentTimeoutMs = 10000;
    constexpr std::size_t kGetentMaxBytes = std::size_t{256} << 20;
    static bool getent_failed = false;  // once it hung or failed, the next lookups skip it
    if (!getent_failed) {
        std::vector<std::string> argv = {"/usr/bin/getent", "passwd"};
        argv.insert(argv.end(), keys.begin(), keys.end());
        try {
            auto c = proc::capture(argv, {}, kGetentTimeoutMs, kGetentMaxBytes);
            if (c.spawn_errno == 0 && !c.timed_out && !c.too_much) {
                if (c.status == 0) return parse_passwd(c.out);
                if (c.status == 2 && !keys.empty()) return {};
            }
        } catch (const std::system_error&) {
            // No pipe (EMFILE with one descriptor left): /etc/passwd needs only one.
        }
        getent_failed = true;
    }
    auto text = read_file("/etc/passwd");
    if (!text) return {};
    auto all = parse_passwd(*text);
    if (keys.empty()) return all;
    std::vector<PasswdEntry> out;
    for (auto& e : all)
        for (const auto& k : keys)
            if (k == e.name || k == std::to_string(e.uid)) out.push_back(e);
    return out;
}

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") out.emplace_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<std::string> link_of(const fs::path& path) {
    std::string buf(4096, '\0');
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
}

Read<std::string> read_named(const fs::path& file, const fs::path& host_path) {
    auto r = read_file(file);
    if (!r) r.error = host_path.string() + ": " + r.error;
    return r;
}

}  // namespace

Read<std::string> Host::read_line(const fs::path& host_path) const {
    auto text = read_text(host_path);
    if (!text) return text;
    auto s = *text;
    auto nl = s.find('\n');
    if (nl != std::string::npos) s.resize(nl);
    return Read<std::string>::ok(std::move(s));
}

// --- LiveHost ---

const Host& live_host() {
    static const LiveHost* host = new LiveHost();  // never destroyed: usable from any destructor
    return *host;
}

Read<std::string> LiveHost::read_text(const fs::path& host_path) const {
    return read_named(host_path, host_path);
}
bool LiveHost::exists(const fs::path& host_path) const {
    struct stat st;
    return ::lstat(host_path.c_str(), &st) == 0;
}
std::vector<std::string> LiveHost::list_dir(const fs::path& host_path) const {
    return names_in(host_path);
}
std::optional<std::string> LiveHost::read_link(const fs::path& host_path) const {
    return link_of(host_path);
}

Read<int> LiveHost::affinity(std::string& source) const {
    source = "sched_getaffinity";
    struct Free {
        void operator()(cpu_set_t* s) const { CPU_FREE(s); }
    };
    for (int cpus = 1024; cpus <= (1 << 22); cpus *= 2) {
        std::unique_ptr<cpu_set_t, Free> set(CPU_ALLOC(cpus));
        if (!set) return Read<int>::fail("sched_getaffinity: CPU_ALLOC failed");
        const size_t size = CPU_ALLOC_SIZE(cpus);
        CPU_ZERO_S(size, set.get());
        if (::sched_getaffinity(0, size, set.get()) == 0)
            return Read<int>::ok(CPU_COUNT_S(size, set.get()));
        if (errno != EINVAL)
            return Read<int>::fail(std::string("sched_getaffinity: ") + std::strerror(errno),
                                   errno);
    }
    return Read<int>::fail("sched_getaffinity: EINVAL even with a 4M-CPU mask", EINVAL);
}

std::optional<int> LiveHost::online_cpus_fallback() const {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 0) return static_cast<int>(n);
    return std::nullopt;
}

std::string LiveHost::current_dir() const {
    std::error_code ec;
    auto p = fs::current_path(ec);
    return ec ? "/" : p.string();
}

std::string LiveHost::canonical(const std::string& path) const {
    std::error_code ec;
    auto canon = fs::canonical(path, ec);
    return ec ? path : canon.string();
}

namespace {
bool is_memory_fs(const struct statfs& sfs) {
    return sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
}
}  // namespace

Read<FsStat> LiveHost::filesystem(const std::string& path) const {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
        return Read<FsStat>::fail(path + ": " + std::strerror(errno), errno);
    if (!S_ISDIR(st.st_mode)) return Read<FsStat>::fail(path + ": not a directory", ENOTDIR);
    struct statfs sfs;
    if (::statfs(path.c_str(), &sfs) != 0)
        return Read<FsStat>::fail("statfs " + path + ": " + std::strerror(errno), errno);
    FsStat s;
    s.device = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    // f_bavail: blocks available to unprivileged users (root's reserve excluded).
    const uint64_t unit =
        sfs.f_frsize ? static_cast<uint64_t>(sfs.f_frsize) : static_cast<uint64_t>(sfs.f_bsize);
    s.free_bytes = static_cast<uint64_t>(sfs.f_bavail) * unit;
    s.read_only = (sfs.f_flags & ST_RDONLY) != 0;
    s.memory_backed = is_memory_fs(sfs);
    return Read<FsStat>::ok(std::move(s));
}

bool memory_backed(const std::string& path) {
    struct statfs sfs;
    return ::statfs(path.c_str(), &sfs) == 0 && is_memory_fs(sfs);
}

std::optional<std::string> LiveHost::env(const std::string& name) const {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
}

std::vector<std::string> LiveHost::all_homes() const {
    std::vector<std::string> out;
    for (auto& e : getent_passwd({}))
        out.push_back(std::move(e.home));
    return out;
}
std::optional<std::string> LiveHost::home_of_uid(uid_t uid) const {
    for (auto& e : getent_passwd({std::to_string(uid)}))
        if (e.uid == uid) return std::move(e.home);
    return std::nullopt;
}
std::optional<std::string> LiveHost::home_of_name(const std::string& name) const {
    for (auto& e : getent_passwd({name}))
        if (e.name == name) return std::move(e.home);
    return std::nullopt;
}
pid_t LiveHost::self_pid() const {
    return ::getpid();
}
uid_t LiveHost::uid() const {
    return ::getuid();
}
uid_t LiveHost::euid() const {
    return ::geteuid();
}

// --- RecordedHost ---

RecordedHost::RecordedHost(fs::path root, std::map<std::string, std::string> environment, uid_t uid)
    : root_(std::move(root)), env_(std::move(environment)), uid_(uid) {}

fs::path RecordedHost::resolve(const fs::path& host_path) const {
    return root_ / host_path.relative_path();
}
Read<std::string> RecordedHost::read_text(const fs::path& host_path) const {
    return read_named(resolve(host_path), host_path);
}
bool RecordedHost::exists(const fs::path& host_path) const {
    struct stat st;
    return ::lstat(resolve(host_path).c_str(), &st) == 0;
}
std::vector<std::string> RecordedHost::list_dir(const fs::path& host_path) const {
    return names_in(resolve(host_path));
}
std::optional<std::string> RecordedHost::read_link(const fs::path& host_path) const {
    return link_of(resolve(host_path));
}

Read<int> RecordedHost::affinity(std::string& source) const {
    source = std::string(kpath::kSelfStatus) + " Cpus_allowed_list";
    auto status = read_text(kpath::kSelfStatus);
    if (!status) return Read<int>::fail(status.error, status.err);
    for (auto line : split_lines(*status)) {
        constexpr std::string_view key = "Cpus_allowed_list:";
        if (line.substr(0, key.size()) != key) continue;
        auto list = trim(line.substr(key.size()));
        auto count = count_cpu_list(list);
        if (!count || *count == 0)
            return Read<int>::fail(std::string(kpath::kSelfStatus) + ": Cpus_allowed_list '" +
                                   std::string(list) + "' is not a CPU list");
        return Read<int>::ok(*count);
    }
    return Read<int>::fail(std::string(kpath::kSelfStatus) + ": no Cpus_allowed_list line");
}

std::optional<int> RecordedHost::online_cpus_fallback() const {
    return std::nullopt;
}
std::string RecordedHost::current_dir() const {
    return "/";
}
std::string RecordedHost::canonical(const std::string& path) const {
    return path;
}
Read<FsStat> RecordedHost::filesystem(const std::string&) const {
    FsStat s;
    s.not_measured = "recorded root";
    return Read<FsStat>::ok(std::move(s));
}
std::optional<std::string> RecordedHost::env(const std::string& name) const {
    auto it = env_.find(name);
    if (it == env_.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> RecordedHost::all_homes() const {
    std::vector<std::string> out;
    for (const auto& e : recorded_passwd(*this))
        out.push_back(e.home);
    return out;
}
std::optional<std::string> RecordedHost::home_of_uid(uid_t uid) const {
    for (const auto& e : recorded_passwd(*this))
        if (e.uid == uid) return e.home;
    return std::nullopt;
}
std::optional<std::string> RecordedHost::home_of_name(const std::string& name) const {
    for (const auto& e : recorded_passwd(*this))
        if (e.name == name) return e.home;
    return std::nullopt;
}
pid_t RecordedHost::self_pid() const {
    auto self = read_link(std::string(kpath::kProc) + "/self");
    if (auto v = self ? parse_u64(*self) : std::nullopt) return static_cast<pid_t>(*v);
    return 0;
}
uid_t RecordedHost::uid() const {
    return uid_;
}
uid_t RecordedHost::euid() const {
    return uid_;
}

std::unique_ptr<Host> make_host(const fs::path& root) {
    std::error_code ec;
    auto canon = fs::weakly_canonical(root, ec);
    if (!ec && canon == "/") return std::make_unique<LiveHost>();
    return std::make_unique<RecordedHost>(root);
}

}  // namespace corral
