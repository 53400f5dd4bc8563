#include "generator/output_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/atomic_file.hpp"
#include "generator/emit.hpp"
#include "generator/plan_json.hpp"
#include "probe/facts_json.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const fs::path& p, int err) {
    throw std::system_error(err, std::generic_category(), what + " " + p.string());
}

// A file descriptor closed on scope exit.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

bool is_staging_name(std::string_view name) {
    return name.starts_with(kStagingPrefix);
}

// Removes dir_fd/name, a staging directory, without following symlinks: its
// entries are unlinked through a descriptor opened with O_NOFOLLOW.
void remove_staging(int dir_fd, const std::string& name, const fs::path& shown) {
    int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        fail("cannot open staging directory", shown, errno);
    }
    DIR* d = ::fdopendir(fd);  // takes ownership of fd
    if (!d) {
        int err = errno;
        ::close(fd);
        fail("cannot read staging directory", shown, err);
    }
    while (dirent* e = ::readdir(d)) {
        std::string entry = e->d_name;
        if (entry == "." || entry == "..") continue;
        if (::unlinkat(::dirfd(d), entry.c_str(), 0) != 0 && errno != ENOENT) {
            int err = errno;
            ::closedir(d);
            fail("cannot remove", shown / entry, err);
        }
    }
    ::closedir(d);
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        fail("cannot remove staging directory", shown, errno);
}

// Staging directories of runs that were killed. Called with the lock held, so
// no live run owns one.
void remove_stale_staging(int dir_fd, const fs::path& dir) {
    int fd = ::dup(dir_fd);
    if (fd < 0) fail("cannot read directory", dir, errno);
    DIR* d = ::fdopendir(fd);
    if (!d) {
        int err = errno;
        ::close(fd);
        fail("cannot read directory", dir, err);
    }
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d))
        if (is_staging_name(e->d_name)) stale.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& name : stale)
        remove_staging(dir_fd, name, dir / name);
}

void check_names(const std::vector<OutputFile>& files) {
    for (const auto& f : files)
        if (f.name.empty() || f.name == "." || f.name == ".." ||
            f.name.find('/') != std::string::npos || is_staging_name(f.name))
            throw std::invalid_argument("output file name \"" + f.name +
                                        "\" must be a plain file name");
}

}  // namespace

std::vector<OutputFile> render_outputs(const Facts& facts, const Plan& plan) {
    return {
        {"facts.json", to_json(facts).dump(2) + "\n"},
        {"plan.json", to_json(plan).dump(2) + "\n"},
        {"resources.json", emit_resource_spec(plan)},
        {"pools.cmake", emit_pools_cmake(plan)},
        {"pools.ninja", emit_pools_ninja(plan)},
        {"plan.cmake", emit_plan_cmake(plan)},
        {"env.sh", emit_env_sh(plan)},
        {"github.env", emit_github_env(plan)},
        {"github-workflow.yml", emit_github_workflow(plan)},
        {"forgejo-workflow.yml", emit_forgejo_workflow(plan)},
        {"report.txt", emit_report(plan)},
    };
}

void write_outputs(const fs::path& dir, const std::vector<OutputFile>& files) {
    check_names(files);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("cannot create output directory", dir, ec.value());
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0) fail("cannot open output directory", dir, errno);
    // One writer at a time per directory; released when dir_fd closes.
    while (::flock(dir_fd.get(), LOCK_EX) != 0)
        if (errno != EINTR) fail("cannot lock output directory", dir, errno);
    remove_stale_staging(dir_fd.get(), dir);

    // Refuse before anything changes if a destination cannot be replaced.
    for (const auto& f : files) {
        struct stat st;
        if (::fstatat(dir_fd.get(), f.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
                throw std::system_error(EEXIST, std::generic_category(),
                                        (dir / f.name).string() +
                                            " exists and is not a file; corral replaces only "
                                            "files");
        } else if (errno != ENOENT) {
            fail("cannot inspect", dir / f.name, errno);
        }
    }

    std::string staging_template = (dir / (std::string(kStagingPrefix) + "XXXXXX")).string();
    if (!::mkdtemp(staging_template.data())) fail("cannot create staging directory in", dir, errno);
    const fs::path staging = staging_template;
    const std::string staging_name = staging.filename().string();
    try {
        for (const auto& f : files)
            write_file_atomically(staging / f.name, f.content, f.mode);
        for (const auto& f : files) {
            std::string from = staging_name + "/" + f.name;
            if (::renameat(dir_fd.get(), from.c_str(), dir_fd.get(), f.name.c_str()) != 0)
                fail("cannot rename into", dir / f.name, errno);
        }
        if (::fsync(dir_fd.get()) != 0) fail("cannot fsync", dir, errno);
        remove_staging(dir_fd.get(), staging_name, staging);
    } catch (...) {
        try {
            remove_staging(dir_fd.get(), staging_name, staging);
        } catch (const std::exception&) {  // the first error is the one to report
        }
        throw;
    }
}

}  // namespace corral
