#include "runtime/reaper.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "common/text.hpp"

namespace corral::reap {
namespace {

constexpr std::string_view kTokenVariable = "CORRAL_SCOPE=";

struct Match {
    Tie by;
    std::string detail;
};

std::optional<Match> match_process(const proc::ProcessInfo& info, const ScanOptions& options) {
    const auto& scope = options.scope;
    const bool have_paths = !scope.paths.empty();
    if (have_paths && options.match.argv) {
        for (const auto& a : info.argv)
            if (argv_element_in_scope(a, scope)) return Match{Tie::Argv, a};
    }
    if (info.kernel_thread) return std::nullopt;  // no cwd/exe/env of its own
    if (have_paths && options.match.cwd) {
        if (auto cwd = proc::read_cwd(info.pid, *options.host); cwd && path_in_scope(*cwd, scope))
            return Match{Tie::Cwd, *cwd};
    }
    if (have_paths && options.match.exe) {
        if (auto exe = proc::read_exe(info.pid, *options.host); exe && path_in_scope(*exe, scope))
            return Match{Tie::Exe, *exe};
    }
    // CORRAL_SCOPE=<token>, or CORRAL_SCOPE=<a path under the scope>: `corral
    // run` exports its scratch directory there, which lies under the scope the
    // cleanup fixture reaps, so a test process that left its cwd is still found.
    if (options.match.env && (scope.token || have_paths)) {
        if (auto env = proc::read_environ(info.pid, *options.host)) {
            for (const auto& e : *env) {
                if (e.compare(0, kTokenVariable.size(), kTokenVariable) != 0) continue;
                std::string_view value = std::string_view(e).substr(kTokenVariable.size());
                if ((scope.token && value == *scope.token) ||
                    (have_paths && !value.empty() && value.front() == '/' &&
                     path_in_scope(value, scope)))
                    return Match{Tie::Env, e};
            }
        }
    }
    if (have_paths && options.match.files) {
        if (auto files = proc::read_open_files(info.pid, *options.host)) {
            for (const auto& f : *files)
                if (path_in_scope(f, scope)) return Match{Tie::Files, f};
        }
    }
    return std::nullopt;
}

// The chain of parents from ours up to (not including) pid 0.
std::set<pid_t> ancestors_of(pid_t self, const Host& host) {
    std::set<pid_t> out;
    for (const auto& p : proc::ancestors(self, host))
        out.insert(p.pid);
    return out;
}

// Index of the kill class: order globs 0..n-1, default n, then globs n+1.. .
size_t class_index(const proc::ProcessInfo& info, const ReapOptions& options) {
    for (size_t i = 0; i < options.order.size(); ++i)
        if (name_matches_glob(options.order[i], info)) return i;
    for (size_t j = 0; j < options.then.size(); ++j)
        if (name_matches_glob(options.then[j], info)) return options.order.size() + 1 + j;
    return options.order.size();
}

std::string class_name(size_t index, const ReapOptions& options) {
    if (index < options.order.size()) return "order:" + options.order[index];
    if (index == options.order.size()) return "default";
    return "then:" + options.then[index - options.order.size() - 1];
}

// The one terminate sequence (kernel/process.hpp) for one class. Signals go
// only through pidfds opened with the scanned start time, so a pid that was
// reused after the scan is reported Vanished and never signalled.
void kill_class(std::vector<Found*>& batch, const ReapOptions& options) {
    std::vector<proc::Target> targets;
    for (const auto* f : batch)
        targets.push_back({f->candidate.info.pid, f->candidate.info.start_time});
    auto result = proc::terminate_all(targets, options.grace_ms, options.kill_wait_ms);
    for (size_t i = 0; i < batch.size(); ++i) {
        // proc::Ended and Outcome name the same four ends, in the same order.
        static constexpr Outcome kOutcome[] = {Outcome::Vanished, Outcome::Terminated,
                                               Outcome::Killed, Outcome::Survived};
        batch[i]->outcome = kOutcome[static_cast<int>(result.ended[i])];
    }
}

void add_spared(std::vector<Spared>& all, std::set<std::pair<pid_t, unsigned long long>>& seen,
                const std::vector<Spared>& more) {
    for (const auto& s : more)
        if (seen.emplace(s.info.pid, s.info.start_time).second) all.push_back(s);
}

// The file name of an executable path ("/usr/bin/corral (deleted)" -> "corral").
std::string_view exe_name(std::string_view path) {
    constexpr std::string_view kDeleted = " (deleted)";
    if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted)
        path.remove_suffix(kDeleted.size());
    if (auto slash = path.rfind('/'); slash != std::string_view::npos)
        path.remove_prefix(slash + 1);
    return path;
}

// A corral process running `command` ("run", "reap"): argv[1] names the
// command and the executable (its exe link, which a process cannot rewrite as
// it can its argv) is named "corral" or as the reaper's own (an installed copy
// under another name).
bool is_corral(const proc::ProcessInfo& info, std::string_view command, std::string_view own_name,
               const Host& host) {
    if (info.argv.size() < 2 || info.argv[1] != command) return false;
    auto exe = proc::read_exe(info.pid, host);
    if (!exe) return false;
    const auto name = exe_name(*exe);
    return name == "corral" || (!own_name.empty() && name == own_name);
}

// The live launchers: each ends its own test's processes when the test ends
// (runtime.md "Never touched", `launched`), so what runs under one belongs to
// a test still running — of another ctest run in the same scope, of this
// run's tests outside the fixture, or the test around a nested ctest.
struct OtherLaunchers {
    std::map<pid_t, pid_t> parent;  // pid -> ppid, every live process scanned
    std::set<pid_t> launchers;

    // `pid` itself or the nearest of its ancestors that is such a launcher.
    std::optional<pid_t> owner_of(pid_t pid) const {
        for (int depth = 0; pid > 1 && depth < 4096; ++depth) {
            if (launchers.count(pid)) return pid;
            auto it = parent.find(pid);
            if (it == parent.end()) return std::nullopt;
            pid = it->second;
        }
        return std::nullopt;
    }
};

}  // namespace

ScanResult scan(const ScanOptions& options) {
    ScanResult result;
    const Host& host = *options.host;
    const pid_t self = host.self_pid();
    const uid_t me = host.uid();
    const auto ancestors = ancestors_of(self, host);
    // The whole table first: whether a process runs under a live launcher
    // depends on processes the pid order puts after it.
    std::vector<proc::ProcessInfo> table;
    for (pid_t pid : proc::list_pids(host)) {
        auto info = proc::read_process(pid, host);
        if (!info) continue;                                     // vanished mid-scan
        if (info->state == 'Z' || info->state == 'X') continue;  // nothing left to kill
        table.push_back(std::move(*info));
    }
    const auto own_exe = proc::read_exe(self, host);
    const std::string own_name(own_exe ? exe_name(*own_exe) : std::string_view());
    OtherLaunchers others;
    for (const auto& info : table)
        others.parent[info.pid] = info.ppid;
    // A test reaping its own scope ($CORRAL_SCOPE, its scratch directory, or
    // inside it) ends what it started: its own launcher does not shelter it.
    bool reaps_own_scope = false;
    if (const auto own = host.env("CORRAL_SCOPE");
        own && !own->empty() && own->front() == '/' && !options.scope.paths.empty()) {
        const Scope own_scope = make_scope(*own, std::nullopt);
        reaps_own_scope = path_in_scope(options.scope.paths.front(), own_scope);
    }
    for (const auto& info : table)
        if (info.pid != self && (!reaps_own_scope || !ancestors.count(info.pid)) &&
            is_corral(info, "run", own_name, host))
            others.launchers.insert(info.pid);
    for (auto& info : table) {
        auto match = match_process(info, options);
        if (!match) continue;
        std::optional<SpareReason> reason;
        const pid_t pid = info.pid;
        if (pid == self)
            reason = SpareReason::Self;
        else if (ancestors.count(pid))
            reason = SpareReason::Ancestor;
        else if (pid == 1)
            reason = SpareReason::Pid1;
        else if (info.kernel_thread)
            reason = SpareReason::KernelThread;
        else if (!options.all_users && info.uid != me)
            reason = SpareReason::OtherUser;
        else if (others.owner_of(pid))
            reason = SpareReason::Launched;
        else if (is_corral(info, "reap", own_name, host))
            reason = SpareReason::Reaper;
        if (reason)
            result.spared.push_back(
                Spared{std::move(info), match->by, std::move(match->detail), *reason});
        else
            result.targets.push_back(
                Candidate{std::move(info), match->by, std::move(match->detail)});
    }
    return result;
}

bool ReapReport::any_survived() const {
    return std::any_of(found.begin(), found.end(),
                       [](const Found& f) { return f.outcome == Outcome::Survived; });
}

ReapReport reap(const ReapOptions& options) {
    for (const auto& g : options.order)
        if (g.empty()) throw UsageError("--order: empty name pattern");
    for (const auto& g : options.then)
        if (g.empty()) throw UsageError("--then: empty name pattern");
    if (options.max_rounds < 1) throw UsageError("--max-rounds: must be at least 1");
    if (options.grace_ms < 0) throw UsageError("--grace: must not be negative");
    for (const auto& p : options.scan.scope.paths)
        if (p == "/") throw ScopeRefused("--scope /: the root directory would tie every process");

    ReapReport report;
    report.scope_paths = options.scan.scope.paths;
    report.token = options.scan.scope.token;
    report.dry_run = options.dry_run;
    std::set<std::pair<pid_t, unsigned long long>> spared_seen;

    auto scanned = scan(options.scan);
    add_spared(report.spared, spared_seen, scanned.spared);
    if (options.dry_run) {
        for (auto& c : scanned.targets) {
            Found f{c, class_name(class_index(c.info, options), options), 0, Outcome::NotSignalled};
            report.found.push_back(std::move(f));
        }
        report.remaining = std::move(scanned.targets);
        return report;
    }
    // A process that survived SIGKILL (D state) or refused the signal is not
    // retried: it stays in `remaining` and the report says NOT CLEAN.
    std::set<std::pair<pid_t, unsigned long long>> given_up;
    auto signallable = [&](const Candidate& c) {
        return given_up.count({c.info.pid, c.info.start_time}) == 0;
    };
    while (report.rounds < options.max_rounds &&
           std::any_of(scanned.targets.begin(), scanned.targets.end(), signallable)) {
        ++report.rounds;
        // Only the first non-empty class is signalled this round.
        size_t first = SIZE_MAX;
        for (const auto& c : scanned.targets)
            if (signallable(c)) first = std::min(first, class_index(c.info, options));
        std::vector<Found> step;
        for (auto& c : scanned.targets)
            if (signallable(c) && class_index(c.info, options) == first)
                step.push_back(
                    Found{c, class_name(first, options), report.rounds, Outcome::NotSignalled});
        if (options.after_scan) options.after_scan(step);
        std::vector<Found*> batch;
        for (auto& f : step)
            batch.push_back(&f);
        kill_class(batch, options);
        for (auto& f : step) {
            if (f.outcome == Outcome::Survived)
                given_up.emplace(f.candidate.info.pid, f.candidate.info.start_time);
            report.found.push_back(std::move(f));
        }
        scanned = scan(options.scan);
        add_spared(report.spared, spared_seen, scanned.spared);
    }
    report.remaining = std::move(scanned.targets);
    return report;
}

namespace {

nlohmann::json process_json(const proc::ProcessInfo& info, Tie by, const std::string& detail) {
    return {{"pid", info.pid},
            {"ppid", info.ppid},
            {"uid", info.uid},
            {"start_time", info.start_time},
            {"comm", info.comm},
            {"command_line", info.command_line()},
            {"matched_by", tie_name(by)},
            {"match_detail", detail}};
}

}  // namespace

nlohmann::json to_json(const ReapReport& report) {
    nlohmann::json j;
    j["schema"] = "corral.reap/1";
    j["scope"] = report.scope_paths;
    j["token"] = report.token ? nlohmann::json(*report.token) : nlohmann::json(nullptr);
    j["dry_run"] = report.dry_run;
    j["rounds"] = report.rounds;
    j["clean"] = report.clean();
    auto& found = j["found"] = nlohmann::json::array();
    auto& killed = j["killed"] = nlohmann::json::array();
    nlohmann::json summary = {{"found", report.found.size()},
                              {"terminated", 0},
                              {"killed", 0},
                              {"vanished", 0},
                              {"survived", 0},
                              {"spared", 0},
                              {"remaining", report.remaining.size()}};
    for (const auto& f : report.found) {
        auto p = process_json(f.candidate.info, f.candidate.matched_by, f.candidate.match_detail);
        p["class"] = f.kill_class;
        p["round"] = f.round;
        p["outcome"] = outcome_name(f.outcome);
        found.push_back(std::move(p));
        if (f.outcome == Outcome::Terminated || f.outcome == Outcome::Killed)
            killed.push_back(f.candidate.info.pid);
        if (f.outcome != Outcome::NotSignalled)
            summary[outcome_name(f.outcome)] = summary[outcome_name(f.outcome)].get<int>() + 1;
    }
    auto& spared = j["spared"] = nlohmann::json::array();
    for (const auto& s : report.spared) {
        auto p = process_json(s.info, s.matched_by, s.match_detail);
        p["reason"] = spare_reason_name(s.reason);
        spared.push_back(std::move(p));
    }
    summary["spared"] = report.spared.size();
    auto& remaining = j["remaining"] = nlohmann::json::array();
    for (const auto& c : report.remaining)
        remaining.push_back(process_json(c.info, c.matched_by, c.match_detail));
    j["summary"] = std::move(summary);
    return j;
}

void describe(std::ostream& out, const ReapReport& report) {
    out << "corral reap: scope";
    if (report.scope_paths.empty()) out << " (none)";
    for (size_t i = 0; i < report.scope_paths.size(); ++i)
        out << (i == 0 ? " " : " (real path ") << report.scope_paths[i] << (i == 0 ? "" : ")");
    if (report.token) out << ", token " << *report.token;
    out << (report.dry_run ? "  [dry run: nothing is signalled]\n" : "\n");
    for (const auto& f : report.found) {
        out << "  " << outcome_name(f.outcome) << "  pid " << f.candidate.info.pid;
        if (!report.dry_run) out << "  round " << f.round;
        out << "  [" << f.kill_class << "]  " << f.candidate.info.command_line() << "\n"
            << "      tied by " << tie_name(f.candidate.matched_by) << ": "
            << f.candidate.match_detail << "\n";
    }
    // corral reap always matches its own --scope argument: listed in JSON only.
    size_t spared_shown = 0;
    for (const auto& s : report.spared) {
        if (s.reason == SpareReason::Self) continue;
        ++spared_shown;
        out << "  spared (" << spare_reason_name(s.reason) << ")  pid " << s.info.pid << "  uid "
            << s.info.uid << "  " << s.info.command_line() << "\n      tied by "
            << tie_name(s.matched_by) << ": " << s.match_detail << "\n";
    }
    size_t terminated = 0, killed = 0, vanished = 0, survived = 0;
    for (const auto& f : report.found) {
        terminated += f.outcome == Outcome::Terminated;
        killed += f.outcome == Outcome::Killed;
        vanished += f.outcome == Outcome::Vanished;
        survived += f.outcome == Outcome::Survived;
    }
    if (report.dry_run) {
        out << "would signal " << report.found.size() << " process(es); spared " << spared_shown
            << "\n";
        return;
    }
    if (report.found.empty() && report.remaining.empty()) {
        out << "clean: nothing in scope (spared " << spared_shown << ")\n";
        return;
    }
    out << (report.clean() && survived == 0 ? "clean" : "NOT CLEAN") << " after " << report.rounds
        << " round(s): " << report.found.size() << " found, " << terminated << " ended on SIGTERM, "
        << killed << " needed SIGKILL, " << vanished << " already gone, " << survived
        << " survived; spared " << spared_shown << "\n";
    for (const auto& c : report.remaining)
        out << "  STILL RUNNING  pid " << c.info.pid << "  " << c.info.command_line()
            << "  (tied by " << tie_name(c.matched_by) << ": " << c.match_detail << ")\n";
}

}  // namespace corral::reap
