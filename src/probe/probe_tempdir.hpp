// A private scratch corner for the probe's live tries (reflink, --io-bench):
// a 0700 directory made by mkdtemp inside the candidate, whose files are
// unlinked as soon as they are open, so nothing is left behind even if the
// probe is killed mid-try. Header-only; used by reflink.cpp and io_bench.cpp.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace corral {

// "EOPNOTSUPP" for EOPNOTSUPP: the errno's symbolic name, or its number.
inline std::string errno_name(int err) {
    const char* name = ::strerrorname_np(err);
    return name ? name : "errno " + std::to_string(err);
}

// "Read-only file system (EROFS)"
inline std::string errno_text(int err) {
    return std::string(std::strerror(err)) + " (" + errno_name(err) + ")";
}

class ProbeTempDir {
  public:
    explicit ProbeTempDir(const std::string& parent) {
        std::string pattern = parent;
        if (pattern.empty() || pattern.back() != '/') pattern += '/';
        pattern += ".corral-probe-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            error_ = errno;
            return;
        }
        path_ = pattern;
        dir_fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd_ < 0) {
            error_ = errno;
            ::rmdir(path_.c_str());
            path_.clear();
        }
    }
    ~ProbeTempDir() {
        remove_names();
        if (dir_fd_ >= 0) ::close(dir_fd_);
    }
    ProbeTempDir(const ProbeTempDir&) = delete;
    ProbeTempDir& operator=(const ProbeTempDir&) = delete;

    bool ok() const { return dir_fd_ >= 0; }
    int error() const { return error_; }  // errno of the failed mkdtemp/open
    const std::string& path() const { return path_; }

    // A new regular file inside (O_EXCL, never through a symlink); -1 and errno on failure.
    int create_file(const char* name, int access = O_RDWR) {
        int fd = ::openat(dir_fd_, name, access | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) names_.emplace_back(name);
        return fd;
    }

    // Unlink every file and the directory itself; open descriptors stay usable.
    void remove_names() {
        if (path_.empty()) return;
        for (const auto& name : names_)
            ::unlinkat(dir_fd_, name.c_str(), 0);
        names_.clear();
        ::rmdir(path_.c_str());
        path_.clear();
    }

  private:
    std::string path_;
    int dir_fd_ = -1;
    int error_ = 0;
    std::vector<std::string> names_;
};

}  // namespace corral
