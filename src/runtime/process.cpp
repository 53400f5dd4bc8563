#include "runtime/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "common/text.hpp"

namespace corral::proc {
namespace {

std::optional<std::string> slurp(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

std::vector<std::string> split_nul(const std::string& s) {
    auto records = split_records(s, '\0');
    return {records.begin(), records.end()};
}

std::optional<std::string> link_target(const std::string& path) {
    std::string buf(4096, '\0');
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
}

std::string base(pid_t pid) {
    return "/proc/" + std::to_string(pid);
}

int pidfd_open(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
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

std::vector<pid_t> list_pids() {
    std::vector<pid_t> pids;
    DIR* d = ::opendir("/proc");
    if (!d) return pids;
    while (auto* e = ::readdir(d)) {
        if (auto v = parse_u64(e->d_name); v && *v > 0) pids.push_back(static_cast<pid_t>(*v));
    }
    ::closedir(d);
    std::sort(pids.begin(), pids.end());
    return pids;
}

std::optional<ProcessInfo> read_process(pid_t pid) {
    auto stat = slurp(base(pid) + "/stat");
    if (!stat) return std::nullopt;
    // comm may hold spaces and ')': it ends at the last ')'.
    auto open_paren = stat->find('(');
    auto close_paren = stat->rfind(')');
    if (open_paren == std::string::npos || close_paren == std::string::npos ||
        close_paren < open_paren)
        return std::nullopt;
    ProcessInfo p;
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
    auto flags = parse_u64(fields[6]);
    auto start = parse_u64(fields[19]);
    if (!ppid || !pgid || !sid || !flags || !start) return std::nullopt;
    p.ppid = static_cast<pid_t>(*ppid);
    p.pgid = static_cast<pid_t>(*pgid);
    p.sid = static_cast<pid_t>(*sid);
    p.start_time = *start;
    constexpr unsigned long long kPfKthread = 0x00200000;  // PF_KTHREAD
    p.kernel_thread = (*flags & kPfKthread) != 0;

    if (auto status = slurp(base(pid) + "/status")) {
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
    if (auto cmdline = slurp(base(pid) + "/cmdline")) p.argv = split_nul(*cmdline);
    return p;
}

std::optional<std::string> read_cwd(pid_t pid) {
    return link_target(base(pid) + "/cwd");
}
std::optional<std::string> read_exe(pid_t pid) {
    return link_target(base(pid) + "/exe");
}

std::optional<std::vector<std::string>> read_environ(pid_t pid) {
    auto env = slurp(base(pid) + "/environ");
    if (!env) return std::nullopt;
    return split_nul(*env);
}

std::optional<std::vector<std::string>> read_open_files(pid_t pid) {
    auto dir = base(pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return std::nullopt;
    std::vector<std::string> out;
    while (auto* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        if (auto t = link_target(dir + "/" + e->d_name); t && !t->empty() && (*t)[0] == '/')
            out.push_back(*t);
    }
    ::closedir(d);
    return out;
}

std::vector<pid_t> children_of(pid_t pid) {
    std::set<pid_t> kids;
    bool have_children_file = false;
    auto taskdir = base(pid) + "/task";
    if (DIR* d = ::opendir(taskdir.c_str())) {
        while (auto* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            auto text = slurp(taskdir + "/" + e->d_name + "/children");
            if (!text) continue;
            have_children_file = true;
            for (auto tok : split(trim(*text), ' '))
                if (auto v = parse_u64(tok)) kids.insert(static_cast<pid_t>(*v));
        }
        ::closedir(d);
    }
    if (!have_children_file) {
        for (pid_t p : list_pids())
            if (auto info = read_process(p); info && info->ppid == pid) kids.insert(p);
    }
    return {kids.begin(), kids.end()};
}

std::optional<ProcessRef> ProcessRef::open(pid_t pid, unsigned long long expected_start_time) {
    int fd = pidfd_open(pid);
    if (fd < 0) return std::nullopt;
    auto info = read_process(pid);
    if (!info || info->start_time != expected_start_time) {
        ::close(fd);
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
    auto wait_all = [&](std::vector<const ProcessRef*> live, int budget_ms) {
        auto deadline = Clock::now() + std::chrono::milliseconds(budget_ms);
        std::vector<const ProcessRef*> still;
        for (const auto* p : live) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (!p->wait_exit(static_cast<int>(std::max<long long>(0, left.count()))))
                still.push_back(p);
        }
        return still;
    };
    TerminateResult r;
    std::vector<const ProcessRef*> live;
    for (const auto& t : targets) {
        if (t.signal(SIGTERM)) {
            t.signal(SIGCONT);
            live.push_back(&t);
        } else if (errno != ESRCH) {
            r.survived.push_back(t.pid());  // refused (EPERM): must not vanish from the result
        }
    }
    auto after_term = wait_all(live, grace_ms);
    for (const auto* p : live)
        if (std::find(after_term.begin(), after_term.end(), p) == after_term.end())
            r.exited_on_term.push_back(p->pid());
    for (const auto* p : after_term)
        p->signal(SIGKILL);
    auto after_kill = wait_all(after_term, kill_wait_ms);
    for (const auto* p : after_term) {
        if (std::find(after_kill.begin(), after_kill.end(), p) == after_kill.end())
            r.killed.push_back(p->pid());
        else
            r.survived.push_back(p->pid());
    }
    return r;
}

}  // namespace corral::proc
