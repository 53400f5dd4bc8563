// The test's non-reclaimable memory, sampled from its cgroup while it runs:
// what its processes really hold (anonymous memory, shmem/tmpfs, unreclaimable
// kernel memory), not the page cache its file I/O leaves behind, which the
// cgroup's raw peak counts. docs/runtime.md "Records", peak_nonreclaimable_bytes.
//
// Kernel: Documentation/admin-guide/cgroup-v1/memory.rst (memory.stat: rss,
// shmem) and Documentation/admin-guide/cgroup-v2.rst (memory.stat: anon,
// shmem, kernel, slab_reclaimable).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corral::launcher {

// Sampling period while the test runs: 20 ms. Cost per sample: one pread of
// memory.stat (bench/run_overhead "sampling cost").
inline constexpr int kMemorySampleMs = 20;

// Non-reclaimable bytes in one memory.stat text: v1 rss + shmem (total_*
// when present, so descendants count); v2 anon + shmem + (kernel -
// slab_reclaimable) (kernel only on >= 5.18; without it anon + shmem +
// kernel_stack + pagetables + slab_unreclaimable). nullopt when the text has
// none of these keys.
std::optional<uint64_t> nonreclaimable_of(std::string_view memory_stat, bool v2);

class MemorySampler {
  public:
    MemorySampler() = default;
    // Opens <cgroup_dir>/memory.stat; unusable (no samples) when it cannot.
    MemorySampler(const std::string& cgroup_dir, bool v2);
    ~MemorySampler();
    MemorySampler(const MemorySampler&) = delete;
    MemorySampler& operator=(const MemorySampler&) = delete;
    MemorySampler(MemorySampler&& o) noexcept;
    MemorySampler& operator=(MemorySampler&& o) noexcept;

    bool usable() const { return fd_ >= 0; }
    // Reads memory.stat once and keeps the maximum.
    void sample();
    // Memory the tree held (bytes) when it was moved into the cgroup late: still
    // charged to the launcher's cgroup (v1 moves no charges), so invisible to
    // memory.stat. It counts as a sample, and every later sample adds it: an
    // upper bound, as if all of it were held to the end.
    void charged_elsewhere(uint64_t bytes) {
        outside_ = bytes;
        if (!peak_ || bytes > *peak_) peak_ = bytes;
    }
    std::optional<uint64_t> peak() const { return peak_; }
    uint64_t samples() const { return samples_; }

  private:
    int fd_ = -1;
    bool v2_ = false;
    std::optional<uint64_t> peak_;
    uint64_t samples_ = 0;
    uint64_t outside_ = 0;
};

}  // namespace corral::launcher
