// A file descriptor owned by one scope: closed when the owner ends, unless
// released. Movable, not copyable. close(2)'s result is not looked at: the
// owners close descriptors they read, listed, locked or renamed through; a
// writer that must know its data arrived checks close itself (atomic_file).
#pragma once

#include <unistd.h>

#include <utility>

namespace corral {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool ok() const { return fd_ >= 0; }
    // Gives the descriptor up to the caller (-1 afterwards).
    int release() { return std::exchange(fd_, -1); }
    // Closes what is held (if anything) and holds `fd`.
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

}  // namespace corral
