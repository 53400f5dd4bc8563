#include "report/run_summary.hpp"

#include "plan/plan_json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace corral::report {

std::vector<Record> select_run(const std::vector<Record>& all, const std::string& which,
                               std::string& label) {
    if (which == "all") {
        label = "all runs";
        return all;
    }
    std::string id;
    if (which == "last") {
        if (all.empty()) throw RecordsError("no records: the records file is empty");
        id = all.back().run_id;
    } else {
        std::vector<std::string> known;
        std::set<std::string> matches;
        for (const auto& r : all) {
            if (std::find(known.begin(), known.end(), r.run_id) == known.end())
                known.push_back(r.run_id);
            if (r.run_id == which) matches = {which};
        }
        if (matches.empty())
            for (const auto& k : known)
                if (k.rfind(which, 0) == 0) matches.insert(k);
        if (matches.size() != 1) {
            std::string list;
            for (const auto& k : known)
                list += "\n  " + (k.empty() ? std::string("(no run id)") : k);
            throw RecordsError("--run " + which + ": " +
                               (matches.empty() ? "no such run" : "more than one run starts so") +
                               "; the records hold these runs (oldest first):" + list);
        }
        id = *matches.begin();
    }
    label = id.empty() ? "(no run id)" : id;
    std::vector<Record> out;
    for (const auto& r : all)
        if (r.run_id == id) out.push_back(r);
    return out;
}

PlanNumbers read_plan_numbers(const std::string& path) {
    nlohmann::ordered_json j;
    try {
        j = read_plan_document(path);  // the one validated plan reader (src/plan)
    } catch (const PlanError& e) {
        throw RecordsError(e.what());
    }
    PlanNumbers p;
    if (j.contains("test_parallel_level") && j["test_parallel_level"].is_number_integer())
        p.test_parallel_level = j["test_parallel_level"].get<int>();
    if (j.contains("memory_budget_bytes") && j["memory_budget_bytes"].is_number_unsigned())
        p.memory_budget_bytes = j["memory_budget_bytes"].get<uint64_t>();
    return p;
}

Summary summarise(std::vector<Record> tests, const std::string& label, const PlanNumbers& plan) {
    Summary s;
    s.label = label;
    std::stable_sort(tests.begin(), tests.end(),
                     [](const Record& a, const Record& b) { return a.start < b.start; });
    s.tests = std::move(tests);
    for (auto o : kAllOutcomes) {
        s.counts[o] = 0;
        if (o != Outcome::Passed) s.failed_by[o] = 0;
    }
    if (s.tests.empty()) return s;

    s.run_start = s.tests.front().start;
    double run_end = s.run_start;
    std::vector<double> lane_free;  // end time of the last test on each lane
    for (const auto& t : s.tests) {
        s.counts[t.outcome]++;
        if (!t.leaked.empty()) s.leaking++;
        if (t.passed()) {
            s.passed_count++;
        } else {
            s.failed_count++;
            s.failed_by[t.outcome]++;
            s.passed = false;
        }
        run_end = std::max(run_end, t.end);
        s.longest = std::max(s.longest, t.end - t.start);
        s.total_wall += t.end - t.start;
        s.total_cpu += t.cpu_seconds;
        s.lock_wait += t.lock_wait_seconds;
        size_t l = 0;
        while (l < lane_free.size() && lane_free[l] > t.start)
            ++l;
        if (l == lane_free.size()) lane_free.push_back(0);
        lane_free[l] = t.end;
        s.lane.push_back(static_cast<int>(l));
    }
    s.lanes = static_cast<int>(lane_free.size());
    s.makespan = run_end - s.run_start;

    // Memory over time: +peak at each start, −peak at each end (ends first at a tie).
    struct Event {
        double t;
        int sign;
        uint64_t peak, granted;
    };
    std::vector<Event> ev;
    for (const auto& t : s.tests) {
        uint64_t g = t.granted_memory_bytes().value_or(0);
        ev.push_back({t.start, +1, t.peak_memory_bytes, g});
        ev.push_back({t.end, -1, t.peak_memory_bytes, g});
    }
    std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
        return a.t != b.t ? a.t < b.t : a.sign < b.sign;
    });
    int64_t peak = 0, granted = 0;
    int running = 0, max_running = 0;
    for (const auto& e : ev) {
        peak += e.sign * static_cast<int64_t>(e.peak);
        granted += e.sign * static_cast<int64_t>(e.granted);
        running += e.sign;
        max_running = std::max(max_running, running);
        MemoryPoint p{e.t - s.run_start, static_cast<uint64_t>(std::max<int64_t>(peak, 0)),
                      static_cast<uint64_t>(std::max<int64_t>(granted, 0))};
        if (!s.memory.empty() && s.memory.back().t == p.t)
            s.memory.back() = p;
        else
            s.memory.push_back(p);
        s.memory_peak_sum = std::max(s.memory_peak_sum, p.peak_sum);
    }

    // The plan's level, unless more tests ran at once (ctest -j above the plan).
    s.slots = std::max(1, max_running);
    if (plan.test_parallel_level && *plan.test_parallel_level >= s.slots) {
        s.slots = *plan.test_parallel_level;
        s.slots_from_plan = true;
    }
    s.memory_budget = plan.memory_budget_bytes;
    s.lower_bound = std::max(s.longest, s.total_wall / s.slots);
    s.busy = s.makespan > 0 ? std::min(1.0, s.total_wall / (s.slots * s.makespan)) : 0;
    return s;
}

std::string human_seconds(double s) {
    char buf[48];
    if (s < 1)
        std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000);
    else if (s < 60)
        std::snprintf(buf, sizeof buf, "%.1f s", s);
    else
        std::snprintf(buf, sizeof buf, "%d min %d s", static_cast<int>(s / 60),
                      static_cast<int>(std::fmod(s, 60)));
    return buf;
}

}  // namespace corral::report
