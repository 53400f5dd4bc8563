// `corral reap` refuses scopes that are not dedicated to tests: a scope ties
// every process whose cwd, executable or argv lies under it, so /usr, /home,
// $HOME or the directory a user works in would tie shells, editors and
// daemons that are not the tests'. The rules are documented in reaper.hpp
// (check_dedicated) and docs/runtime.md ("Dedicated scopes only").
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "runtime/host_lock.hpp"
#include "runtime/reaper.hpp"
#include "runtime/scope_marker.hpp"
#include "runtime/scratch_dir.hpp"

namespace corral::reap {
namespace {

namespace fs = std::filesystem;

// FHS 3.0 chapter 3 (the root filesystem), 4 (/usr), 5 (/var), and the Linux
// annex (/proc, /sys), plus the directories distributions add (/lib32, /libx32,
// /snap, /run/user). The directory itself is refused; what lies below it may
// be a test's (a CI workspace under /var/lib/jenkins, a project in /usr/src/app).
constexpr const char* kSystemDirs[] = {
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/usr",
    "/var",
    "/snap",
    "/lost+found",
    "/usr/bin",
    "/usr/games",
    "/usr/include",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/games",
    "/usr/local/include",
    "/usr/local/lib",
    "/usr/local/man",
    "/usr/local/sbin",
    "/usr/local/share",
    "/usr/local/src",
    "/var/backups",
    "/var/cache",
    "/var/crash",
    "/var/lib",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/www",
    "/run/user",
    "/run/lock",
    "/dev/pts",
    "/dev/mqueue",
};

// Trees whose whole content is the system: its programs and libraries (the
// `exe` tie would take every process running one), its configuration, or
// kernel interfaces. Refused with everything under them.
constexpr const char* kSystemTrees[] = {
    "/proc",           "/sys",           "/dev",
    "/boot",           "/etc",           "/bin",
    "/sbin",           "/lib",           "/lib32",
    "/lib64",          "/libx32",        "/usr/bin",
    "/usr/sbin",       "/usr/lib",       "/usr/lib32",
    "/usr/lib64",      "/usr/libx32",    "/usr/libexec",
    "/usr/include",    "/usr/share",     "/usr/local/bin",
    "/usr/local/sbin", "/usr/local/lib",
};

// Shared temporary directories: refused themselves, not what lies below.
constexpr const char* kSharedTemp[] = {"/tmp", "/var/tmp", "/dev/shm", "/run/shm"};

std::string strip_trailing_slashes(std::string s) {
    while (s.size() > 1 && s.back() == '/')
        s.pop_back();
    return s;
}

std::string lexical(const std::string& p) {
    return strip_trailing_slashes(fs::path(p).lexically_normal().string());
}

// The spellings of a host directory to compare against: as written, and with
// the symlinks of its parent resolved (/bin -> usr/bin, /var/run -> /run,
// /home -> /data/home). Only the parent is resolved, so checking a home
// directory never triggers its automount.
std::vector<std::string> spellings(const std::string& dir) {
    std::vector<std::string> out;
    if (dir.empty() || dir.front() != '/') return out;
    auto lex = lexical(dir);
    out.push_back(lex);
    std::error_code ec;
    fs::path p(lex);
    auto parent = fs::weakly_canonical(p.parent_path(), ec);
    if (!ec) {
        auto name = p.filename();
        auto joined = lexical((name.empty() ? parent : parent / name).string());
        // A top-level link such as /bin -> usr/bin: resolve the last component too.
        std::error_code ec2;
        if (fs::is_symlink(joined, ec2)) {
            auto real = fs::weakly_canonical(joined, ec2);
            if (!ec2) joined = lexical(real.string());
        }
        if (joined != lex) out.push_back(joined);
    }
    return out;
}

struct Rules {
    const HostDirs& host;
    std::vector<std::string> scope_paths;

    // The first rule a scope path breaks, as "PATH is ...", or empty.
    std::string broken() const {
        for (const auto& s : scope_paths) {
            if (s == "/") return "/ is the root directory: it would tie every process";
        }
        for (const auto& s : scope_paths) {
            for (const char* d : kSystemTrees)
                for (const auto& t : spellings(d)) {
                    if (!starts_with_path(s, t)) continue;
                    if (t == "/dev" && starts_with_path(s, "/dev/shm") && s != "/dev/shm")
                        continue;  // a test's own directory on the shared-memory tmpfs
                    return s + " is " + (s == t ? "" : "under ") + "the system directory " + t +
                           " (programs, libraries, configuration or kernel interfaces)";
                }
            for (const char* d : kSystemDirs)
                for (const auto& t : spellings(d))
                    if (s == t) return s + " is the system directory " + d + " (FHS)";
            for (const char* d : kSharedTemp)
                for (const auto& t : spellings(d))
                    if (s == t)
                        return s + " is the shared temporary directory " + d +
                               " (every user's programs keep files there)";
            for (const auto& d : host.tmpdirs)
                for (const auto& t : spellings(d))
                    if (s == t) return s + " is $TMPDIR (" + d + "), a shared temporary directory";
            for (const auto& h : host.homes)
                for (const auto& t : spellings(h)) {
                    if (s == t) return s + " is the home directory " + h;
                    if (starts_with_path(t, s)) return s + " contains the home directory " + h;
                }
            for (const auto& c : host.cwds)
                for (const auto& t : spellings(c)) {
                    if (s == t) return s + " is the current directory";
                    if (starts_with_path(t, s)) return s + " contains the current directory " + c;
                }
        }
        return {};
    }
};

}  // namespace

HostDirs HostDirs::from_host(const Host& host) {
    HostDirs h;
    h.uid = host.uid();
    auto add_home = [&h](const std::optional<std::string>& dir) {
        if (dir && !dir->empty() && (*dir)[0] == '/') h.homes.push_back(*dir);
    };
    for (const auto& home : host.all_homes())
        add_home(home);
    // Enumeration may be off (sssd, LDAP): look up the users in play by id and name too.
    add_home(host.home_of_uid(host.uid()));
    add_home(host.home_of_uid(host.euid()));
    for (const char* var : {"USER", "LOGNAME", "SUDO_USER"})
        if (auto name = host.env(var); name && !name->empty()) add_home(host.home_of_name(*name));
    add_home(host.env("HOME"));
    h.cwds.push_back(host.current_dir());
    if (auto pwd = host.env("PWD"); pwd && !pwd->empty() && (*pwd)[0] == '/')
        h.cwds.push_back(*pwd);
    if (auto t = host.env("TMPDIR"); t && !t->empty() && (*t)[0] == '/') h.tmpdirs.push_back(*t);
    try {
        h.scratch_registry = locks::runtime_dir() + "/scratch";
    } catch (const std::exception&) {
        // No private runtime directory: no launcher can have registered a scratch here.
    }
    return h;
}

void check_dedicated(const Scope& scope, const HostDirs& host, bool force) {
    if (scope.paths.empty()) return;  // a token alone ties no path
    Rules rules{host, scope.paths};
    auto first = scope.paths.front();
    auto tail = "--scope " + first + ": refused, nothing was signalled: ";
    for (const auto& s : scope.paths)
        if (s == "/")
            throw ScopeRefused(tail +
                               "/ is the root directory: it would tie every process "
                               "(refused even with --force)");
    std::string why_not_made;
    if (scope_marker::is_corral_made(scope.paths.back(), host.uid, &why_not_made)) return;
    // A running launcher's per-test scratch directory (it holds no mark: the test
    // finds its $TMPDIR empty) is Corral-made too.
    if (scratch::is_registered(host.scratch_registry, scope.paths.back())) return;
    if (force) return;
    auto broken = rules.broken();
    if (broken.empty()) return;
    throw ScopeRefused(
        tail + broken +
        ". A scope must be a directory dedicated to the tests (corral_setup's SCOPE_DIR, "
        "$CORRAL_SCOPE of `corral run`, a directory your fixture made for them), or one Corral "
        "made (it carries " +
        scope_marker::kFileName + "; here: " + why_not_made +
        "). Other processes under it would be signalled too; --force if you really mean it.");
}

}  // namespace corral::reap
