#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/text.hpp"

namespace corral {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& p, int err) {
    throw std::system_error(err, std::generic_category(), what + " " + p.string());
}

// write(2) until all of `content` is written, retrying EINTR; false with
// errno on the first failure.
bool write_all(int fd, std::string_view content) {
    size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}

// Straight into what is already there: a device, a FIFO, a socket.
void write_through(const std::filesystem::path& path, std::string_view content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) fail("cannot open", path, errno);
    if (!write_all(fd, content)) {
        int err = errno;
        ::close(fd);
        fail("cannot write", path, err);
    }
    if (::close(fd) != 0) fail("cannot close", path, errno);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode, Durability durability) {
    // Only a regular file (or none) is replaced by rename. A symlink is
    // followed and its target written (the link stays); anything else that
    // exists (/dev/stdout's terminal or pipe, /dev/full, a FIFO) is written
    // through as a shell's `>` would: a rename would put a regular file in
    // place of the device node.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) fail("cannot write, a directory:", path, EISDIR);
        if (S_ISLNK(st.st_mode)) {
            std::error_code ec;
            auto target = std::filesystem::weakly_canonical(path, ec);
            if (ec) fail("cannot resolve the symlink", path, ec.value());
            return write_file_atomically(target, content, mode, durability);
        }
        return write_through(path, content);
    }
    auto dir = path.parent_path();
    if (dir.empty()) dir = ".";
    std::string tmpl = (dir / cat({".", path.filename().string(), ".XXXXXX"})).string();
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) fail("cannot create temporary file for", path, errno);
    auto cleanup = [&](const char* what) {
        int err = errno;
        ::close(fd);
        ::unlink(tmpl.c_str());
        fail(what, path, err);
    };
    if (!write_all(fd, content)) cleanup("cannot write");
    if (::fchmod(fd, mode) != 0) cleanup("cannot chmod");
    if (durability == Durability::Disk && ::fsync(fd) != 0) cleanup("cannot fsync");
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmpl.c_str());
        fail("cannot close", path, err);
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmpl.c_str());
        fail("cannot rename into", path, err);
    }
    if (durability == Durability::Process) return;
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);  // best effort: the rename is already visible
        ::close(dfd);
    }
}

}  // namespace corral
