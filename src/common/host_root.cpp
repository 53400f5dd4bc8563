#include "common/host_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace corral {

HostRoot::HostRoot(std::filesystem::path root) : root_(std::move(root)) {
    std::error_code ec;
    auto canon = std::filesystem::weakly_canonical(root_, ec);
    live_ = !ec && canon == "/";
}

std::filesystem::path HostRoot::resolve(const std::filesystem::path& host_path) const {
    if (live_) return host_path;
    return root_ / host_path.relative_path();
}

Read<std::string> read_file(const std::filesystem::path& path) {
    int fd;
    do
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return Read<std::string>::fail(std::strerror(errno));
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            return Read<std::string>::fail(std::strerror(err));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return Read<std::string>::ok(std::move(out));
}

Read<std::string> HostRoot::read_text(const std::filesystem::path& host_path) const {
    auto r = read_file(resolve(host_path));
    if (!r) r.error = host_path.string() + ": " + r.error;
    return r;
}

Read<std::string> HostRoot::read_line(const std::filesystem::path& host_path) const {
    auto text = read_text(host_path);
    if (!text) return text;
    auto s = *text;
    auto nl = s.find('\n');
    if (nl != std::string::npos) s.resize(nl);
    return Read<std::string>::ok(std::move(s));
}

bool HostRoot::exists(const std::filesystem::path& host_path) const {
    struct stat st;
    return ::stat(resolve(host_path).c_str(), &st) == 0;
}

}  // namespace corral
