// Over ~400 lines on purpose: this file is the one home of /proc/<pid>
// reading, pidfds, signals and the terminate sequence (HACKING.md, the
// layout table's `src/kernel/` row); split, one interface would have two homes.
#include "kernel/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "common/text.hpp"
#include "kernel/paths.hpp"

namespace corral::proc {
namespace {

std::optional<std::string> slurp(const Host& host, const std::string& path) {
    auto r = host.read_text(path);
    if (!r) return std::nullopt;
    return *r.value;
}

std::vector<std::string> split_nul(const std::string& s) {
    auto records = split_records(s, '\0');
    return {records.begin(), records.end()};
}

std::string base(pid_t pid) {
    return "/proc/" + std::to_string(pid);
}

}  // namespace

std::string ProcessInfo::command_line() const {
    if (argv.empty()) return "[" + comm + "]";
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        s += a;
    }
    return s;
}

std::vector<pid_t> list_pids(const Host& host) {
    std::vector<pid_t> pids;
    for (const auto& name : host.list_dir("/proc"))
        if (auto v = parse_u64(name); v && *v > 0) pids.push_back(static_cast<pid_t>(*v));
    std::sort(pids.begin(), pids.end());
    return pids;
}

std::optional<ProcessStat> read_stat(pid_t pid, const Host& host) {
    auto stat = slurp(host, base(pid) + "/stat");
    if (!stat) return std::nullopt;
    // comm may hold spaces and ')': it ends at the last ')'.
    auto open_paren = stat->find('(');
    auto close_paren = stat->rfind(')');
    if (open_paren == std::string::npos || close_paren == std::string::npos ||
        close_paren < open_paren || close_paren + 2 > stat->size())
        return std::nullopt;
    ProcessStat p;
    p.pid = pid;
    p.comm = stat->substr(open_paren + 1, close_paren - open_paren - 1);
    auto fields = split(std::string_view(*stat).substr(close_paren + 2), ' ');
    // fields[0] = state (field 3), [1] ppid, [2] pgrp, [3] session, [5] tpgid,
    // [6] flags (field 9), [19] starttime (field 22)
    if (fields.size() < 20 || fields[0].empty()) return std::nullopt;
    p.state = fields[0][0];
    auto ppid = parse_i64(fields[1]);
    auto pgid = parse_i64(fields[2]);
    auto sid = parse_i64(fields[3]);
    auto tpgid = parse_i64(fields[5]);
    auto flags = parse_u64(fields[6]);
    auto start = parse_u64(fields[19]);
    if (!ppid || !pgid || !sid || !tpgid || !flags || !start) return std::nullopt;
    p.ppid = static_cast<pid_t>(*ppid);
    p.pgid = static_cast<pid_t>(*pgid);
    p.sid = static_cast<pid_t>(*sid);
    p.tpgid = static_cast<pid_t>(*tpgid);
    p.start_time = *start;
    constexpr unsigned long long kPfKthread = 0x00200000;  // PF_KTHREAD
    p.kernel_thread = (*flags & kPfKthread) != 0;
    return p;
}

std::optional<ProcessInfo> read_process(pid_t pid, const Host& host) {
    auto st = read_stat(pid, host);
    if (!st) return std::nullopt;
    ProcessInfo p;
    static_cast<ProcessStat&>(p) = std::move(*st);

    if (auto status = slurp(host, base(pid) + "/status")) {
        for (auto line : split_lines(*status)) {
            if (line.substr(0, 4) == "Uid:") {
                auto rest = trim(line.substr(4));
                auto tab = rest.find_first_of(" \t");
                if (auto uid = parse_u64(rest.substr(0, tab))) p.uid = static_cast<uid_t>(*uid);
                break;
            }
        }
    } else {
        return std::nullopt;
    }
    if (auto cmdline = slurp(host, base(pid) + "/cmdline")) p.argv = split_nul(*cmdline);
    return p;
}

std::optional<std::string> read_cwd(pid_t pid, const Host& host) {
    return host.read_link(base(pid) + "/cwd");
}
std::optional<std::string> read_exe(pid_t pid, const Host& host) {
    return host.read_link(base(pid) + "/exe");
}

std::optional<std::vector<std::string>> read_environ(pid_t pid, const Host& host) {
    auto env = slurp(host, base(pid) + "/environ");
    if (!env) return std::nullopt;
    return split_nul(*env);
}

std::optional<std::vector<std::string>> read_open_files(pid_t pid, const Host& host) {
    auto dir = base(pid) + "/fd";
    if (!host.exists(dir)) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& name : host.list_dir(dir))
        if (auto t = host.read_link(dir + "/" + name); t && !t->empty() && (*t)[0] == '/')
            out.push_back(*t);
    return out;
}

std::vector<pid_t> children_of(pid_t pid, const Host& host) {
    std::set<pid_t> kids;
    bool have_children_file = false;
    auto taskdir = base(pid) + "/task";
    for (const auto& task : host.list_dir(taskdir)) {
        auto text = slurp(host, taskdir + "/" + task + "/children");
        if (!text) continue;
        have_children_file = true;
        for (auto tok : split(trim(*text), ' '))
            if (auto v = parse_u64(tok)) kids.insert(static_cast<pid_t>(*v));
    }
    if (!have_children_file) {
        for (pid_t p : list_pids(host))
            if (auto info = read_stat(p, host); info && info->ppid == pid) kids.insert(p);
    }
    return {kids.begin(), kids.end()};
}

std::set<pid_t> descendants(pid_t pid, const Host& host) {
    std::set<pid_t> out;
    std::vector<pid_t> frontier = children_of(pid, host);
    while (!frontier.empty()) {
        pid_t p = frontier.back();
        frontier.pop_back();
        if (p == pid || !out.insert(p).second) continue;
        for (pid_t c : children_of(p, host))
            frontier.push_back(c);
    }
    return out;
}

bool has_children() {
    siginfo_t info{};
    return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 || errno != ECHILD;
}

std::optional<uint64_t> read_resident_nonreclaimable(pid_t pid, const Host& host) {
    auto status = slurp(host, base(pid) + "/status");
    if (!status) return std::nullopt;
    std::optional<uint64_t> total;
    for (auto line : split_lines(*status)) {
        bool anon = line.substr(0, 8) == "RssAnon:";
        if (!anon && line.substr(0, 9) != "RssShmem:") continue;
        auto rest = trim(line.substr(anon ? 8 : 9));
        auto kib = parse_u64(rest.substr(0, rest.find_first_of(" \t")));
        if (kib) total = total.value_or(0) + *kib * 1024;
    }
    return total;
}

std::vector<ProcessStat> ancestors(pid_t pid, const Host& host, int max_depth,
                                   const std::function<bool(const ProcessStat&)>& stop) {
    std::vector<ProcessStat> out;
    auto self = read_stat(pid, host);
    pid_t p = self ? self->ppid : 0;
    std::set<pid_t> seen{pid};
    while (p > 0 && static_cast<int>(out.size()) < max_depth && seen.insert(p).second) {
        auto info = read_stat(p, host);
        if (!info) break;
        p = info->ppid;
        out.push_back(std::move(*info));
        if (stop && stop(out.back())) break;
    }
    return out;
}

std::optional<ProcessRef> ProcessRef::open(pid_t pid, unsigned long long expected_start_time) {
    int fd = open_pidfd(pid);
    if (fd < 0) return std::nullopt;  // ESRCH, or EMFILE/ENFILE
    auto info = read_stat(pid);
    if (!info || info->start_time != expected_start_time) {
        int why = !info && (errno == EMFILE || errno == ENFILE) ? errno : ESRCH;
        ::close(fd);
        errno = why;
        return std::nullopt;
    }
    return ProcessRef(fd, pid);
}

ProcessRef::ProcessRef(ProcessRef&& o) noexcept : fd_(o.fd_), pid_(o.pid_) {
    o.fd_ = -1;
}

ProcessRef& ProcessRef::operator=(ProcessRef&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        pid_ = o.pid_;
        o.fd_ = -1;
    }
    return *this;
}

ProcessRef::~ProcessRef() {
    if (fd_ >= 0) ::close(fd_);
}

bool ProcessRef::signal(int sig) const {
    return ::syscall(SYS_pidfd_send_signal, fd_, sig, nullptr, 0) == 0;
}

bool ProcessRef::alive() const {
    return !wait_exit(0);
}

bool ProcessRef::wait_exit(int timeout_ms) const {
    // A pidfd becomes readable when the process exits (zombie or reaped).
    struct pollfd p = {fd_, POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        deadline - std::chrono::steady_clock::now())
                                        .count());
        int r = ::poll(&p, 1, left < 0 ? 0 : left);
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

TerminateResult terminate(const std::vector<ProcessRef>& targets, int grace_ms, int kill_wait_ms) {
    using Clock = std::chrono::steady_clock;
    const size_t n = targets.size();
    TerminateResult r;
    r.ended.assign(n, Ended::Vanished);
    std::vector<bool> pending(n, false);  // signalled and not yet seen to exit
    auto wait_pending = [&](int budget_ms) {
        auto deadline = Clock::now() + std::chrono::milliseconds(budget_ms);
        for (size_t i = 0; i < n; ++i) {
            if (!pending[i]) continue;
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (targets[i].wait_exit(static_cast<int>(std::max<long long>(0, left.count()))))
                pending[i] = false;
        }
    };
    for (size_t i = 0; i < n; ++i) {
        if (targets[i].signal(SIGTERM)) {
            targets[i].signal(SIGCONT);  // a stopped process must run to act on SIGTERM
            pending[i] = true;
            r.ended[i] = Ended::Terminated;
        } else if (errno != ESRCH) {
            r.ended[i] = Ended::Survived;  // refused (EPERM): must not vanish from the result
        }
    }
    wait_pending(grace_ms);
    bool any_kill = false;
    for (size_t i = 0; i < n; ++i) {
        if (!pending[i]) continue;
        if (!targets[i].signal(SIGKILL) && errno == ESRCH) {
            pending[i] = false;  // exited just at the deadline
            continue;
        }
        r.ended[i] = Ended::Killed;
        any_kill = true;
    }
    if (any_kill) wait_pending(kill_wait_ms);
    for (size_t i = 0; i < n; ++i) {
        if (pending[i]) r.ended[i] = Ended::Survived;
        switch (r.ended[i]) {
            case Ended::Terminated:
                r.exited_on_term.push_back(targets[i].pid());
                break;
            case Ended::Killed:
                r.killed.push_back(targets[i].pid());
                break;
            case Ended::Survived:
                r.survived.push_back(targets[i].pid());
                break;
            case Ended::Vanished:
                break;
        }
    }
    return r;
}

TerminateResult terminate_all(const std::vector<Target>& targets, int grace_ms, int kill_wait_ms) {
    TerminateResult out;
    out.ended.assign(targets.size(), Ended::Vanished);
    std::vector<ProcessRef> held;
    std::vector<size_t> index;  // held[j] is targets[index[j]]
    auto end_held = [&] {
        if (held.empty()) return;
        auto r = terminate(held, grace_ms, kill_wait_ms);
        for (size_t j = 0; j < held.size(); ++j)
            out.ended[index[j]] = r.ended[j];
        auto append = [](std::vector<pid_t>& to, const std::vector<pid_t>& from) {
            to.insert(to.end(), from.begin(), from.end());
        };
        append(out.exited_on_term, r.exited_on_term);
        append(out.killed, r.killed);
        append(out.survived, r.survived);
        held.clear();  // their pidfds close
        index.clear();
    };
    for (size_t i = 0; i < targets.size(); ++i) {
        auto ref = ProcessRef::open(targets[i].pid, targets[i].start_time);
        if (!ref && (errno == EMFILE || errno == ENFILE) && !held.empty()) {
            end_held();
            ref = ProcessRef::open(targets[i].pid, targets[i].start_time);
        }
        if (!ref) {
            if (errno == EMFILE || errno == ENFILE) {
                out.ended[i] = Ended::Survived;  // alive as far as we know, and not ours to end
                out.survived.push_back(targets[i].pid);
            }
            continue;
        }
        held.push_back(std::move(*ref));
        index.push_back(i);
    }
    end_held();
    return out;
}

DescriptorBudget raise_descriptor_limit(rlim_t wanted, size_t min_free) {
    DescriptorBudget b;
    if (::getrlimit(RLIMIT_NOFILE, &b.before) != 0) {
        b.free = min_free;  // cannot tell: as before, go on
        return b;
    }
    b.soft = b.before.rlim_cur;
    if (b.soft >= wanted) {
        b.free = min_free;
        return b;
    }
    struct rlimit raised = b.before;
    raised.rlim_cur = std::min<rlim_t>(wanted, b.before.rlim_max);
    if (raised.rlim_cur > b.before.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
        b.raised = true;
        b.soft = raised.rlim_cur;
    }
    std::vector<int> taken;
    while (taken.size() < min_free) {
        int fd = ::open("/", O_PATH | O_CLOEXEC);
        if (fd < 0) break;
        taken.push_back(fd);
    }
    for (int fd : taken)
        ::close(fd);
    b.free = taken.size();
    return b;
}

std::string descriptor_shortage(const DescriptorBudget& b, size_t needed) {
    return "only " + std::to_string(b.free) + " descriptors are free (limit " +
           std::to_string(b.soft) + ", hard limit " + std::to_string(b.before.rlim_max) +
           ", the rest inherited open), below the " + std::to_string(needed);
}

bool signal_group(pid_t pgid, int sig) {
    return ::kill(-pgid, sig) == 0;
}
bool signal_own_group(int sig) {
    return ::kill(0, sig) == 0;
}
bool signal_self(int sig) {
    return ::kill(::getpid(), sig) == 0;
}
int open_pidfd(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::optional<uint64_t> own_pid_namespace() {
    struct stat st {};
    if (::stat(kpath::kSelfPidNamespace, &st) != 0) return std::nullopt;
    return static_cast<uint64_t>(st.st_ino);
}

bool reset_peak_rss() {
    int fd = ::open(kpath::kSelfClearRefs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n;
    do {
        n = ::write(fd, "5", 1);
    } while (n < 0 && errno == EINTR);
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return n == 1;
}

}  // namespace corral::proc
