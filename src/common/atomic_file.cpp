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

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode, Durability durability) {
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
    size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            cleanup("cannot write");
        }
        off += static_cast<size_t>(n);
    }
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
