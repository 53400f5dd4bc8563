// corral shard: test list, profile, CTest scheduler model, partitioner.
#include "generator/shard.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <set>
#include <sstream>

#include "common/text.hpp"

namespace corral::shard {
namespace {

// The fixture corral_setup() gives every Corral test (cmake/CorralFunctions.cmake).
constexpr const char* kRunnerFixture = "corral";

using json = nlohmann::json;
constexpr uint64_t kMiB = 1024ull * 1024ull;

// FNV-1a 64 then the splitmix64 finaliser: stable across platforms and runs.
uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
uint64_t hash_name(std::string_view s, uint64_t salt = 0) {
    uint64_t h = 0xcbf29ce484222325ull ^ mix(salt);
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return mix(h);
}

double round_ms(double s) {
    return std::round(s * 1000.0) / 1000.0;
}

std::vector<std::string> string_list(const json& v, const std::string& where) {
    std::vector<std::string> out;
    if (v.is_string()) {
        out.push_back(v.get<std::string>());
        return out;
    }
    if (!v.is_array()) throw ShardError(where + ": expected a list of strings");
    for (const auto& e : v) {
        if (!e.is_string()) throw ShardError(where + ": expected a list of strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

double number_of(const json& v, const std::string& where) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {  // older CTest may print numbers as strings
        try {
            size_t used = 0;
            double d = std::stod(v.get<std::string>(), &used);
            if (used == v.get<std::string>().size()) return d;
        } catch (const std::exception&) {
        }
    }
    throw ShardError(where + ": expected a number, got " + v.dump());
}

bool bool_of(const json& v) {
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_string()) {  // CMake truth: ON/TRUE/YES/Y/1 or a non-zero number
        std::string s = v.get<std::string>();
        std::transform(s.begin(), s.end(), s.begin(), ::toupper);
        return s == "1" || s == "ON" || s == "TRUE" || s == "YES" || s == "Y";
    }
    if (v.is_number()) return v.get<double>() != 0;
    return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Inputs

std::vector<CTestTest> parse_ctest_tests(std::string_view json_text, const std::string& origin) {
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw ShardError(origin + ": not the JSON of `ctest --show-only=json-v1`: " + e.what());
    }
    if (!doc.is_object() || !doc.contains("tests") || !doc["tests"].is_array())
        throw ShardError(origin + ": expected an object with a \"tests\" list (ctest json-v1)");
    std::vector<CTestTest> out;
    std::set<std::string> with_setup;                // fixtures some test sets up
    std::map<size_t, std::set<std::string>> cleans;  // index in `out` -> FIXTURES_CLEANUP
    int number = 0;
    for (const auto& t : doc["tests"]) {
        ++number;
        const std::string where = origin + ": tests[" + std::to_string(number - 1) + "]";
        if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
            throw ShardError(where + ": expected an object with a string \"name\"");
        CTestTest test;
        test.name = t["name"].get<std::string>();
        test.number = number;
        std::set<std::string> fixtures, cleanups;
        bool per_machine = false;
        if (t.contains("properties")) {
            if (!t["properties"].is_array())
                throw ShardError(where + ".properties: expected a list");
            for (const auto& p : t["properties"]) {
                if (!p.is_object() || !p.contains("name") || !p["name"].is_string() ||
                    !p.contains("value"))
                    throw ShardError(where + ".properties: expected {\"name\", \"value\"} objects");
                const std::string key = p["name"].get<std::string>();
                const json& v = p["value"];
                const std::string at = where + "." + key;
                if (key == "LABELS") {
                    test.labels = string_list(v, at);
                } else if (key == "PROCESSORS") {
                    test.processors = std::max(1, static_cast<int>(number_of(v, at)));
                } else if (key == "RUN_SERIAL") {
                    test.run_serial = bool_of(v);
                } else if (key == "DISABLED") {
                    test.disabled = bool_of(v);
                } else if (key == "COST") {
                    test.cost = number_of(v, at);
                } else if (key == "TIMEOUT") {
                    test.timeout = number_of(v, at);
                } else if (key == "FIXTURES_SETUP" || key == "FIXTURES_CLEANUP" ||
                           key == "FIXTURES_REQUIRED") {
                    for (auto& f : string_list(v, at)) {
                        // corral_setup()'s fixture (cmake/CorralFunctions.cmake): its setup
                        // (corral.spec) and cleanup (corral.reap) belong to each runner, and
                        // ctest adds them to any selection requiring it (ctest(1),
                        // FIXTURES_REQUIRED): they join no group and go in no shard.
                        if (f == kRunnerFixture) {
                            per_machine |= key != "FIXTURES_REQUIRED";
                            continue;
                        }
                        fixtures.insert(f);
                        if (key == "FIXTURES_SETUP") with_setup.insert(f);
                        if (key == "FIXTURES_CLEANUP") cleanups.insert(f);
                    }
                } else if (key == "RESOURCE_GROUPS") {
                    if (!v.is_array()) throw ShardError(at + ": expected a list of groups");
                    for (const auto& g : v) {
                        if (!g.is_object() || !g.contains("requirements") ||
                            !g["requirements"].is_array())
                            throw ShardError(at + ": expected groups with \"requirements\"");
                        for (const auto& r : g["requirements"]) {
                            if (!r.is_object() || !r.contains(".type") || !r[".type"].is_string() ||
                                !r.contains("slots"))
                                throw ShardError(at +
                                                 ": expected requirements {\".type\", \"slots\"}");
                            test.resources.push_back(
                                {r[".type"].get<std::string>(),
                                 static_cast<int64_t>(number_of(r["slots"], at + ".slots"))});
                        }
                    }
                }
            }
        }
        test.fixtures.assign(fixtures.begin(), fixtures.end());
        if (per_machine) continue;
        if (!cleanups.empty()) cleans[out.size()] = std::move(cleanups);
        out.push_back(std::move(test));
    }
    // A fixture without a setup test (Corral's own `corral`, whose only member is
    // the cleanup test corral.reap) ties nothing together: ctest adds a required
    // fixture's cleanup test to every run that selects a test requiring it
    // (ctest(1), "FIXTURES_REQUIRED"), so each shard gets its own. Such cleanup
    // tests are not shard members, and such fixtures do not group tests.
    std::vector<CTestTest> kept;
    for (size_t i = 0; i < out.size(); ++i) {
        auto c = cleans.find(i);
        bool cleanup_only = c != cleans.end() &&
                            std::any_of(c->second.begin(), c->second.end(),
                                        [&](const std::string& f) { return !with_setup.count(f); });
        if (cleanup_only) continue;
        auto& f = out[i].fixtures;
        f.erase(std::remove_if(f.begin(), f.end(),
                               [&](const std::string& n) { return !with_setup.count(n); }),
                f.end());
        kept.push_back(std::move(out[i]));
    }
    return kept;
}

Profile parse_profile(std::string_view text, const std::string& origin) {
    Profile prof;
    std::string_view trimmed = trim(text);
    if (!trimmed.empty() && trimmed.front() == '{') {
        json doc;
        try {
            doc = json::parse(text);
        } catch (const json::parse_error& e) {
            throw ShardError(origin + ": not valid JSON: " + e.what());
        }
        if (!doc.is_object() || !doc.contains("schema") || doc["schema"] != "corral.profile/1")
            throw ShardError(origin +
                             ": expected \"schema\": \"corral.profile/1\" (docs/profile.md)");
        if (!doc.contains("tests") || !doc["tests"].is_object())
            throw ShardError(origin + ": expected \"tests\": an object keyed by CTest test name");
        prof.format = "corral.profile/1";
        for (const auto& [name, t] : doc["tests"].items()) {
            const std::string where = origin + ": tests[\"" + name + "\"]";
            if (!t.is_object()) throw ShardError(where + ": expected an object");
            ProfileEntry e;
            if (!t.contains("wall_seconds") || !t["wall_seconds"].is_object() ||
                !t["wall_seconds"].contains("median"))
                throw ShardError(where + ": expected \"wall_seconds\": {\"median\": seconds}");
            e.wall_median_seconds =
                number_of(t["wall_seconds"]["median"], where + ".wall_seconds.median");
            if (!(e.wall_median_seconds >= 0) || !std::isfinite(e.wall_median_seconds))
                throw ShardError(where + ".wall_seconds.median: expected seconds >= 0");
            if (t["wall_seconds"].contains("max") && !t["wall_seconds"]["max"].is_null())
                e.wall_max_seconds =
                    number_of(t["wall_seconds"]["max"], where + ".wall_seconds.max");
            if (t.contains("memory_bytes") && t["memory_bytes"].is_object() &&
                t["memory_bytes"].contains("max") && !t["memory_bytes"]["max"].is_null()) {
                const json& m = t["memory_bytes"]["max"];
                if (!m.is_number_unsigned() && !(m.is_number_integer() && m.get<int64_t>() >= 0))
                    throw ShardError(where + ".memory_bytes.max: expected bytes (an integer >= 0)");
                e.peak_memory_bytes = m.get<uint64_t>();
            }
            prof.tests[name] = e;
        }
        return prof;
    }
    // CTestCostData.txt: "<name> <previous runs> <average cost>" per line, then
    // "---" and the names of the tests that failed last time.
    prof.format = "CTestCostData.txt";
    int line_no = 0;
    for (auto line : split_lines(text)) {
        ++line_no;
        if (line == "---") break;
        if (line.empty()) continue;
        auto sp2 = line.rfind(' ');
        auto sp1 = sp2 == std::string_view::npos || sp2 == 0 ? std::string_view::npos
                                                             : line.rfind(' ', sp2 - 1);
        if (sp1 == std::string_view::npos || sp1 == 0)
            throw ShardError(origin + ":" + std::to_string(line_no) +
                             ": expected \"<test name> <runs> <seconds>\" (CTestCostData.txt) or "
                             "a corral.profile/1 JSON document");
        std::string cost_text(line.substr(sp2 + 1));
        auto runs = parse_u64(line.substr(sp1 + 1, sp2 - sp1 - 1));
        double cost = 0;
        try {
            size_t used = 0;
            cost = std::stod(cost_text, &used);
            if (used != cost_text.size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
            runs.reset();
        }
        if (!runs || !(cost >= 0) || !std::isfinite(cost))
            throw ShardError(origin + ":" + std::to_string(line_no) +
                             ": expected \"<test name> <runs> <seconds>\", got \"" +
                             std::string(line) + "\"");
        ProfileEntry e;
        e.wall_median_seconds = cost;
        prof.tests[std::string(line.substr(0, sp1))] = e;
    }
    return prof;
}

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

namespace {
const char* strategy_name(Strategy s) {
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

Load plus(Load l, const Area& a) {
    l.add(a);
    return l;
}

// Union-find over fixture names: tests sharing a fixture form one group.
std::vector<int> fixture_groups(const std::vector<CTestTest>& tests) {
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

std::vector<SimTask> shard_tasks(const std::vector<TestPrediction>& tests, int k) {
    std::vector<SimTask> out;
    for (const auto& t : tests)
        if (t.shard == k) out.push_back(t.task);
    return out;
}

}  // namespace

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

// ---------------------------------------------------------------------------
// Outputs

std::string ctest_regex_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == ' ' || c == '-';
        if (!plain) out += '\\';
        out += c;
    }
    return out;
}

std::string tests_file(const ShardPlan& plan, int k) {
    std::string out;
    for (const auto& t : plan.tests)
        if (t.shard == k) out += t.name + "\n";
    return out;
}

std::string regex_file(const ShardPlan& plan, int k) {
    std::string alt;
    for (const auto& t : plan.tests)
        if (t.shard == k) alt += (alt.empty() ? "" : "|") + ctest_regex_escape(t.name);
    // An empty shard must select nothing: a regex no test name can match.
    if (alt.empty()) return "^$a\n";
    return "^(" + alt + ")$\n";
}

std::string cost_data_file(const ShardPlan& plan) {
    std::vector<const TestPrediction*> by_name;
    for (const auto& t : plan.tests)
        by_name.push_back(&t);
    std::stable_sort(by_name.begin(), by_name.end(),
                     [](const auto* a, const auto* b) { return a->name < b->name; });
    std::string out;
    for (const auto* t : by_name)
        out += t->name + " 1 " + shortest_decimal(round_ms(t->task.cost)) + "\n";
    out += "---\n";
    return out;
}

nlohmann::ordered_json to_json(const ShardPlan& plan) {
    using oj = nlohmann::ordered_json;
    const ShardResult& r = plan.result;
    oj doc;
    doc["schema"] = kShardsSchema;
    doc["strategy"] = strategy_name(plan.strategy);
    doc["shards"] = plan.shards;
    oj runner;
    runner["parallel_level"] = plan.runner.parallel_level;
    runner["slots"] = oj::object();
    for (const auto& [type, n] : plan.runner.slots)
        runner["slots"][type] = n;
    doc["runner"] = runner;
    doc["default_duration_seconds"] = round_ms(plan.default_duration);
    doc["ideal_seconds"] = round_ms(r.ideal);
    doc["total_seconds"] = round_ms(r.total);
    doc["longest_seconds"] = round_ms(r.longest);
    doc["max_makespan_seconds"] = round_ms(r.max_makespan());
    doc["ratio"] = r.ideal > 0 ? std::round(r.max_makespan() / r.ideal * 10000) / 10000 : 1.0;
    doc["seeded"] = {{"kept", plan.kept}, {"moved", plan.moved}};
    doc["notes"] = plan.notes;
    oj list = oj::array();
    for (int k = 0; k < plan.shards; ++k) {
        const double m = r.makespan[static_cast<size_t>(k)];
        list.push_back({{"shard", k + 1},
                        {"tests", r.test_count[static_cast<size_t>(k)]},
                        {"predicted_makespan_seconds", round_ms(m)},
                        {"ratio", r.ideal > 0 ? std::round(m / r.ideal * 10000) / 10000 : 1.0},
                        {"tests_file", "shard-" + std::to_string(k + 1) + ".tests"},
                        {"regex_file", "shard-" + std::to_string(k + 1) + ".regex"}});
    }
    doc["shard_list"] = list;
    oj tests = oj::array();
    for (const auto& t : plan.tests)
        tests.push_back(
            {{"name", t.name},
             {"number", t.number},
             {"shard", t.shard + 1},
             {"duration_seconds", round_ms(t.task.duration)},
             {"duration_source", t.duration_source},
             {"memory_mib", t.task.needs.count("mem_mib") ? t.task.needs.at("mem_mib") : 0},
             {"memory_source", t.memory_source},
             {"processors", t.task.processors}});
    doc["tests"] = tests;
    return doc;
}

std::map<std::string, int> parse_previous(std::string_view json_text, const std::string& origin,
                                          int shards) {
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw ShardError(origin + ": not valid JSON: " + e.what());
    }
    if (!doc.is_object() || doc.value("schema", "") != kShardsSchema)
        throw ShardError(origin + ": expected \"schema\": \"" + std::string(kShardsSchema) + "\"");
    std::map<std::string, int> out;
    if (!doc.contains("shards") || !doc["shards"].is_number_integer() || doc["shards"] != shards)
        return out;
    if (!doc.contains("tests") || !doc["tests"].is_array())
        throw ShardError(origin + ": expected a \"tests\" list");
    int idx = 0;
    for (const auto& t : doc["tests"]) {
        if (!t.is_object() || !t.contains("name") || !t["name"].is_string() ||
            !t.contains("shard") || !t["shard"].is_number_integer())
            throw ShardError(origin + ": tests[" + std::to_string(idx) +
                             "]: expected {\"name\": string, \"shard\": 1..N}");
        int s = t["shard"].get<int>();
        if (s >= 1 && s <= shards) out[t["name"].get<std::string>()] = s - 1;
        ++idx;
    }
    return out;
}

}  // namespace corral::shard
