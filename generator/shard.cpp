// corral shard's partitioner (make_shards): the corral strategy (seed,
// bounded-load rendezvous placement, local improvement on the simulated
// makespan) and the greedy/hash/stride baselines. Inputs: shard_read.cpp;
// the scheduler model: shard_model.cpp; the files written: shard_output.cpp.
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

namespace {

// The corral strategy on groups: seed, bounded-load rendezvous placement,
// then local improvement on the simulated makespan.
class Partitioner {
  public:
    Partitioner(std::vector<TestPrediction>& tests, const Runner& runner, int shards,
                double tolerance)
        : tests_(tests), runner_(runner), n_(shards), tol_(tolerance), model_(runner) {
        for (size_t i = 0; i < tests_.size(); ++i)
            members_[tests_[i].group].push_back(i);
        for (const auto& [g, idx] : members_) {
            Load l;
            for (size_t i : idx)
                l.add(model_.of(tests_[i].task));
            area_[g] = l;
        }
    }

    void run(const std::map<std::string, int>* previous) {
        std::vector<Load> load(static_cast<size_t>(n_));
        std::vector<int> unplaced;
        for (const auto& [g, idx] : members_) {
            int seed = -1;
            if (previous)
                for (size_t i : idx) {
                    auto it = previous->find(tests_[i].name);
                    if (it != previous->end() && it->second >= 0 && it->second < n_) {
                        seed = it->second;
                        break;
                    }
                }
            if (seed >= 0) {
                assign(g, seed);
                add_to(load[static_cast<size_t>(seed)], g);
            } else {
                unplaced.push_back(g);
            }
        }
        Load all;
        for (const auto& [g, l] : area_)
            all.add(as_area(l));
        double target = all.longest;
        for (double d : all.dims)
            target = std::max(target, d / n_);
        const double cap = target * (1.0 + tol_);

        // Largest first; each to its highest-ranked shard (rendezvous hashing
        // on the group's first test name) that stays under the cap, else to the
        // shard it loads least.
        std::stable_sort(unplaced.begin(), unplaced.end(),
                         [&](int a, int b) { return area_[a].value() > area_[b].value(); });
        for (int g : unplaced) {
            const std::string& key = tests_[members_[g].front()].name;
            std::vector<std::pair<uint64_t, int>> rank;
            for (int k = 0; k < n_; ++k)
                rank.emplace_back(hash_name(key, static_cast<uint64_t>(k) + 1), k);
            std::sort(rank.begin(), rank.end(), std::greater<>());
            int chosen = -1;
            for (const auto& [h, k] : rank)
                if (plus(load[static_cast<size_t>(k)], as_area(area_[g])).value() <= cap) {
                    chosen = k;
                    break;
                }
            if (chosen < 0) {
                double best = 0;
                for (const auto& [h, k] : rank) {
                    double v = plus(load[static_cast<size_t>(k)], as_area(area_[g])).value();
                    if (chosen < 0 || v < best) chosen = k, best = v;
                }
            }
            assign(g, chosen);
            add_to(load[static_cast<size_t>(chosen)], g);
        }
        improve();
    }

  private:
    static Area as_area(const Load& l) { return {l.dims, l.longest}; }
    void add_to(Load& l, int g) { l.add(as_area(area_[g])); }
    void assign(int g, int k) {
        for (size_t i : members_[g])
            tests_[i].shard = k;
        shard_of_[g] = k;
    }
    double sim(int k, int without = -1, int with = -1) const {
        std::vector<SimTask> t;
        for (const auto& [g, idx] : members_) {
            int s = shard_of_.at(g);
            if ((s == k && g != without) || g == with)
                for (size_t i : idx)
                    t.push_back(tests_[i].task);
        }
        return simulate_makespan(t, runner_);
    }

    // Moves (and swaps) of groups out of the shard with the longest simulated
    // makespan, best first, while that shortens it and the target is not met.
    void improve() {
        ShardResult r = evaluate(tests_, runner_, n_);
        std::vector<double> ms = r.makespan;
        const double goal = r.ideal * (1.0 + tol_);
        for (int round = 0; round < 400; ++round) {
            int worst = static_cast<int>(std::max_element(ms.begin(), ms.end()) - ms.begin());
            if (ms[static_cast<size_t>(worst)] <= goal) return;
            const double current = ms[static_cast<size_t>(worst)];
            struct Move {
                double score;
                double weight;
                int g, h, to;
                double new_worst, new_to;
            };
            std::optional<Move> best;
            std::vector<int> mine;
            for (const auto& [g, s] : shard_of_)
                if (s == worst) mine.push_back(g);
            for (int to = 0; to < n_; ++to) {
                if (to == worst) continue;
                const double gap = current - ms[static_cast<size_t>(to)];
                if (gap <= 1e-9) continue;
                std::vector<int> theirs;
                for (const auto& [g, s] : shard_of_)
                    if (s == to) theirs.push_back(g);
                // Candidate moves: a group whose weight is below the gap, or a
                // swap whose difference is; ranked by how close they come to
                // half the gap, the best few simulated.
                std::vector<std::tuple<double, int, int>> cands;  // (|delta - gap/2|, g, h)
                for (int g : mine) {
                    double wg = area_[g].value();
                    if (wg < gap) cands.emplace_back(std::abs(wg - gap / 2), g, -1);
                    for (int h : theirs) {
                        double d = wg - area_[h].value();
                        if (d > 1e-9 && d < gap) cands.emplace_back(std::abs(d - gap / 2), g, h);
                    }
                }
                std::stable_sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) {
                    return std::get<0>(a) < std::get<0>(b);
                });
                if (cands.size() > 24) cands.resize(24);
                for (const auto& [score, g, h] : cands) {
                    double nw = sim_swap(worst, g, h);
                    double nt = sim_swap(to, h, g);
                    double m = std::max(nw, nt);
                    if (m >= current - 1e-9) continue;
                    double weight = area_[g].value() + (h >= 0 ? area_[h].value() : 0);
                    if (!best || m < best->score - 1e-9 ||
                        (std::abs(m - best->score) <= 1e-9 && weight < best->weight))
                        best = Move{m, weight, g, h, to, nw, nt};
                }
            }
            if (!best) return;
            assign(best->g, best->to);
            if (best->h >= 0) assign(best->h, worst);
            ms[static_cast<size_t>(worst)] = best->new_worst;
            ms[static_cast<size_t>(best->to)] = best->new_to;
        }
    }
    // Shard k's makespan with group `out` removed and `in` added (-1: none).
    double sim_swap(int k, int out, int in) const {
        std::vector<SimTask> t;
        for (const auto& [g, idx] : members_) {
            int s = shard_of_.at(g);
            if ((s == k && g != out) || (in >= 0 && g == in))
                for (size_t i : idx)
                    t.push_back(tests_[i].task);
        }
        return simulate_makespan(t, runner_);
    }

    std::vector<TestPrediction>& tests_;
    const Runner& runner_;
    int n_;
    double tol_;
    AreaModel model_;
    std::map<int, std::vector<size_t>> members_;
    std::map<int, Load> area_;
    std::map<int, int> shard_of_;
};

}  // namespace

ShardPlan make_shards(const std::vector<CTestTest>& tests, const Profile* profile,
                      const Runner& runner, const ShardOptions& options,
                      const std::map<std::string, int>* previous) {
    if (options.shards < 1) throw ShardError("--shards: expected a number of shards >= 1");
    ShardPlan plan;
    plan.shards = options.shards;
    plan.strategy = options.strategy;
    plan.runner = runner;

    // The default duration: stated, or the median of what the profile knows.
    double def = options.default_duration;
    if (def < 0) {
        std::vector<double> known;
        if (profile)
            for (const auto& t : tests) {
                auto it = profile->tests.find(t.name);
                if (it != profile->tests.end()) known.push_back(it->second.wall_median_seconds);
            }
        if (known.empty()) {
            def = 1.0;
        } else {
            std::sort(known.begin(), known.end());
            size_t m = known.size() / 2;
            def = known.size() % 2 ? known[m] : (known[m - 1] + known[m]) / 2;
        }
    }
    plan.default_duration = def;

    const std::vector<int> groups = fixture_groups(tests);
    int defaulted = 0;
    for (size_t i = 0; i < tests.size(); ++i) {
        const CTestTest& t = tests[i];
        TestPrediction p;
        p.name = t.name;
        p.number = t.number;
        p.group = groups[i];
        const ProfileEntry* known = nullptr;
        if (profile) {
            auto it = profile->tests.find(t.name);
            if (it != profile->tests.end()) known = &it->second;
        }
        p.task.duration = known ? known->wall_median_seconds : def;
        p.duration_source = known ? "profile" : "default";
        if (!known) ++defaulted;
        p.task.processors = std::max(1, t.processors);
        p.task.run_serial = t.run_serial;
        for (const auto& need : t.resources)
            p.task.needs[need.type] += need.slots;
        if (p.task.needs.count("mem_mib")) {
            p.memory_source = "declared";
        } else if (known && known->peak_memory_bytes && *known->peak_memory_bytes > 0) {
            p.task.needs["mem_mib"] =
                static_cast<int64_t>((*known->peak_memory_bytes + kMiB - 1) / kMiB);
            p.memory_source = "profile";
        } else {
            p.memory_source = "none";
        }
        // The order the shard's ctest will use: COST, else the cost file we write.
        p.task.cost = t.cost != 0 ? t.cost : p.task.duration;
        for (const auto& [type, n] : p.task.needs) {
            auto cap = runner.slots.find(type);
            if (cap != runner.slots.end() && n > cap->second)
                plan.notes.push_back("test \"" + t.name + "\" needs " + type + ":" +
                                     std::to_string(n) + " but the runner has " +
                                     std::to_string(cap->second) +
                                     " slots: ctest will not run it (Insufficient resources); "
                                     "modelled as holding them all");
        }
        plan.tests.push_back(std::move(p));
    }
    if (defaulted > 0)
        plan.notes.push_back(std::to_string(defaulted) + " of " + std::to_string(tests.size()) +
                             " tests are not in the profile: predicted at " +
                             human_number(round_ms(def)) + " s each");

    const int n = options.shards;
    switch (options.strategy) {
        case Strategy::stride:
            for (auto& p : plan.tests)
                p.shard = (p.number - 1) % n;
            break;
        case Strategy::hash:
            for (auto& p : plan.tests)
                p.shard = static_cast<int>(hash_name(p.name) % static_cast<uint64_t>(n));
            break;
        case Strategy::greedy: {
            std::vector<size_t> order(plan.tests.size());
            std::iota(order.begin(), order.end(), size_t{0});
            std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
                return plan.tests[a].task.duration > plan.tests[b].task.duration;
            });
            std::vector<double> sum(static_cast<size_t>(n), 0.0);
            for (size_t i : order) {
                size_t k =
                    static_cast<size_t>(std::min_element(sum.begin(), sum.end()) - sum.begin());
                plan.tests[i].shard = static_cast<int>(k);
                sum[k] += plan.tests[i].task.duration;
            }
            break;
        }
        case Strategy::corral: {
            Partitioner part(plan.tests, runner, n, options.tolerance);
            part.run(previous);
            if (previous)
                for (const auto& p : plan.tests) {
                    auto it = previous->find(p.name);
                    if (it == previous->end()) continue;
                    if (it->second == p.shard)
                        ++plan.kept;
                    else
                        ++plan.moved;
                }
            break;
        }
    }
    plan.result = evaluate(plan.tests, runner, n);
    return plan;
}

}  // namespace corral::shard
