// schedule_check: proves from the heavy-tests example's schedule log how CTest
// really scheduled the suite under Corral's resource spec.
//
//   schedule_check --log schedule.log --spec resources.json
//                  [--expect-launched yes|no] [--expect-plain-launched yes|no]
//                  [--records records.jsonl]
//
// Log lines (written by examples/heavy-tests/worker.cpp when each test ends):
//   NAME START_NS END_NS MEM=<id:x,slots:n|-> IO=<id:x,slots:n|-> LAUNCHED=<0|1>
// Checks, each with its numbers on failure:
//   * every test of the example ran and recorded itself;
//   * the mem_mib granted to tests running at the same instant never exceeded
//     the spec's budget, and each memory-heavy test got what it declared;
//   * heavy_io slots in use per id never exceeded that id's slots;
//   * cache.a and cache.b (one named lock) never overlapped;
//   * light tests ran in parallel with the heavy ones (the budget did not
//     serialise everything);
//   * the budget was smaller than everything declared, so the check had teeth;
//   * tests ran under the launcher when expected (CORRAL_TEST_ID was set);
//   * with --records (corral run's records): hang.timeout was ended by the
//     launcher's own timeout (timed_out, exit 124), daemon.leaves had its leaked
//     daemon reported, and no other test timed out.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Grant {
    std::string id;
    long slots = 0;
};

struct Run {
    std::string name;
    long long start = 0;
    long long end = 0;
    Grant mem;
    Grant io;
    bool launched = false;
};

// "id:host,slots:200" -> {host, 200}; "-" -> nothing granted.
Grant parse_grant(const std::string& text) {
    Grant grant;
    if (text == "-") return grant;
    std::stringstream fields(text);
    std::string field;
    while (std::getline(fields, field, ',')) {
        if (field.rfind("id:", 0) == 0) grant.id = field.substr(3);
        if (field.rfind("slots:", 0) == 0) grant.slots = std::stol(field.substr(6));
    }
    return grant;
}

std::string value_after(const std::string& token, const std::string& key) {
    return token.rfind(key, 0) == 0 ? token.substr(key.size()) : std::string("-");
}

bool starts_with(const std::string& s, const char* prefix) {
    return s.rfind(prefix, 0) == 0;
}

bool overlap(const Run& a, const Run& b) {
    return a.start < b.end && b.start < a.end;
}

int failures = 0;
void fail(const std::string& message) {
    std::cerr << "FAIL: " << message << "\n";
    ++failures;
}

// The largest total of `amount` over runs alive at one instant (sweep line).
template <typename Amount>
long long peak(const std::vector<Run>& runs, Amount amount, std::string* at_peak) {
    std::vector<std::pair<long long, long>> events;  // end before start at equal times
    for (const Run& r : runs) {
        long a = amount(r);
        if (a == 0) continue;
        events.emplace_back(r.start, a);
        events.emplace_back(r.end, -a);
    }
    std::sort(events.begin(), events.end(), [](const auto& x, const auto& y) {
        return x.first != y.first ? x.first < y.first : x.second < y.second;
    });
    long long current = 0, best = 0, best_time = 0;
    for (const auto& [time, delta] : events) {
        current += delta;
        if (current > best) {
            best = current;
            best_time = time;
        }
    }
    if (at_peak != nullptr) {
        at_peak->clear();
        for (const Run& r : runs)
            if (amount(r) != 0 && r.start <= best_time && best_time < r.end)
                *at_peak += " " + r.name + "(" + std::to_string(amount(r)) + ")";
    }
    return best;
}

void check_records(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        fail("cannot read the records file " + path);
        return;
    }
    bool saw_hang = false, saw_daemon = false;
    std::string line;
    while (std::getline(in, line)) {
        nlohmann::json record;
        try {
            record = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            fail(path + ": a line is not JSON: " + e.what());
            continue;
        }
        const std::string name = record.value("name", "");
        const bool timed_out = record.value("timed_out", false);
        if (name == "hang.timeout") {
            saw_hang = true;
            if (!timed_out || record.value("launcher_exit_code", 0) != 124)
                fail("hang.timeout was not ended by corral run's timeout: " + line);
        } else if (timed_out) {
            fail(name + " timed out: " + line);
        }
        if (name == "daemon.leaves") {
            saw_daemon = true;
            if (record.value("leaked", nlohmann::json::array()).empty())
                fail("daemon.leaves left a daemon but its record lists no leaked process");
        }
    }
    if (!saw_hang) fail(path + " has no record of hang.timeout");
    if (!saw_daemon) fail(path + " has no record of daemon.leaves");
}

}  // namespace

int main(int argc, char** argv) {
    std::string log_path, spec_path, records_path, expect_launched = "no", expect_plain = "no";
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i];
        if (key == "--log")
            log_path = argv[i + 1];
        else if (key == "--spec")
            spec_path = argv[i + 1];
        else if (key == "--records")
            records_path = argv[i + 1];
        else if (key == "--expect-launched")
            expect_launched = argv[i + 1];
        else if (key == "--expect-plain-launched")
            expect_plain = argv[i + 1];
        else {
            std::cerr << "schedule_check: unknown option " << key << "\n";
            return 2;
        }
    }
    if (log_path.empty() || spec_path.empty()) {
        std::cerr
            << "usage: schedule_check --log FILE --spec resources.json "
               "[--expect-launched yes|no] [--expect-plain-launched yes|no] [--records FILE]\n";
        return 2;
    }

    std::ifstream spec_in(spec_path);
    if (!spec_in) {
        std::cerr << "schedule_check: cannot read " << spec_path << "\n";
        return 2;
    }
    nlohmann::json spec;
    try {
        spec = nlohmann::json::parse(spec_in);
    } catch (const nlohmann::json::exception& e) {
        std::cerr << "schedule_check: " << spec_path << ": " << e.what() << "\n";
        return 2;
    }
    const nlohmann::json local = spec.at("local").at(0);
    long long budget = 0;
    for (const auto& id : local.value("mem_mib", nlohmann::json::array()))
        budget += id.at("slots").get<long long>();
    std::map<std::string, long> io_slots;
    for (const auto& id : local.value("heavy_io", nlohmann::json::array()))
        io_slots[id.at("id").get<std::string>()] = id.at("slots").get<long>();

    std::ifstream log_in(log_path);
    if (!log_in) {
        std::cerr << "schedule_check: cannot read " << log_path << "\n";
        return 2;
    }
    std::vector<Run> runs;
    std::string line;
    int line_no = 0;
    while (std::getline(log_in, line)) {
        ++line_no;
        std::stringstream in(line);
        Run r;
        std::string mem, io, launched;
        if (!(in >> r.name >> r.start >> r.end >> mem >> io >> launched) || r.end < r.start) {
            std::cerr << "schedule_check: " << log_path << ":" << line_no
                      << ": malformed line: " << line << "\n";
            return 2;
        }
        r.mem = parse_grant(value_after(mem, "MEM="));
        r.io = parse_grant(value_after(io, "IO="));
        r.launched = value_after(launched, "LAUNCHED=") == "1";
        runs.push_back(r);
    }

    auto count = [&](const char* prefix) {
        return std::count_if(runs.begin(), runs.end(),
                             [&](const Run& r) { return starts_with(r.name, prefix); });
    };
    std::cout << "budget " << budget << " MiB; " << runs.size() << " tests recorded\n";
    if (count("light.") < 2 || count("mem.") < 3 || count("io.") < 1 || count("cache.") != 2)
        fail("the log lacks tests: need >= 2 light.*, >= 3 mem.*, >= 1 io.*, exactly 2 cache.*");
    if (budget <= 0) fail("the spec has no mem_mib budget");

    // Memory: granted per test, and the sum at every instant.
    long long declared_total = 0;
    for (const Run& r : runs) {
        declared_total += r.mem.slots;
        if (starts_with(r.name, "mem.") && r.mem.slots <= 0)
            fail(r.name + " got no mem_mib from CTest: resource allocation was not active");
    }
    std::string who;
    long long mem_peak = peak(
        runs, [](const Run& r) { return r.mem.slots; }, &who);
    std::cout << "peak memory granted at once: " << mem_peak << " MiB:" << who << "\n";
    if (mem_peak > budget)
        fail("tests holding " + std::to_string(mem_peak) + " MiB ran at once, over the " +
             std::to_string(budget) + " MiB budget:" + who);
    if (declared_total <= budget)
        fail("the budget (" + std::to_string(budget) + " MiB) holds every test at once (" +
             std::to_string(declared_total) + " MiB): plan for less memory so the check bites");
    long long heavy_peak = peak(
        runs, [](const Run& r) { return starts_with(r.name, "mem.") ? 1L : 0L; }, nullptr);
    std::cout << "memory-heavy tests at once, at most: " << heavy_peak << "\n";

    // heavy_io per filesystem id.
    for (const auto& [id, slots] : io_slots) {
        const std::string this_id = id;
        long long io_peak = peak(
            runs, [&](const Run& r) { return r.io.id == this_id ? r.io.slots : 0L; }, &who);
        std::cout << "heavy_io " << id << ": peak " << io_peak << " of " << slots << " slots\n";
        if (io_peak > slots)
            fail("heavy_io " + id + ": " + std::to_string(io_peak) + " slots in use, only " +
                 std::to_string(slots) + " exist:" + who);
    }
    for (const Run& r : runs)
        if (starts_with(r.name, "io.") && r.io.slots <= 0)
            fail(r.name + " got no heavy_io slot from CTest");

    // The lock pair.
    const Run* a = nullptr;
    const Run* b = nullptr;
    for (const Run& r : runs) {
        if (r.name == "cache.a") a = &r;
        if (r.name == "cache.b") b = &r;
    }
    if (a != nullptr && b != nullptr && overlap(*a, *b))
        fail("cache.a and cache.b share the lock shared_cache but overlapped");

    // Light tests alongside heavy ones.
    bool parallel = false;
    for (const Run& light : runs)
        for (const Run& heavy : runs)
            if (starts_with(light.name, "light.") &&
                (starts_with(heavy.name, "mem.") || starts_with(heavy.name, "io.") ||
                 starts_with(heavy.name, "cache.")) &&
                overlap(light, heavy))
                parallel = true;
    if (!parallel) fail("no light test ran in parallel with a heavy one");

    // The launcher.
    for (const Run& r : runs) {
        bool plain = r.name == "plain.add_test";
        const std::string& expected = plain ? expect_plain : expect_launched;
        if (expected == "yes" && !r.launched)
            fail(r.name + " did not run under corral run (no CORRAL_TEST_ID)");
        if (expected == "no" && r.launched)
            fail(r.name + " ran under corral run, which was not expected here");
    }

    if (!records_path.empty()) check_records(records_path);

    if (failures > 0) {
        std::cerr << failures << " check(s) failed\n";
        return 1;
    }
    std::cout << "schedule OK\n";
    return 0;
}
