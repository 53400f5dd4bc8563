// corral shard's model of how CTest schedules one shard on a runner of the
// planned shape (simulate_makespan), and the evaluation of a partition.
#include "generator/shard.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <queue>
#include <set>
#include <sstream>

#include "common/text.hpp"
#include "generator/shard_internal.hpp"

namespace corral::shard {

using namespace detail;
using json = nlohmann::json;

// ---------------------------------------------------------------------------
// The CTest scheduler model

double simulate_makespan(const std::vector<SimTask>& tasks, const Runner& runner) {
    const int P = std::max(1, runner.parallel_level);
    std::vector<size_t> order(tasks.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return tasks[a].cost > tasks[b].cost; });

    // Needs capped at capacity; types the runner lacks are not limited.
    std::vector<std::vector<std::pair<std::string, int64_t>>> needs(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i)
        for (const auto& [type, n] : tasks[i].needs) {
            auto it = runner.slots.find(type);
            if (it == runner.slots.end() || n <= 0) continue;
            needs[i].emplace_back(type, std::min(n, it->second));
        }
    std::map<std::string, int64_t> free = runner.slots;
    int used = 0, running = 0;
    bool serial_running = false;
    std::vector<size_t> pending = order;
    using Event = std::pair<double, size_t>;  // (end time, task)
    std::priority_queue<Event, std::vector<Event>, std::greater<>> ends;
    double now = 0, makespan = 0;

    auto start_next = [&] {
        if (used >= P || serial_running) return;
        int num_to_start = P - used;
        for (size_t k = 0; k < pending.size() && num_to_start > 0 && !serial_running;) {
            size_t i = pending[k];
            const SimTask& t = tasks[i];
            int procs = std::min(std::max(1, t.processors), P);
            bool fits = !(t.run_serial && running > 0) && procs <= num_to_start;
            for (const auto& [type, n] : needs[i])
                if (fits && free[type] < n) fits = false;
            if (!fits) {
                ++k;
                continue;
            }
            for (const auto& [type, n] : needs[i])
                free[type] -= n;
            used += procs;
            ++running;
            num_to_start -= procs;
            if (t.run_serial) serial_running = true;
            ends.emplace(now + std::max(0.0, t.duration), i);
            pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(k));
        }
    };
    auto finish = [&](size_t i) {
        const SimTask& t = tasks[i];
        for (const auto& [type, n] : needs[i])
            free[type] += n;
        used -= std::min(std::max(1, t.processors), P);
        --running;
        if (t.run_serial) serial_running = false;
    };

    start_next();
    while (!ends.empty()) {
        now = ends.top().first;
        while (!ends.empty() && ends.top().first == now) {
            finish(ends.top().second);
            ends.pop();
        }
        makespan = now;
        start_next();
    }
    return makespan;
}

std::optional<Strategy> parse_strategy(std::string_view s) {
    if (s == "corral") return Strategy::corral;
    if (s == "greedy") return Strategy::greedy;
    if (s == "hash") return Strategy::hash;
    if (s == "stride") return Strategy::stride;
    return std::nullopt;
}

const char* detail::strategy_name(Strategy s) {
    switch (s) {
        case Strategy::corral:
            return "corral";
        case Strategy::greedy:
            return "greedy";
        case Strategy::hash:
            return "hash";
        case Strategy::stride:
            return "stride";
    }
    return "?";
}

std::vector<int> detail::fixture_groups(const std::vector<CTestTest>& tests) {
    std::vector<int> parent(tests.size());
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](int x) {
        while (parent[x] != x)
            x = parent[x] = parent[parent[x]];
        return x;
    };
    std::map<std::string, int> first;
    for (size_t i = 0; i < tests.size(); ++i)
        for (const auto& f : tests[i].fixtures) {
            auto [it, inserted] = first.emplace(f, static_cast<int>(i));
            if (!inserted) {
                int a = find(it->second), b = find(static_cast<int>(i));
                if (a != b) parent[std::max(a, b)] = std::min(a, b);
            }
        }
    std::vector<int> group(tests.size());
    for (size_t i = 0; i < tests.size(); ++i)
        group[i] = find(static_cast<int>(i));
    return group;
}

std::vector<SimTask> detail::shard_tasks(const std::vector<TestPrediction>& tests, int k) {
    std::vector<SimTask> out;
    for (const auto& t : tests)
        if (t.shard == k) out.push_back(t.task);
    return out;
}

double ShardResult::max_makespan() const {
    return makespan.empty() ? 0.0 : *std::max_element(makespan.begin(), makespan.end());
}

ShardResult evaluate(const std::vector<TestPrediction>& tests, const Runner& runner, int shards) {
    ShardResult r;
    r.makespan.assign(static_cast<size_t>(shards), 0.0);
    r.test_count.assign(static_cast<size_t>(shards), 0);
    AreaModel model(runner);
    Load all;
    for (const auto& t : tests) {
        all.add(model.of(t.task));
        if (t.shard >= 0 && t.shard < shards) ++r.test_count[static_cast<size_t>(t.shard)];
    }
    for (int k = 0; k < shards; ++k)
        r.makespan[static_cast<size_t>(k)] = simulate_makespan(shard_tasks(tests, k), runner);
    r.longest = all.longest;
    r.total = 0;
    for (double d : all.dims)
        r.total = std::max(r.total, d);
    r.ideal = std::max(r.total / shards, r.longest);
    return r;
}

}  // namespace corral::shard
