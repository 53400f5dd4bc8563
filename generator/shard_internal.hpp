// Shared by the shard files (shard_read.cpp, shard_model.cpp, shard.cpp,
// shard_output.cpp); not part of the generator's interface.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "generator/shard.hpp"

namespace corral::shard::detail {

constexpr uint64_t kMiB = 1024ull * 1024ull;

// FNV-1a 64 then the splitmix64 finaliser: stable across platforms and runs.
inline uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
inline uint64_t hash_name(std::string_view s, uint64_t salt = 0) {
    uint64_t h = 0xcbf29ce484222325ull ^ mix(salt);
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return mix(h);
}

inline double round_ms(double s) {
    return std::round(s * 1000.0) / 1000.0;
}

const char* strategy_name(Strategy s);

// A test's share of the runner in each dimension (CPU slots of -j, then each
// resource type), as seconds of the whole runner: duration x share.
struct Area {
    std::vector<double> dims;
    double longest = 0;
};

class AreaModel {
  public:
    explicit AreaModel(const Runner& r) : runner_(r), P_(std::max(1, r.parallel_level)) {
        for (const auto& [type, cap] : r.slots)
            if (cap > 0) types_.push_back(type);
    }
    size_t size() const { return types_.size() + 1; }
    Area of(const SimTask& t) const {
        Area a;
        a.dims.assign(size(), 0.0);
        const double d = std::max(0.0, t.duration);
        const int procs = t.run_serial ? P_ : std::min(std::max(1, t.processors), P_);
        a.dims[0] = d * procs / P_;
        for (size_t k = 0; k < types_.size(); ++k) {
            auto it = t.needs.find(types_[k]);
            if (it == t.needs.end()) continue;
            const int64_t cap = runner_.slots.at(types_[k]);
            const double share = static_cast<double>(std::min(it->second, cap)) / cap;
            a.dims[k + 1] = d * (t.run_serial ? 1.0 : share);
        }
        a.longest = d;
        return a;
    }

  private:
    const Runner& runner_;
    int P_;
    std::vector<std::string> types_;
};

struct Load {
    std::vector<double> dims;
    double longest = 0;
    void add(const Area& a) {
        if (dims.size() < a.dims.size()) dims.resize(a.dims.size(), 0.0);
        for (size_t k = 0; k < a.dims.size(); ++k)
            dims[k] += a.dims[k];
        longest = std::max(longest, a.longest);
    }
    double value() const {
        double v = longest;
        for (double d : dims)
            v = std::max(v, d);
        return v;
    }
};

inline Load plus(Load l, const Area& a) {
    l.add(a);
    return l;
}

// Union-find over fixture names: tests sharing a fixture form one group.
std::vector<int> fixture_groups(const std::vector<CTestTest>& tests);

// The tests placed on shard `k`, as scheduler tasks.
std::vector<SimTask> shard_tasks(const std::vector<TestPrediction>& tests, int k);

}  // namespace corral::shard::detail
