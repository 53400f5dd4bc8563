// Job control: the test's group gets the terminal's foreground when ours had
// it, and a stop of the test stops ctest's group with it (as a shell's job).
#include "runtime/launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace corral::launcher {

// The terminal: only when our process group is its foreground (an interactive
// ctest or shell); in CI there is no controlling terminal and nothing changes.
void Launch::find_terminal() {
    // Our stat, when read, says it without opening /dev/tty (tpgid: the
    // foreground group of our terminal, -1 without one, as in CI).
    if (self_stat_ && self_stat_->tpgid != self_stat_->pgid) return;
    int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return;
    if (::tcgetpgrp(fd) != ::getpgrp()) {
        ::close(fd);
        return;
    }
    tty_fd_ = fd;
}

// True when the foreground group `fg` is the test's: its main group, a group
// that no longer exists, or a group led by one of our descendants.
bool Launch::owns_foreground_group(pid_t fg) const {
    if (fg <= 0) return false;
    if (fg == main_pid_) return true;
    if (!proc::signal_group(fg, 0) && errno == ESRCH) return true;
    pid_t self = ::getpid();
    for (pid_t p = fg; p > 1;) {
        auto info = proc::read_stat(p);
        if (!info) return false;
        if (info->ppid == self) return true;
        p = info->ppid;
    }
    return false;
}

// Gives the foreground back to our group when the test's group holds it (never
// taken from anyone else, e.g. the shell after `bg`). SIGTTOU is blocked.
void Launch::reclaim_terminal() {
    if (!tty_handed_) return;
    tty_handed_ = false;
    pid_t fg = ::tcgetpgrp(tty_fd_);
    if (fg != ::getpgrp() && owns_foreground_group(fg)) ::tcsetpgrp(tty_fd_, ::getpgrp());
}

// Whether a shell can stop and continue our process group: the group is not
// orphaned (POSIX: some member has its parent in another group of the session).
bool Launch::job_control_parent() const {
    pid_t pgrp = ::getpgrp();
    pid_t sid = ::getsid(0);
    for (pid_t p = ::getpid(); p > 1;) {
        auto info = proc::read_stat(p);
        if (!info) return false;
        auto parent = proc::read_stat(info->ppid);
        if (!parent) return false;
        if (parent->pgid != pgrp) return parent->sid == sid;
        p = parent->pid;
    }
    return false;
}

// The test, holding the terminal, was stopped (Ctrl-Z, SIGTTIN): as a shell's
// job it would have stopped with ctest; stop ctest's group (us included, via
// suspend()) and continue the test when we are continued.
void Launch::test_stopped() {
    test_stopped_ = false;
    reclaim_terminal();
    if (!job_control_parent()) {
        // Nobody could continue us (orphaned group): keep the test going.
        if (::tcgetpgrp(tty_fd_) == ::getpgrp() && ::tcsetpgrp(tty_fd_, main_pid_) == 0)
            tty_handed_ = true;
        proc::signal_group(main_pid_, SIGCONT);
        return;
    }
    proc::signal_own_group(SIGTSTP);  // our group: ctest and its launchers read it, as we do below
}

// SIGTSTP reached us: stop the test with us, and continue it with us.
void Launch::suspend() {
    bool had_terminal = tty_fd_ >= 0;
    reclaim_terminal();
    if (!job_control_parent()) return;  // nobody could continue us
    proc::signal_group(main_pid_, SIGSTOP);
    proc::signal_self(SIGSTOP);  // returns when the shell continues us (fg / bg)
    if (had_terminal && ::tcgetpgrp(tty_fd_) == ::getpgrp() && ::tcsetpgrp(tty_fd_, main_pid_) == 0)
        tty_handed_ = true;
    proc::signal_group(main_pid_, SIGCONT);
}

}  // namespace corral::launcher
