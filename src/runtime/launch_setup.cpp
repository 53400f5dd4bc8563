// Before the test runs: options and plan into effective settings, the scratch
// root and its socket headroom, the signal mask, stale scratch of killed
// launchers, the test's environment; after it: the scratch directory's end.
#include "runtime/launch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "common/socket_path.hpp"
#include "common/text.hpp"
#include "runtime/scratch_retire.hpp"

extern char** environ;

namespace corral::launcher {

namespace {

std::optional<double> parse_positive_double(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(text.c_str(), &end);
    if (errno != 0 || end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0)
        return std::nullopt;
    return v;
}

}  // namespace

int Launch::prepare() {
    rec_.command = o_.command;
    std::error_code cwd_error;
    rec_.working_directory = std::filesystem::current_path(cwd_error).string();
    // The run id is a walk up the process tree (launch_ancestry.hpp), read now
    // while ctest is still our parent, and only for the record that carries it.
    if (o_.records_file || o_.json) rec_.run_id = ancestry_.run_id();
    if (!o_.name.empty()) {
        rec_.name = o_.name;
    } else {
        auto slash = o_.command[0].rfind('/');
        rec_.name = slash == std::string::npos ? o_.command[0] : o_.command[0].substr(slash + 1);
    }

    PlanHints plan;
    if (o_.plan_file) {
        try {
            plan = load_plan_hints(*o_.plan_file);
        } catch (const std::exception& e) {
            return fail(std::string("--plan: ") + e.what());
        }
    }
    try {
        rec_.resources = parse_ctest_resources([](const std::string& name) {
            const char* v = std::getenv(name.c_str());
            return v ? std::optional<std::string>(v) : std::nullopt;
        });
    } catch (const std::exception& e) {
        return fail(std::string("cannot read the resources CTest granted: ") + e.what());
    }
    translation_ = translate_grants(rec_.resources, plan.heavy_io_paths, &plan.gpu_handles);
    for (const auto& note : translation_.notes)
        say(note);

    if (o_.timeout_multiplier) {
        multiplier_ = *o_.timeout_multiplier;
    } else if (plan.timeout_multiplier) {
        multiplier_ = *plan.timeout_multiplier;
    } else if (const char* m = std::getenv("CORRAL_TIMEOUT_MULTIPLIER"); m && *m) {
        auto v = parse_positive_double(m);
        if (!v)
            return fail(std::string("CORRAL_TIMEOUT_MULTIPLIER='") + m +
                        "': expected a positive number such as 1 or 2.5");
        multiplier_ = *v;
    }
    if (!(multiplier_ > 0) || !std::isfinite(multiplier_))
        return fail("the timeout multiplier must be a positive number, got " +
                    human_number(multiplier_));
    if (o_.timeout_seconds) {
        if (!(*o_.timeout_seconds > 0))
            return fail("--timeout must be positive seconds, got " +
                        human_number(*o_.timeout_seconds));
        // Deadlines are steady_clock time points in nanoseconds (int64: at
        // most ~292 years): a longer timeout is a timeout that never fires,
        // and overflowed into one that fired at once (--timeout 9.3e9).
        constexpr double kNeverSeconds = 1e8;  // ~3 years
        timeout_ = std::min(*o_.timeout_seconds * multiplier_, kNeverSeconds);
        rec_.timeout_seconds = *timeout_;
    }
    if (o_.grace_seconds < 0) return fail("--grace must be >= 0 seconds");

    bool from_tmpdir = false;
    if (translation_.scratch_root) {
        scratch_root_ = *translation_.scratch_root;
    } else if (o_.scratch_root) {
        scratch_root_ = *o_.scratch_root;
    } else if (plan.scratch_dir) {
        scratch_root_ = *plan.scratch_dir;
    } else if (const char* t = std::getenv("TMPDIR"); t && *t) {
        scratch_root_ = t;
        from_tmpdir = true;
        scratch_root_from_tmpdir_ = true;
    } else {
        scratch_root_ = "/tmp";
    }
    // TMPDIR must stay valid after the test changes directory.
    std::error_code ec;
    auto absolute = std::filesystem::absolute(scratch_root_, ec);
    if (ec) return fail("scratch root '" + scratch_root_ + "': " + ec.message());
    scratch_root_ = absolute.lexically_normal().string();
    while (scratch_root_.size() > 1 && scratch_root_.back() == '/')
        scratch_root_.pop_back();
    return check_socket_headroom(from_tmpdir);
}

// The planner's rule (common/socket_path.hpp, policy scratch.socket_headroom):
// the root must leave `needed` bytes under the 108-byte sun_path, which covers
// the "/c-<id>" added here plus a socket name. A root that only came from
// $TMPDIR is replaced by /tmp when /tmp fits; a root chosen on purpose is kept,
// with a warning.
int Launch::check_socket_headroom(bool from_tmpdir) {
    int needed = kDefaultSocketHeadroom;
    if (const char* h = std::getenv("CORRAL_SOCKET_HEADROOM"); h && *h) {
        auto v = parse_u64(trim(h));
        if (!v || *v > static_cast<uint64_t>(kSunPathBytes - 1))
            return fail(std::string("CORRAL_SOCKET_HEADROOM='") + h +
                        "': expected a whole number of bytes from 0 to 107");
        needed = static_cast<int>(*v);
    }
    int room = socket_headroom(scratch_root_);
    if (room >= needed) return 0;
    std::string what = "scratch root " + scratch_root_ + " leaves " + std::to_string(room) +
                       " bytes for AF_UNIX socket names (108-byte sun_path, unix(7)); " +
                       std::to_string(needed) +
                       " needed (scratch.socket_headroom / CORRAL_SOCKET_HEADROOM)";
    struct stat st {};
    if (from_tmpdir && socket_headroom("/tmp") >= needed && ::stat("/tmp", &st) == 0 &&
        S_ISDIR(st.st_mode) && ::access("/tmp", W_OK | X_OK) == 0) {
        say("$TMPDIR: " + what +
            "; the test's scratch directory goes under /tmp instead "
            "(--scratch-root DIR insists on a root)");
        scratch_root_ = "/tmp";
    } else {
        say("WARNING: " + what + ": sockets the test creates in its $TMPDIR may not fit");
    }
    return 0;
}

// Blocks the signals the wait loop reads from a signalfd (and SIGTTOU, so
// tcsetpgrp() from a background group proceeds), ignores SIGPIPE. The test
// gets the original mask and SIGPIPE disposition back before exec.
int Launch::block_signals() {
    sigset_t handled;
    sigemptyset(&handled);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGTSTP})
        sigaddset(&handled, s);
    sigset_t blocked = handled;
    sigaddset(&blocked, SIGTTOU);
    if (::sigprocmask(SIG_BLOCK, &blocked, &old_mask_) != 0)
        return fail(std::string("sigprocmask: ") + std::strerror(errno));
    sigfd_ = ::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd_ < 0) return fail(std::string("signalfd: ") + std::strerror(errno));
    return 0;
}

// The launcher's own descriptors: stdio, the signalfd, the pidfd, one per
// process it ends (proc::terminate holds a pidfd each), the /proc walks and
// the records file. Under `ulimit -n 8` it ran out (EMFILE): its timeout and
// leak sweep saw no process and it waited for the test forever. The soft
// limit may be raised up to the hard one without privilege (getrlimit(2));
// the test gets the limit the launcher was started with back before exec
// (start_test). Fewer than kMinDescriptors free even then (the limit less
// those inherited open): refused (125), nothing run.
int Launch::raise_descriptor_limit() {
    constexpr rlim_t kWanted = 256;
    constexpr size_t kMinDescriptors = 16;
    auto b = proc::raise_descriptor_limit(kWanted, kMinDescriptors);
    if (b.raised) test_nofile_ = b.before;  // the test gets its own limit back
    if (b.free < kMinDescriptors)
        return fail(proc::descriptor_shortage(b, kMinDescriptors) +
                    " the launcher needs to watch and end the test; close inherited descriptors "
                    "or raise the limit, and set a lower one inside the test's command (corral "
                    "run -- sh -c 'ulimit -n N; exec ...')");
    return 0;
}

// Scratch directories retired by earlier tests under our root
// (scratch_retire.hpp), and those of launchers killed outright (their owner
// entry names a process that is gone: end what still runs with their test id,
// stale_test_processes, sparing our own line), removed. Runs while our test
// starts. The retired ones are removed only once it has run kRetireDelayMs
// (tend_pools_while_running), but for a backlog. A failure is said and
// the run goes on.
void Launch::sweep_stale() {
    if (!scratch_.root.empty()) {
        // A backlog is trimmed to one less than it, by at most one more than
        // this launch retires (so it shrinks), and never walked.
        auto trim = scratch::remove_retired(scratch_.root, 2, nullptr, /*walk=*/false,
                                            /*keep=*/kRetiredBacklog - 1);
        say_retired(trim);
        // Retired ones to remove, spares to make (kSparesPerLaunch): done
        // once the test has run kRetireDelayMs, if it still runs.
        retire_at_ = started_ + std::chrono::milliseconds(kRetireDelayMs);
    }
    if (registry_.empty()) return;
    try {
        for (auto& e : scratch::claim_stale(registry_, scratch_.id)) {
            std::vector<proc::Target> stale;
            for (const auto& p : stale_test_processes(e.id, ancestry_.own_line()))
                stale.push_back({p.pid, p.start_time});
            auto ended = proc::terminate_all(stale, ms_of(o_.grace_seconds));
            size_t held = static_cast<size_t>(
                std::count_if(ended.ended.begin(), ended.ended.end(),
                              [](proc::Ended x) { return x != proc::Ended::Vanished; }));
            struct stat st {};
            if (::lstat(e.path.c_str(), &st) == 0) {
                // A directory, or the symlink or file its test put in its place
                // (removed as itself, never followed).
                auto tree = scratch::walk(e.path, true);
                say(std::string(tree.removed ? "removed" : "could not remove") + " the scratch " +
                    (tree.replaced_by.empty() ? "directory"
                                              : "path (" + tree.replaced_by + ", not followed)") +
                    " of a launcher that was killed outright (pid " + std::to_string(e.pid) +
                    "): " + e.path +
                    (held == 0 ? "" : "; ended " + std::to_string(held) + " process(es)"));
                for (const auto& m : tree.skipped_mounts)
                    say(std::string("WARNING: left a mount ") +
                        (m == e.path ? "on it" : "inside it") + " alone: " + m + " (unmount it)");
                for (const auto& err : tree.errors)
                    say("WARNING: scratch cleanup: " + err);
            }
            scratch::release_claim(e);
        }
    } catch (const std::exception& e) {
        say(std::string("WARNING: scratch registry ") + registry_ + ": " + e.what() +
            ": scratch of a launcher killed outright is not swept");
    }
}

// Spares made, then retired directories removed, one at a time (a
// written-into one 64 entries at a time), while the test runs, no signal it
// would be told of waits and its timeout is not due (wait_for_main acts on
// them). A child's SIGCHLD does not stop it.
void Launch::tend_pools_while_running() {
    auto deadline = timeout_deadline();
    auto go_on = [&] {
        struct pollfd ended = {pidfd_, POLLIN, 0};
        if (::poll(&ended, 1, 0) != 0) return false;
        sigset_t pending;
        if (::sigpending(&pending) != 0) return false;
        for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP})
            if (sigismember(&pending, sig)) return false;
        auto now = Clock::now();
        return (!deadline || now < *deadline) && (!stop_deadline_ || now < *stop_deadline_);
    };
    // Spares first: a later test's start waits for a mkdir without one.
    scratch::make_spares(scratch_.root, kSparesPerLaunch, go_on);
    say_retired(scratch::remove_retired(scratch_.root, kRetiredPerLaunch, go_on));
}

void Launch::say_retired(const scratch::RetiredRemoval& r) {
    for (const auto& m : r.skipped_mounts)
        say("WARNING: left a mount in a retired scratch directory alone: " + m + " (unmount it)");
    for (const auto& e : r.errors)
        say("WARNING: retired scratch cleanup: " + e);
}

std::vector<std::string> Launch::child_environment() const {
    std::string multiplier = human_number(multiplier_);
    std::vector<std::pair<std::string_view, std::string_view>> set = {
        {"TMPDIR", scratch_.path},
        {"TMP", scratch_.path},
        {"TEMP", scratch_.path},
        {"CORRAL_TEST_ID", scratch_.id},
        {"CORRAL_TEST_NAME", rec_.name},
        {"CORRAL_SCOPE", scratch_.path},
        {"CORRAL_SCRATCH_DIR", scratch_.path},
        {"CORRAL_TIMEOUT_MULTIPLIER", multiplier},
    };
    for (const auto& [name, value] : translation_.env)
        set.emplace_back(name, value);
    // Ours replace inherited ones of the same name. A handful of names against
    // each inherited one, compared in place: no set, no copy of a name (a
    // std::set<std::string> here was a tenth of a launch's instructions).
    auto ours = [&](std::string_view name) {
        return std::any_of(set.begin(), set.end(),
                           [&](const auto& kv) { return kv.first == name; });
    };
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string_view::npos && ours(entry.substr(0, eq))) continue;
        env.emplace_back(entry);
    }
    for (const auto& [name, value] : set) {
        std::string line;
        line.reserve(name.size() + 1 + value.size());
        env.push_back(line.append(name).append(1, '=').append(value));
    }
    return env;
}

// Removes the scratch directory, or keeps it as evidence of a failure (bounded
// in count and bytes through the registry, oldest removed first).
void Launch::end_scratch(int code) {
    if (scratch_.path.empty()) return;
    // A cancelled run is not a failure; a test that never ran (not found, not
    // executable) left no evidence to keep.
    bool failed = code != 0 && !parent_died_ && !never_ran_;
    bool keep = !never_ran_ && (o_.keep_scratch == KeepScratch::Always ||
                                (failed && o_.keep_scratch == KeepScratch::Failed));
    auto report = [&](const scratch::TreeResult& tree) {
        for (const auto& m : tree.skipped_mounts)
            say(std::string("WARNING: left a mount ") +
                (m == scratch_.path ? "on the scratch directory itself"
                                    : "inside the scratch directory") +
                " alone: " + m + " (unmount it in the test)");
        for (const auto& e : tree.errors)
            say("WARNING: scratch cleanup: " + e);
    };
    // An emptied scratch directory is retired, removed while a later test runs
    // (scratch_retire.hpp): as removed, 0 bytes. Anything else is walked
    // (measured, removed or kept).
    scratch::TreeResult tree;
    tree.removed = !keep && scratch::retire(scratch_);
    if (!tree.removed) tree = scratch::walk(scratch_.path, !keep);
    rec_.scratch_bytes = tree.bytes;
    if (tree.gone) {
        if (keep) say("the test removed its scratch directory itself: nothing to keep");
        keep = false;
    } else if (!tree.replaced_by.empty()) {
        // Not a directory any more: nothing of the test's files to keep.
        if (keep) tree = scratch::walk(scratch_.path, true);
        say("the test replaced its scratch directory with " + tree.replaced_by + ": " +
            scratch_.path + (tree.removed ? "; removed it (not followed)" : ""));
        keep = false;
    } else if (keep && tree.bytes > o_.keep_scratch_bytes) {
        say("the scratch directory (" + human_bytes(tree.bytes) +
            ") is larger than --keep-scratch-size (" + human_bytes(o_.keep_scratch_bytes) +
            "); removed it");
        keep = false;
        tree = scratch::walk(scratch_.path, true);
    }
    report(tree);
    if (keep) {
        std::string bounds;
        if (!registry_.empty()) {
            try {
                auto k = scratch::keep(registry_, scratch_, tree.bytes, o_.keep_scratch_count,
                                       o_.keep_scratch_bytes);
                for (const auto& old : k.removed)
                    say("removed an older kept scratch directory: " + old);
                bounds = " (" + std::to_string(k.kept_count) + " kept, " +
                         human_bytes(k.kept_bytes) + "; at most " +
                         std::to_string(o_.keep_scratch_count) + " and " +
                         human_bytes(o_.keep_scratch_bytes) + ", oldest removed first)";
            } catch (const std::exception& e) {
                say(std::string("WARNING: cannot register the kept scratch directory: ") +
                    e.what());
            }
        }
        say(std::string("kept the scratch directory of the ") + (failed ? "failed" : "finished") +
            " test: " + scratch_.path + bounds);
    }
    rec_.scratch_kept = keep;
    if (!registry_.empty()) scratch::remove_owner(registry_, scratch_.id);
}

}  // namespace corral::launcher
