// Files for the probe's live tries (reflink, --io-bench) that never outlive
// the probe, even if it is killed mid-try: O_TMPFILE files (they never have a
// name), or where a filesystem lacks O_TMPFILE, files in a private 0700
// mkdtemp directory, unlinked together with it as soon as they are open.
// Header-only; used by reflink.cpp and io_bench.cpp.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/text.hpp"

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

// Anonymous regular files on the filesystem of one directory.
class ProbeFiles {
  public:
    // `private_directory_only` skips O_TMPFILE (tests use it to exercise the fallback).
    explicit ProbeFiles(std::string dir, bool private_directory_only = false)
        : dir_(std::move(dir)), fallback_(private_directory_only) {}
    ~ProbeFiles() {
        if (dir_fd_ >= 0) ::close(dir_fd_);
    }
    ProbeFiles(const ProbeFiles&) = delete;
    ProbeFiles& operator=(const ProbeFiles&) = delete;

    // A new file opened with `access` | O_CLOEXEC, or -1 with errno set.
    // Call remove_names() once all files are open.
    int open_file(int access = O_RDWR) {
        if (!fallback_) {
            if (dir_fd_ < 0) dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dir_fd_ < 0) return -1;
            int fd = ::openat(dir_fd_, ".", O_TMPFILE | access | O_CLOEXEC, 0600);
            // EOPNOTSUPP: this filesystem has no O_TMPFILE; EISDIR: the kernel does not know it.
            if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR)) return fd;
            fallback_ = true;
        }
        if (!private_dir_) {
            private_dir_.emplace(dir_);
            if (!private_dir_->ok()) {
                int err = private_dir_->error();
                private_dir_.reset();
                errno = err;
                return -1;
            }
        }
        const std::string name = cat({"f", std::to_string(++count_)});
        return private_dir_->create_file(name.c_str(), access);
    }

    void remove_names() {
        if (private_dir_) private_dir_->remove_names();
    }

    const char* method() const { return fallback_ ? "mkdtemp" : "O_TMPFILE"; }
    // "O_TMPFILE files" / "files in a private mkdtemp directory", for details.
    std::string described() const {
        return fallback_ ? "files in a private mkdtemp directory" : "O_TMPFILE files";
    }

  private:
    std::string dir_;
    bool fallback_;
    int dir_fd_ = -1;
    int count_ = 0;
    std::optional<ProbeTempDir> private_dir_;
};

}  // namespace corral
