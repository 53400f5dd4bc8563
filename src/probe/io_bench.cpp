#include "probe/io_bench.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "probe/probe_tempdir.hpp"

namespace corral {
namespace {

std::string format_result(uint64_t bytes, double seconds, uint64_t chunk,
                          const std::string& method) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "wrote %.1f MiB in %.3f s, fsync after every %llu MiB (sequential 1 MiB "
                  "writes to %s, removed)",
                  static_cast<double>(bytes) / (1 << 20), seconds,
                  static_cast<unsigned long long>(chunk >> 20), method.c_str());
    return buf;
}

}  // namespace

IoBenchResult measure_write_throughput(const std::string& dir, std::optional<uint64_t> free_bytes,
                                       const IoBenchLimits& limits) {
    using Clock = std::chrono::steady_clock;
    constexpr size_t kBlock = 1 << 20;
    IoBenchResult result;

    uint64_t budget = limits.max_bytes;
    if (free_bytes) budget = std::min(budget, *free_bytes / 2);
    if (budget < kBlock) {
        result.detail = "not measured: less than 2 MiB free";
        return result;
    }

    ProbeFiles files(dir);
    int fd = files.open_file(O_WRONLY);
    if (fd < 0) {
        result.detail = "not measured: creating a file in " + dir + ": " + errno_text(errno);
        return result;
    }
    files.remove_names();

    // Not all zeros, so compressing or deduplicating filesystems still write.
    std::vector<unsigned char> block(kBlock);
    uint32_t x = 2463534242u;
    for (auto& b : block) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<unsigned char>(x);
    }

    const uint64_t chunk = std::max<uint64_t>(limits.chunk_bytes, kBlock);
    const auto start = Clock::now();
    const auto deadline = start + limits.max_time;
    uint64_t written = 0;
    uint64_t since_sync = 0;
    int err = 0;
    while (written < budget) {
        ssize_t n = ::write(fd, block.data(), block.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            err = errno;
            break;
        }
        written += static_cast<uint64_t>(n);
        since_sync += static_cast<uint64_t>(n);
        if (since_sync >= chunk || written >= budget) {
            if (::fsync(fd) != 0) {
                err = errno;
                break;
            }
            since_sync = 0;
            if (Clock::now() >= deadline) break;
        }
    }
    if (err == 0 && since_sync > 0 && ::fsync(fd) != 0) err = errno;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    ::close(fd);

    if (err != 0) {
        result.detail = "not measured: writing after " + std::to_string(written >> 20) +
                        " MiB: " + errno_text(err);
        return result;
    }
    result.bytes = written;
    result.seconds = seconds;
    if (seconds > 0) result.mb_per_s = static_cast<double>(written) / seconds / 1e6;
    result.detail = format_result(written, seconds, chunk, files.described());
    return result;
}

}  // namespace corral
