// A process for the reaper tests to kill. Options pick its misbehaviour:
// daemonize, ignore SIGTERM, spawn children from a SIGTERM handler, respawn
// children as they die, hide its command line, hold a file open, and (as a
// "pager") record whether other processes were already dead when SIGTERM came.
//
// Every process it creates is appended to --log as "pid start_time" so the
// test can kill leftovers by identity, and --ready FILE appears (atomically,
// holding the pid) once the process is fully set up.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kernel/process.hpp"

namespace {

struct Options {
    std::string ready;
    std::string log;
    std::string chdir_to;
    std::string open_file;
    std::string disguise;
    bool daemon = false;
    bool ignore_term = false;
    int term_spawn = 0;
    int respawn = 0;
    std::vector<std::string> check_dead;  // PID:START
    std::string record;
    std::vector<std::string> tail;
};

void die(const char* what) {
    std::perror(what);
    std::_Exit(99);
}

void write_atomically(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp);
        out << text;
        if (!out.flush()) die("write");
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) die("rename");
}

void log_process(const Options& o, pid_t pid) {
    if (o.log.empty()) return;
    auto info = corral::proc::read_process(pid);
    if (!info) return;
    std::string line = std::to_string(pid) + " " + std::to_string(info->start_time) + "\n";
    int fd = ::open(o.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die("open log");
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) die("log");
    ::close(fd);
}

// A child that just waits to be killed (default SIGTERM disposition).
pid_t spawn_idle_child(const Options& o) {
    pid_t pid = ::fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGTERM, SIG_DFL);
        for (;;)
            ::pause();
    }
    log_process(o, pid);
    return pid;
}

void daemonize() {
    pid_t first = ::fork();
    if (first < 0) die("fork");
    if (first > 0) {
        int st = 0;
        ::waitpid(first, &st, 0);
        std::_Exit(0);
    }
    if (::setsid() < 0) die("setsid");
    pid_t second = ::fork();
    if (second < 0) die("fork");
    if (second > 0) std::_Exit(0);
    int null = ::open("/dev/null", O_RDWR);
    if (null < 0) die("/dev/null");
    for (int fd = 0; fd < 3; ++fd)
        if (::dup2(null, fd) < 0) die("dup2");
    if (null > 2) ::close(null);
}

// Overwrites the whole argv area, so /proc/PID/cmdline shows only `name`.
void disguise(int argc, char** argv, const std::string& name) {
    char* start = argv[0];
    char* end = argv[argc - 1] + std::strlen(argv[argc - 1]);
    std::memset(start, 0, static_cast<size_t>(end - start));
    std::strncpy(start, name.c_str(), static_cast<size_t>(end - start));
    ::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
}

void record_deaths(const Options& o) {
    std::string text;
    for (const auto& spec : o.check_dead) {
        auto colon = spec.find(':');
        pid_t pid = static_cast<pid_t>(std::stol(spec.substr(0, colon)));
        unsigned long long start = std::stoull(spec.substr(colon + 1));
        auto info = corral::proc::read_process(pid);
        bool dead = !info || info->state == 'Z' || info->state == 'X' || info->start_time != start;
        text += std::to_string(pid) + (dead ? " dead\n" : " alive\n");
    }
    write_atomically(o.record, text);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"reaper test helper"};
    app.add_option("--ready", o.ready);
    app.add_option("--log", o.log);
    app.add_option("--chdir", o.chdir_to);
    app.add_option("--open", o.open_file);
    app.add_option("--disguise", o.disguise);
    app.add_flag("--daemon", o.daemon);
    app.add_flag("--ignore-term", o.ignore_term);
    app.add_option("--term-spawn", o.term_spawn);
    app.add_option("--respawn", o.respawn);
    app.add_option("--check-dead", o.check_dead);
    app.add_option("--record", o.record);
    app.add_option("tail", o.tail);  // ignored: puts paths into argv
    app.allow_extras();              // the tail may hold anything, options included
    CLI11_PARSE(app, argc, argv);

    if (o.daemon) daemonize();
    log_process(o, ::getpid());
    int held_fd = -1;
    if (!o.open_file.empty()) {
        held_fd = ::open(o.open_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (held_fd < 0) die("open");
    }
    if (!o.chdir_to.empty() && ::chdir(o.chdir_to.c_str()) != 0) die("chdir");

    sigset_t wait_set;
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGCHLD);
    if (o.ignore_term)
        ::signal(SIGTERM, SIG_IGN);
    else if (o.term_spawn > 0 || !o.record.empty())
        sigaddset(&wait_set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &wait_set, nullptr);

    int spawned = 0;
    if (o.respawn > 0) {
        spawn_idle_child(o);
        ++spawned;
    }
    if (!o.disguise.empty()) disguise(argc, argv, o.disguise);
    if (!o.ready.empty()) write_atomically(o.ready, std::to_string(::getpid()) + "\n");

    for (;;) {
        siginfo_t si;
        int sig = ::sigwaitinfo(&wait_set, &si);
        if (sig < 0) continue;  // EINTR
        if (sig == SIGTERM) {
            for (int i = 0; i < o.term_spawn; ++i)
                spawn_idle_child(o);
            if (!o.record.empty()) record_deaths(o);
            std::_Exit(0);
        }
        // SIGCHLD: reap, and replace dead children while the budget lasts.
        int st = 0;
        while (::waitpid(-1, &st, WNOHANG) > 0) {
            if (spawned < o.respawn) {
                spawn_idle_child(o);
                ++spawned;
            }
        }
    }
    (void)held_fd;
}
