#include "runtime/scope_marker.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.hpp"

namespace corral::scope_marker {
namespace {

constexpr size_t kMaxBytes = 4096;

bool fail(std::string* why, std::string text) {
    if (why) *why = std::move(text);
    return false;
}

}  // namespace

std::string text_for(const std::string& dir) {
    return std::string(kFirstLine) + "\n" + dir + "\n";
}

bool write(const std::string& dir, std::string& why) {
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (d.get() < 0) {
        why = dir + ": " + std::strerror(errno);
        return false;
    }
    UniqueFd f(
        ::openat(d.get(), kFileName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (f.get() < 0) {
        if (errno == EEXIST) return true;
        why = dir + "/" + kFileName + ": " + std::strerror(errno);
        return false;
    }
    auto text = text_for(dir);
    if (::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        why = dir + "/" + kFileName + ": " + std::strerror(errno);
        ::unlinkat(d.get(), kFileName, 0);
        return false;
    }
    return true;
}

bool is_corral_made(const std::string& dir, unsigned uid, std::string* why) {
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (d.get() < 0) return fail(why, dir + ": " + std::strerror(errno));
    struct stat ds {};
    if (::fstat(d.get(), &ds) != 0) return fail(why, dir + ": " + std::strerror(errno));
    if (ds.st_uid != uid)
        return fail(why, dir + " is owned by uid " + std::to_string(ds.st_uid) + ", not " +
                             std::to_string(uid));
    UniqueFd f(
        ::openat(d.get(), kFileName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (f.get() < 0)
        return fail(why, std::string("no ") + kFileName + " (" + std::strerror(errno) + ")");
    struct stat fs {};
    if (::fstat(f.get(), &fs) != 0 || !S_ISREG(fs.st_mode))
        return fail(why, std::string(kFileName) + " is not a regular file");
    if (fs.st_uid != uid)
        return fail(why, std::string(kFileName) + " is owned by uid " + std::to_string(fs.st_uid) +
                             ", not " + std::to_string(uid));
    if (static_cast<size_t>(fs.st_size) > kMaxBytes)
        return fail(why, std::string(kFileName) + " is larger than 4 KiB");
    std::string text(kMaxBytes, '\0');
    ssize_t n = ::read(f.get(), text.data(), text.size());
    if (n < 0) return fail(why, std::string(kFileName) + ": " + std::strerror(errno));
    text.resize(static_cast<size_t>(n));
    auto nl = text.find('\n');
    if (nl == std::string::npos || text.compare(0, nl, kFirstLine) != 0)
        return fail(why, std::string(kFileName) + ": the first line is not '" + kFirstLine + "'");
    auto end = text.find('\n', nl + 1);
    std::string named =
        text.substr(nl + 1, end == std::string::npos ? std::string::npos : end - nl - 1);
    struct stat ns {};
    if (named.empty() || named.front() != '/' || ::stat(named.c_str(), &ns) != 0 ||
        ns.st_dev != ds.st_dev || ns.st_ino != ds.st_ino)
        return fail(why, std::string(kFileName) + " names '" + named +
                             "', which is not this directory (copied or moved here?)");
    return true;
}

}  // namespace corral::scope_marker
