// The reaper behind `corral reap`: finds the processes tied to a scope (a
// directory, and optionally a token in the environment) and kills them in a
// configured order, through pidfds, rescanning until nothing is left.
//
// Data flows one way: make_scope() -> scan() -> kill steps -> ReapReport ->
// to_json()/describe(). Matching rules live in scope_match.cpp and are
// documented in docs/runtime.md ("corral reap").
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/process.hpp"

namespace corral::reap {

// Bad input (no scope and no token, an empty glob, ...). The CLI maps it to exit 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A scope that is not a directory dedicated to tests (check_dedicated). The CLI
// maps it to exit 4; nothing has been scanned or signalled.
class ScopeRefused : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// --- the reaper's names: one table each, in the order docs/runtime.md lists
// them; tests/runtime/reap_docs_test.cpp holds each table to its docs table
// both ways (every name documented, every documented name here). The names
// are a public format: `corral reap --json` (corral.reap/1) and its text
// output print them, and `--match` reads the tie names.

// What ties a process to the scope (docs/runtime.md, the `tie | rule` table).
enum class Tie { Argv, Cwd, Exe, Env, Files };
// Why a process tied to the scope was not signalled (docs/runtime.md "Never
// touched", the `reason | who` table). Checked in this order: the first wins.
enum class SpareReason { Self, Ancestor, Pid1, KernelThread, OtherUser, Launched, Reaper };
// How a found process ended, or did not (docs/runtime.md "Output", the
// `outcome | meaning` table).
enum class Outcome {
    NotSignalled,  // --dry-run
    Vanished,      // gone (or its pid reused) between the scan and the signal: nothing sent
    Terminated,    // exited within the grace period after SIGTERM
    Killed,        // needed SIGKILL
    Survived,      // still alive after SIGKILL (D state...) or the signal was refused
};

// One row of a name table: the enum value, its stable name, and one line
// saying what it means (the docs table's second column, for spare reasons and
// outcomes word for word without the Markdown backticks).
template <class E>
struct NameRow {
    E value;
    const char* name;
    const char* meaning;
};

inline constexpr NameRow<Tie> kTieNames[] = {
    {Tie::Argv, "argv", "an argv element names a path under the scope"},
    {Tie::Cwd, "cwd", "the working directory is under the scope"},
    {Tie::Exe, "exe", "the executable lies under the scope"},
    {Tie::Env, "env", "CORRAL_SCOPE=<token> or CORRAL_SCOPE=<a path under the scope>"},
    {Tie::Files, "files", "an open file descriptor points under the scope"},
};

inline constexpr NameRow<SpareReason> kSpareReasonNames[] = {
    {SpareReason::Self, "self", "the corral reap process (its own argv names the scope)"},
    {SpareReason::Ancestor, "ancestor",
     "every process from its parent up to the top (CTest, the shell whose command line names "
     "the scope)"},
    {SpareReason::Pid1, "pid-1", "init"},
    {SpareReason::KernelThread, "kernel-thread", "kernel threads"},
    {SpareReason::OtherUser, "other-user",
     "a process whose real uid differs from corral reap's real uid; killed only with "
     "--all-users (a warning on stderr names each one)"},
    {SpareReason::Launched, "launched",
     "a live corral run, and every process under it: that launcher ends its own test's processes "
     "when the test ends (another ctest run in the same scope, a test outside the cleanup fixture, "
     "or the test around a nested ctest). Not when the scope lies inside the reaper's own "
     "$CORRAL_SCOPE: a test reaping its own scope ends what it started"},
    {SpareReason::Reaper, "reaper",
     "another corral reap: it is ending the same processes (two ctest runs' cleanup fixtures)"},
};

inline constexpr NameRow<Outcome> kOutcomeNames[] = {
    {Outcome::Terminated, "terminated", "exited within the grace period after SIGTERM"},
    {Outcome::Killed, "killed", "needed SIGKILL"},
    {Outcome::Vanished, "vanished",
     "gone, or its pid reused, between scan and signal: nothing was sent"},
    {Outcome::Survived, "survived", "alive after SIGKILL, or the signal was refused"},
    {Outcome::NotSignalled, "not-signalled", "--dry-run: found, nothing sent"},
};

// The row of `value` in `table` (every enum value has one: the docs test checks).
template <class E, size_t N>
constexpr const NameRow<E>& name_row(const NameRow<E> (&table)[N], E value) {
    for (const auto& row : table)
        if (row.value == value) return row;
    return table[0];  // unreachable for a complete table
}

// "cwd", "other-user", "terminated", ...: the stable name.
constexpr const char* tie_name(Tie tie) {
    return name_row(kTieNames, tie).name;
}
constexpr const char* spare_reason_name(SpareReason reason) {
    return name_row(kSpareReasonNames, reason).name;
}
constexpr const char* outcome_name(Outcome outcome) {
    return name_row(kOutcomeNames, outcome).name;
}

// The tie named `name` ("argv", ...), or nullopt.
std::optional<Tie> parse_tie(std::string_view name);

// What ties a process to the scope. Each one can be switched on or off.
struct MatchSet {
    bool argv = true;    // an argv element names a path under the scope
    bool cwd = true;     // the working directory is under the scope
    bool exe = true;     // the executable lies under the scope
    bool files = false;  // an open file descriptor points under the scope (slower)
    bool env = true;     // CORRAL_SCOPE=<token> or CORRAL_SCOPE=<path under the scope>

    bool& operator[](Tie tie);
};

// Parses "argv,cwd,exe,files,env" (any subset, at least one; the names of
// kTieNames). Throws UsageError.
MatchSet parse_match_set(std::string_view list);

struct Scope {
    // The directory as given, made absolute and normalized (no trailing slash),
    // followed by its real path when that differs (symlinks resolved). Every
    // path test compares against each of them.
    std::vector<std::string> paths;
    std::optional<std::string> token;  // matches CORRAL_SCOPE=<token>
};

// Builds a Scope. `dir` may be empty when a token is given; relative paths are
// taken from the current directory; the directory need not exist any more.
// paths[0] is the lexically normal form; the real path (weakly_canonical of the
// path as given, so `..` after a symlink goes where the kernel goes) follows
// when it differs. Throws UsageError when there is no dir and no token.
Scope make_scope(const std::string& dir, std::optional<std::string> token);

// --- dedicated scopes only (docs/runtime.md "Dedicated scopes only") ---

// What the refusal rules need to know about this host; from_host() reads it.
struct HostDirs {
    std::vector<std::string> homes;    // passwd pw_dir (getpwent, getpwuid, getpwnam), $HOME
    std::vector<std::string> cwds;     // getcwd(), $PWD
    std::vector<std::string> tmpdirs;  // $TMPDIR
    unsigned uid = 0;                  // real uid: who must own a Corral-made scope
    std::string scratch_registry;      // the launchers' scratch registry (scratch_dir.hpp)
    // Reads the environment ($HOME, $PWD, $TMPDIR, $USER, $LOGNAME, $SUDO_USER),
    // passwd, the current directory and uid through `host`.
    static HostDirs from_host(const Host& host = live_host());
};

// Throws ScopeRefused, naming the path and the rule, unless every path of the
// scope is dedicated to tests. Always refused: "/". Refused unless `force`:
//  - an FHS system directory (FHS 3.0 ch. 3-5: /bin, /boot, /dev, /etc, /home,
//    /lib*, /media, /mnt, /opt, /proc, /root, /run, /sbin, /srv, /sys, /usr,
//    /var and their standard subdirectories), or anything under the trees that
//    hold the system's programs, libraries, configuration or kernel interfaces
//    (/proc, /sys, /dev except /dev/shm/..., /boot, /etc, /bin, /sbin, /lib*,
//    /usr/{bin,sbin,lib*,libexec,include,share}, /usr/local/{bin,sbin,lib});
//  - a shared temporary directory itself: /tmp, /var/tmp, /dev/shm, $TMPDIR;
//  - a home directory or a directory that contains one (host.homes);
//  - the current directory or one of its ancestors (host.cwds).
// Paths are compared after normalisation: lexically (`.`, `..`, `//`,
// trailing slashes) and with symlinks resolved, on both sides.
// A Corral-made scope (scope_marker::is_corral_made on its real path, owner
// host.uid) is always accepted, except "/".
void check_dedicated(const Scope& scope, const HostDirs& host, bool force);

// --- pure matching rules (unit-tested without processes) ---

// True if `path` (absolute) is the scope or lies under it, on path boundaries.
// A kernel " (deleted)" suffix (cwd/exe/fd of a removed file) is ignored.
bool path_in_scope(std::string_view path, const Scope& scope);

// True if one argv element ties the process to the scope:
//  - the element is an absolute path under the scope (lexically normalized), or
//  - the scope appears inside the element, preceded by one of  = , : ; ' " ( or
//    whitespace, and followed by the element's end, '/', or one of , : ; ' " ) or
//    whitespace (--data-dir=/s/001, file=/s/001/disk,if=virtio, sh -c 'cd /s/001 && ...').
bool argv_element_in_scope(std::string_view element, const Scope& scope);

// True if `name` (comm or argv[0] basename) matches the fnmatch glob.
bool name_matches_glob(std::string_view glob, const proc::ProcessInfo& info);

// --- the scan and the kill loop ---

struct Candidate {
    proc::ProcessInfo info;
    Tie matched_by = Tie::Argv;
    std::string match_detail;  // the argv element, path, or "CORRAL_SCOPE=..."
};

struct Spared {
    proc::ProcessInfo info;
    Tie matched_by = Tie::Argv;
    std::string match_detail;
    SpareReason reason = SpareReason::Self;
};

struct ScanResult {
    std::vector<Candidate> targets;
    std::vector<Spared> spared;
};

struct ScanOptions {
    Scope scope;
    MatchSet match;
    bool all_users = false;
    // The process table to scan: this machine, or a RecordedHost over a
    // recorded proc tree in tests (self and uid come from the host too).
    const Host* host = &live_host();
};

// One pass over /proc. Zombies are skipped (nothing to kill); processes that
// vanish mid-scan are skipped silently.
ScanResult scan(const ScanOptions& options);

struct Found {
    Candidate candidate;
    std::string kill_class;  // "order:<glob>", "default", "then:<glob>"
    int round = 0;           // the round that signalled it (1-based)
    Outcome outcome = Outcome::NotSignalled;
};

struct ReapOptions {
    ScanOptions scan;
    std::vector<std::string> order;  // globs, killed first, in this order
    std::vector<std::string> then;   // globs, killed last, in this order
    int grace_ms = 5000;
    int kill_wait_ms = 2000;
    int max_rounds = 20;
    bool dry_run = false;
    // Test hook: runs after each scan, before any pidfd is opened or signal sent.
    std::function<void(const std::vector<Found>& about_to_signal)> after_scan;
};

struct ReapReport {
    std::vector<std::string> scope_paths;
    std::optional<std::string> token;
    bool dry_run = false;
    int rounds = 0;  // scans that found something to signal
    std::vector<Found> found;
    std::vector<Spared> spared;        // each process once
    std::vector<Candidate> remaining;  // still in scope after the last round
    bool clean() const { return remaining.empty(); }
    bool any_survived() const;
};

// Scan, kill the first non-empty class (TERM+CONT, grace, KILL), rescan; until
// a scan finds nothing to signal or max_rounds kill steps were done. Killing
// one class per round means a pager is only signalled when a fresh scan shows
// no guest (and no unordered process) alive.
ReapReport reap(const ReapOptions& options);

nlohmann::json to_json(const ReapReport& report);
void describe(std::ostream& out, const ReapReport& report);

}  // namespace corral::reap
