// Helpers for the scratch/reflink/io-bench tests: running commands, private
// temporary directories, and real mounts (loop-mounted images, tmpfs) that
// are always unmounted and detached, also when a test fails.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace corral::test {

struct CommandResult {
    int status = -1;     // exit code, or -1 if it did not exit normally
    std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command, bool with_stderr = true) {
    CommandResult r;
    FILE* pipe = ::popen((with_stderr ? command + " 2>&1" : command).c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
        r.output.append(buf, n);
    int st = ::pclose(pipe);
    if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
    return r;
}

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline bool have_program(const std::string& name) {
    return run_command("command -v " + name + " >/dev/null").status == 0;
}

// Everything in a directory, sorted (to prove nothing was left behind).
inline std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        out.push_back(it->path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

inline std::string filesystem_id_of(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return "stat failed";
    return "dev:" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
}

inline bool is_mount_point(const std::string& path) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, mount_point;
        fields >> id >> parent >> dev >> root >> mount_point;
        if (mount_point == path) return true;
    }
    return false;
}

// A unique (mkdtemp) directory, removed with everything in it, but never
// while something is still mounted below it.
class TempDir {
  public:
    explicit TempDir(const std::string& parent = "/tmp") {
        std::string pattern = parent + "/corral-p2-test-XXXXXX";
        if (::mkdtemp(pattern.data())) path_ = pattern;
    }
    ~TempDir() {
        if (path_.empty()) return;
        std::ifstream in("/proc/self/mountinfo");
        std::string line;
        while (std::getline(in, line))
            if (line.find(" " + path_ + "/") != std::string::npos) {
                ADD_FAILURE() << "not removing " << path_ << ": something is still mounted in it";
                return;
            }
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    bool ok() const { return !path_.empty(); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A filesystem mounted at <dir>/mnt: a loop-mounted image made with `mkfs`
// or a tmpfs. The destructor unmounts it and makes sure no loop device stays
// attached to the image.
class TestMount {
  public:
    // Empty `skip_reason` and a mounted filesystem, or why this host cannot.
    static std::string loop_skip_reason(const std::string& mkfs) {
        if (::geteuid() != 0) return "needs root to attach loop devices and mount";
        if (::access("/dev/loop-control", F_OK) != 0) return "no /dev/loop-control on this host";
        if (!have_program(mkfs)) return mkfs + " is not installed (bootstrap installs xfsprogs)";
        if (!have_program("losetup")) return "losetup is not installed";
        return {};
    }

    // mkfs_command gets the image path appended, e.g. "mkfs.xfs -q -m reflink=1".
    TestMount(const std::string& image_size, const std::string& mkfs_command) : dir_("/var/tmp") {
        if (!dir_.ok()) {
            error_ = "mkdtemp failed";
            return;
        }
        image_ = dir_.path() + "/image";
        mount_point_ = dir_.path() + "/mnt";
        std::filesystem::create_directory(mount_point_);
        auto made = run_command("truncate -s " + image_size + " " + shell_quote(image_) + " && " +
                                mkfs_command + " " + shell_quote(image_));
        if (made.status != 0) {
            error_ = mkfs_command + " failed: " + made.output;
            return;
        }
        mount("-o loop " + shell_quote(image_));
    }

    // tmpfs with the given options, e.g. "size=16m" or "ro,size=1m".
    explicit TestMount(const std::string& tmpfs_options) : dir_("/var/tmp") {
        if (!dir_.ok()) {
            error_ = "mkdtemp failed";
            return;
        }
        mount_point_ = dir_.path() + "/mnt";
        std::filesystem::create_directory(mount_point_);
        mount("-t tmpfs -o " + tmpfs_options + " corral-p2-test");
    }

    ~TestMount() {
        if (mounted_) {
            auto r = run_command("umount " + shell_quote(mount_point_));
            if (r.status != 0) {
                ADD_FAILURE() << "umount " << mount_point_ << ": " << r.output;
                r = run_command("umount -l " + shell_quote(mount_point_));
            }
        }
        if (!image_.empty()) {
            // umount of a "-o loop" mount detaches its device (the kernel may finish
            // that a moment later); check, and detach a leftover.
            CommandResult attached;
            for (int i = 0; i < 50; ++i) {
                attached = run_command("losetup -j " + shell_quote(image_));
                if (attached.output.empty()) break;
                ::usleep(100 * 1000);
            }
            if (!attached.output.empty()) {
                ADD_FAILURE() << "loop device still attached after umount: " << attached.output;
                auto colon = attached.output.find(':');
                if (colon != std::string::npos)
                    run_command("losetup -d " + shell_quote(attached.output.substr(0, colon)));
            }
        }
    }
    TestMount(const TestMount&) = delete;
    TestMount& operator=(const TestMount&) = delete;

    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }
    const std::string& path() const { return mount_point_; }
    const std::string& image() const { return image_; }

  private:
    void mount(const std::string& args) {
        auto r = run_command("mount " + args + " " + shell_quote(mount_point_));
        if (r.status != 0 || !is_mount_point(mount_point_)) {
            error_ = "mount " + args + " failed: " + r.output;
            return;
        }
        mounted_ = true;
    }

    TempDir dir_;
    std::string image_;
    std::string mount_point_;
    bool mounted_ = false;
    std::string error_;
};

// `corral probe --json ARGS...` parsed; fails the test on a bad exit or bad JSON.
inline nlohmann::json corral_probe_json(const std::string& args) {
    auto r = run_command(std::string(CORRAL_EXE) + " probe --json " + args, false);
    EXPECT_EQ(r.status, 0) << r.output;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.output;
    return j;
}

inline nlohmann::json scratch_entry(const nlohmann::json& facts, const std::string& path) {
    for (const auto& s : facts.value("scratch", nlohmann::json::array()))
        if (s.value("path", "") == path) return s;
    ADD_FAILURE() << "no scratch entry for " << path << " in " << facts.dump(2);
    return nlohmann::json::object();
}

}  // namespace corral::test
