// --io-bench: how fast can a scratch filesystem take sequential writes that
// must reach the disk (fsync included)? Bounded in bytes and in time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace corral {

struct IoBenchLimits {
    uint64_t max_bytes = 64ull << 20;         // stop after this much ...
    std::chrono::milliseconds max_time{300};  // ... or after this long, whichever first
    uint64_t chunk_bytes = 4ull << 20;        // fsync after every chunk (bounds the overrun)
};

struct IoBenchResult {
    std::optional<double> mb_per_s;  // 10^6 bytes per second, fsync time included
    std::string detail;              // bytes, seconds, method; or why not measured
    uint64_t bytes = 0;
    double seconds = 0;
};

// Writes into an O_CLOEXEC O_TMPFILE file in `dir` (or, where the filesystem
// lacks O_TMPFILE, one in a private mkdtemp directory, unlinked as soon as it
// is open), so nothing is ever left behind.
// `free_bytes`, when known, keeps the write under half of the free space.
IoBenchResult measure_write_throughput(const std::string& dir,
                                       std::optional<uint64_t> free_bytes = std::nullopt,
                                       const IoBenchLimits& limits = {});

}  // namespace corral
