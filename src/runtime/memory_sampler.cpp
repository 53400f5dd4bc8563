#include "runtime/memory_sampler.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "common/text.hpp"

namespace corral::launcher {

std::optional<uint64_t> nonreclaimable_of(std::string_view memory_stat, bool v2) {
    std::map<std::string, uint64_t, std::less<>> v;
    for (auto line : split(memory_stat, '\n')) {
        auto space = line.find(' ');
        if (space == std::string_view::npos) continue;
        if (auto n = parse_u64(trim(line.substr(space + 1))))
            v.emplace(std::string(line.substr(0, space)), *n);
    }
    auto get = [&](const char* key) -> std::optional<uint64_t> {
        auto it = v.find(key);
        if (it == v.end()) return std::nullopt;
        return it->second;
    };
    if (!v2) {
        auto rss = get("total_rss") ? get("total_rss") : get("rss");
        auto shmem = get("total_shmem") ? get("total_shmem") : get("shmem");
        if (!rss && !shmem) return std::nullopt;
        return rss.value_or(0) + shmem.value_or(0);
    }
    auto anon = get("anon");
    if (!anon) return std::nullopt;
    uint64_t total = *anon + get("shmem").value_or(0);
    if (auto kernel = get("kernel")) {
        uint64_t reclaimable = get("slab_reclaimable").value_or(0);
        total += *kernel > reclaimable ? *kernel - reclaimable : 0;
    } else {
        total += get("kernel_stack").value_or(0) + get("pagetables").value_or(0) +
                 get("slab_unreclaimable").value_or(0);
    }
    return total;
}

MemorySampler::MemorySampler(const std::string& cgroup_dir, bool v2)
    : fd_(::open((cgroup_dir + "/memory.stat").c_str(), O_RDONLY | O_CLOEXEC)), v2_(v2) {}

MemorySampler::~MemorySampler() {
    if (fd_ >= 0) ::close(fd_);
}

MemorySampler::MemorySampler(MemorySampler&& o) noexcept
    : fd_(o.fd_), v2_(o.v2_), peak_(o.peak_), samples_(o.samples_), outside_(o.outside_) {
    o.fd_ = -1;
}

MemorySampler& MemorySampler::operator=(MemorySampler&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        v2_ = o.v2_;
        peak_ = o.peak_;
        samples_ = o.samples_;
        outside_ = o.outside_;
        o.fd_ = -1;
    }
    return *this;
}

void MemorySampler::sample() {
    if (fd_ < 0) return;
    // memory.stat is a seq_file: a pread at offset 0 regenerates it. v1 has ~40
    // lines (~1 KiB), v2 ~60; 8 KiB holds either.
    char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t n = ::pread(fd_, buf + len, sizeof buf - len, static_cast<off_t>(len));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += static_cast<size_t>(n);
        if (len == sizeof buf) break;
    }
    if (len == 0) return;
    ++samples_;
    if (auto v = nonreclaimable_of(std::string_view(buf, len), v2_))
        if (!peak_ || *v + outside_ > *peak_) peak_ = *v + outside_;
}

}  // namespace corral::launcher
