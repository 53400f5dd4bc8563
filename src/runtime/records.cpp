#include "runtime/records.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

#include "kernel/process.hpp"

namespace corral::records {
namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
    return static_cast<double>(
               std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch())
                   .count()) /
           1e6;
}

nlohmann::json processes_json(const std::vector<ProcessEntry>& list) {
    auto a = nlohmann::json::array();
    for (const auto& p : list)
        a.push_back({{"pid", p.pid}, {"command", p.command}});
    return a;
}

}  // namespace

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
    return out;
}

nlohmann::json to_json(const RunRecord& r) {
    nlohmann::json j;
    j["schema"] = kRecordSchema;
    j["run_id"] = r.run_id;
    j["name"] = r.name;
    j["command"] = r.command;
    j["test_id"] = r.test_id;
    j["scratch_dir"] = r.scratch_dir;
    j["working_directory"] = r.working_directory;
    j["start"] = iso8601_utc(r.start);
    j["end"] = iso8601_utc(r.end);
    j["start_unix"] = unix_seconds(r.start);
    j["end_unix"] = unix_seconds(r.end);
    j["wall_seconds"] = r.wall_seconds;
    j["exit_code"] = r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
    j["signal"] = r.signal ? nlohmann::json(*r.signal) : nlohmann::json(nullptr);
    j["timed_out"] = r.timed_out;
    if (r.parent_died) j["parent_died"] = true;
    j["timeout_seconds"] = r.timeout_seconds;
    j["launcher_exit_code"] = r.launcher_exit_code;
    j["cpu_user_seconds"] = r.cpu_user_seconds;
    j["cpu_system_seconds"] = r.cpu_system_seconds;
    j["peak_memory_bytes"] = r.peak_memory_bytes;
    j["peak_memory_source"] = r.peak_memory_source;
    auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    j["peak_nonreclaimable_bytes"] = opt(r.peak_nonreclaimable_bytes);
    j["peak_nonreclaimable_source"] = r.peak_nonreclaimable_source;
    j["memory_samples"] = r.memory_samples;
    j["declared_memory_bytes"] = opt(r.declared_memory_bytes);
    j["memory_limit_bytes"] = opt(r.memory_limit_bytes);
    j["memory_limit_enforced"] = r.memory_limit_enforced;
    j["memory_limit_reason"] = r.memory_limit_reason;
    j["processors"] = opt(r.processors);
    j["launcher_signal"] = opt(r.launcher_signal);
    j["oom_killed"] = r.oom_killed;
    j["cgroup"] = r.cgroup;
    j["leaked"] = processes_json(r.leaked);
    j["killed_on_timeout"] = processes_json(r.killed_on_timeout);
    j["scratch_bytes"] = r.scratch_bytes;
    j["scratch_kept"] = r.scratch_kept;
    auto res = nlohmann::json::array();
    for (const auto& g : r.resources)
        res.push_back({{"group", g.group}, {"type", g.type}, {"id", g.id}, {"slots", g.slots}});
    j["resources"] = res;
    j["locks"] = r.locks;
    j["lock_wait_seconds"] = r.lock_wait_seconds;
    return j;
}

void append_line(const std::string& path, const std::string& line) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "cannot open records file " + path);
    std::string whole = line + "\n";
    while (::flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int err = errno;
            ::close(fd);
            throw std::system_error(err, std::generic_category(), "flock " + path);
        }
    }
    ssize_t n;
    do {
        n = ::write(fd, whole.data(), whole.size());
    } while (n < 0 && errno == EINTR);
    int err = errno;
    ::close(fd);  // releases the flock
    if (n < 0) throw std::system_error(err, std::generic_category(), "write " + path);
    if (static_cast<size_t>(n) != whole.size())
        throw std::system_error(EIO, std::generic_category(),
                                "short write to " + path + " (disk full?)");
}

std::vector<proc::ProcessStat> run_ancestors(const Host& host) {
    return proc::ancestors(host.self_pid(), host, kRunIdDepth,
                           [](const proc::ProcessStat& p) { return p.comm == "ctest"; });
}

std::string run_id_of(const std::vector<proc::ProcessStat>& ancestors) {
    if (ancestors.empty()) return "unknown";
    auto id_of = [](const proc::ProcessStat& p) {
        return p.comm + "-" + std::to_string(p.pid) + "-" + std::to_string(p.start_time);
    };
    for (const auto& p : ancestors)
        if (p.comm == "ctest") return id_of(p);
    return id_of(ancestors.front());
}

std::string current_run_id(const Host& host) {
    return run_id_of(run_ancestors(host));
}

namespace {

// The run_id of the last complete line of the file open on `fd` (size
// `size`), or "" when it cannot be told.
std::string last_run_id(int fd, off_t size) {
    const off_t window = 64 * 1024;
    off_t from = size > window ? size - window : 0;
    std::string buf(static_cast<size_t>(size - from), '\0');
    ssize_t n;
    do {
        n = ::pread(fd, buf.data(), buf.size(), from);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return "";
    buf.resize(static_cast<size_t>(n));
    while (!buf.empty() && buf.back() == '\n')
        buf.pop_back();
    auto nl = buf.rfind('\n');
    auto line = nl == std::string::npos ? buf : buf.substr(nl + 1);
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("run_id") || !j["run_id"].is_string()) return "";
    return j["run_id"].get<std::string>();
}

}  // namespace

void append_record(const std::string& path, const std::string& line, const std::string& run_id,
                   uint64_t rotate_bytes) {
    std::string whole = line + "\n";
    for (int attempt = 0;; ++attempt) {
        int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            throw std::system_error(errno, std::generic_category(),
                                    "cannot open records file " + path);
        auto fail = [&](const std::string& what) {
            int err = errno;
            ::close(fd);
            throw std::system_error(err, std::generic_category(), what + " " + path);
        };
        while (::flock(fd, LOCK_EX) != 0)
            if (errno != EINTR) fail("flock");
        struct stat open_st {
        }, path_st{};
        if (::fstat(fd, &open_st) != 0) fail("fstat");
        // Another launcher rotated the file while we waited for the lock.
        if (attempt < 8 && (::stat(path.c_str(), &path_st) != 0 ||
                            path_st.st_ino != open_st.st_ino || path_st.st_dev != open_st.st_dev)) {
            ::close(fd);
            continue;
        }
        if (attempt < 8 && static_cast<uint64_t>(open_st.st_size) >= rotate_bytes &&
            last_run_id(fd, open_st.st_size) != run_id) {
            if (::rename(path.c_str(), (path + ".1").c_str()) != 0) fail("cannot rotate");
            ::close(fd);
            continue;
        }
        ssize_t n;
        do {
            n = ::write(fd, whole.data(), whole.size());
        } while (n < 0 && errno == EINTR);
        if (n < 0) fail("write");
        ::close(fd);  // releases the flock
        if (static_cast<size_t>(n) != whole.size())
            throw std::system_error(EIO, std::generic_category(),
                                    "short write to " + path + " (disk full?)");
        return;
    }
}

}  // namespace corral::records
