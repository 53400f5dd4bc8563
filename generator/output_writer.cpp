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
#include "common/unique_fd.hpp"
#include "generator/emit.hpp"
#include "plan/plan_json.hpp"
#include "probe/facts_json.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const fs::path& p, int err) {
    throw std::system_error(err, std::generic_category(), what + " " + p.string());
}

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

// The generation directory kCurrentLink names, or "" when there is none.
std::string current_target(int dir_fd) {
    char buf[256];
    ssize_t n = ::readlinkat(dir_fd, kCurrentLink, buf, sizeof buf);
    if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return {};
    return std::string(buf, static_cast<size_t>(n));
}

// Points dir/name at target with one rename(2) of a fresh symlink over it.
void replace_link(int dir_fd, const fs::path& dir, const std::string& name,
                  const std::string& target) {
    const std::string tmp = std::string(kStagingPrefix) + "link." + name;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    if (::symlinkat(target.c_str(), dir_fd, tmp.c_str()) != 0)
        fail("cannot create link", dir / tmp, errno);
    if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
        int err = errno;
        ::unlinkat(dir_fd, tmp.c_str(), 0);
        fail("cannot rename into", dir / name, err);
    }
}

// First run over plain files (an empty directory, or outputs of a corral
// before generations): the existing files become the current generation (hard
// links, same content), so switching the names to links changes no content.
void adopt_existing(int dir_fd, const fs::path& dir, const std::vector<OutputFile>& files) {
    std::string tmpl = (dir / (std::string(kStagingPrefix) + "XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) fail("cannot create staging directory in", dir, errno);
    if (::chmod(tmpl.c_str(), 0755) != 0) fail("cannot chmod", tmpl, errno);  // readable as before
    const std::string gen = fs::path(tmpl).filename().string();
    for (const auto& f : files) {
        struct stat st;
        if (::fstatat(dir_fd, f.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        const std::string to = gen + "/" + f.name;
        if (::linkat(dir_fd, f.name.c_str(), dir_fd, to.c_str(), 0) != 0)
            fail("cannot link", dir / f.name, errno);
    }
    replace_link(dir_fd, dir, kCurrentLink, gen);
}

// dir/name -> kCurrentLink/name, unless it already is.
void link_through_current(int dir_fd, const fs::path& dir, const std::string& name) {
    const std::string target = std::string(kCurrentLink) + "/" + name;
    char buf[512];
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf);
    if (n >= 0 && std::string_view(buf, static_cast<size_t>(n)) == target) return;
    replace_link(dir_fd, dir, name, target);
}

// Staging directories of runs that were killed, and generations no longer
// current. Called with the lock held, so no live run owns one.
void remove_stale_staging(int dir_fd, const fs::path& dir) {
    int fd = ::dup(dir_fd);
    if (fd < 0) fail("cannot read directory", dir, errno);
    DIR* d = ::fdopendir(fd);
    if (!d) {
        int err = errno;
        ::close(fd);
        fail("cannot read directory", dir, err);
    }
    ::rewinddir(d);  // the duplicate shares dir_fd's offset, which an earlier pass moved
    const std::string current = current_target(dir_fd);
    std::vector<std::string> stale;
    errno = 0;
    while (dirent* e = ::readdir(d))
        if (is_staging_name(e->d_name) && e->d_name != current) stale.emplace_back(e->d_name);
    int err = errno;
    ::closedir(d);
    if (err != 0) fail("cannot read directory", dir, err);
    for (const auto& name : stale) {
        struct stat st;
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
                fail("cannot remove", dir / name, errno);
            continue;
        }
        remove_staging(dir_fd, name, dir / name);
    }
}

void check_names(const std::vector<OutputFile>& files) {
    for (const auto& f : files)
        if (f.name.empty() || f.name == "." || f.name == ".." ||
            f.name.find('/') != std::string::npos || is_staging_name(f.name) ||
            f.name == kCurrentLink)
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
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
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

    // Stage the new generation complete: a kill or an error up to the swap
    // below leaves the set as it was.
    std::string staging_template = (dir / (std::string(kStagingPrefix) + "XXXXXX")).string();
    if (!::mkdtemp(staging_template.data())) fail("cannot create staging directory in", dir, errno);
    if (::chmod(staging_template.c_str(), 0755) != 0) {  // mkdtemp's 0700: readable as before
        int err = errno;
        ::rmdir(staging_template.c_str());
        fail("cannot chmod", staging_template, err);
    }
    const fs::path staging = staging_template;
    const std::string staging_name = staging.filename().string();
    try {
        for (const auto& f : files)
            write_file_atomically(staging / f.name, f.content, f.mode);
        // Every name resolves through the one link kCurrentLink, so the whole
        // set changes with one rename(2) of that link.
        if (current_target(dir_fd.get()).empty()) adopt_existing(dir_fd.get(), dir, files);
        for (const auto& f : files)
            link_through_current(dir_fd.get(), dir, f.name);
        replace_link(dir_fd.get(), dir, kCurrentLink, staging_name);
        if (::fsync(dir_fd.get()) != 0) fail("cannot fsync", dir, errno);
    } catch (...) {
        try {
            if (current_target(dir_fd.get()) != staging_name)
                remove_staging(dir_fd.get(), staging_name, staging);
        } catch (const std::exception&) {  // the first error is the one to report
        }
        throw;
    }
    try {
        remove_stale_staging(dir_fd.get(), dir);  // the generation just replaced
    } catch (const std::exception&) {             // written and switched; the next run removes it
    }
}

}  // namespace corral
