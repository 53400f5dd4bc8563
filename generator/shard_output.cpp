// corral shard's outputs: the per-shard test lists and regexes, the cost data
// file and shards.json (corral.shards/1, docs/sharding.md).
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
        if (t.shard == k) alt += cat({alt.empty() ? "" : "|", ctest_regex_escape(t.name)});
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

}  // namespace corral::shard
