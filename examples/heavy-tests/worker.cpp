// heavy_worker: one program plays every kind of test in this example.
//
//   heavy_worker --log FILE --name NAME [--alloc-mib N] [--write-mib N]
//                [--sleep-ms N] [--daemon PIDFILE]
//
// It appends one line to FILE when it ends, so a checker can prove how CTest
// scheduled the suite:
//   NAME START_NS END_NS MEM=<granted mem_mib> IO=<granted heavy_io> LAUNCHED=<0|1>
// (steady clock, shared by every process on the machine; "-" when nothing was
// granted). --alloc-mib really allocates and touches that much memory and holds
// it while sleeping; --write-mib writes and fsyncs a file in $TMPDIR;
// --daemon leaves a double-forked daemon behind (its pid in PIDFILE), the way a
// gpg-agent outlives the test that started it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

long long now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string env_or_dash(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : "-";
}

bool append_line(const std::string& path, const std::string& line) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    // One write() on an O_APPEND file: lines from parallel tests never interleave.
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    return ::close(fd) == 0 && ok;
}

int leave_daemon(const std::string& pidfile) {
    pid_t child = ::fork();
    if (child < 0) return 1;
    if (child > 0) return 0;  // the test goes on; the daemon is on its own
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    append_line(pidfile, pid);
    // Bounded, so a machine without the launcher is not polluted forever.
    std::this_thread::sleep_for(std::chrono::seconds(120));
    ::_exit(0);
}

}  // namespace

int main(int argc, char** argv) {
    std::string log, name, daemon_pidfile;
    long alloc_mib = 0, write_mib = 0, sleep_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i];
        std::string value = argv[i + 1];
        if (key == "--log")
            log = value;
        else if (key == "--name")
            name = value;
        else if (key == "--alloc-mib")
            alloc_mib = std::stol(value);
        else if (key == "--write-mib")
            write_mib = std::stol(value);
        else if (key == "--sleep-ms")
            sleep_ms = std::stol(value);
        else if (key == "--daemon")
            daemon_pidfile = value;
        else {
            std::cerr << "heavy_worker: unknown option " << key << "\n";
            return 2;
        }
    }
    if (log.empty() || name.empty() || (argc - 1) % 2 != 0) {
        std::cerr << "usage: heavy_worker --log FILE --name NAME [--alloc-mib N] "
                     "[--write-mib N] [--sleep-ms N] [--daemon PIDFILE]\n";
        return 2;
    }
    long long start = now_ns();

    std::vector<char> held;
    if (alloc_mib > 0) {
        held.resize(static_cast<size_t>(alloc_mib) << 20);
        for (size_t i = 0; i < held.size(); i += 4096)
            held[i] = 1;  // touch every page
    }
    if (write_mib > 0) {
        std::string dir = env_or_dash("TMPDIR");
        if (dir == "-") dir = "/tmp";
        std::string path = dir + "/heavy-" + std::to_string(::getpid()) + ".bin";
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            std::perror(path.c_str());
            return 1;
        }
        std::string chunk(1 << 20, 'x');
        for (long i = 0; i < write_mib; ++i) {
            if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
                std::perror("write");
                return 1;
            }
        }
        if (::fsync(fd) != 0 || ::close(fd) != 0 || ::unlink(path.c_str()) != 0) {
            std::perror(path.c_str());
            return 1;
        }
    }
    if (!daemon_pidfile.empty() && leave_daemon(daemon_pidfile) != 0) {
        std::perror("fork");
        return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));

    long long end = now_ns();
    bool launched = std::getenv("CORRAL_TEST_ID") != nullptr;
    std::string line = name + " " + std::to_string(start) + " " + std::to_string(end) +
                       " MEM=" + env_or_dash("CTEST_RESOURCE_GROUP_0_MEM_MIB") +
                       " IO=" + env_or_dash("CTEST_RESOURCE_GROUP_0_HEAVY_IO") +
                       " LAUNCHED=" + (launched ? "1" : "0") + "\n";
    if (!append_line(log, line)) {
        std::perror(log.c_str());
        return 1;
    }
    std::cout << line;
    return 0;
}
