#include "runtime/records.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <system_error>

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
    j["memory_limit_bytes"] =
        r.memory_limit_bytes ? nlohmann::json(*r.memory_limit_bytes) : nlohmann::json(nullptr);
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

}  // namespace corral::records
