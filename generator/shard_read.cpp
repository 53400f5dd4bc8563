// corral shard's inputs: the ctest --show-only=json-v1 test list, the
// profile (corral.profile/1 or the cost file) and a previous shards.json.
#include "generator/shard.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <queue>
#include <set>
#include <sstream>

#include "common/json_fields.hpp"
#include "common/text.hpp"
#include "generator/shard_internal.hpp"

namespace corral::shard {

using namespace detail;
using json = nlohmann::json;

namespace {

// The fixture corral_setup() gives every Corral test (cmake/CorralFunctions.cmake).
constexpr const char* kRunnerFixture = "corral";

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
        if (json_fields::is_records_text(trimmed))
            throw ShardError(origin +
                             ": a records file (corral.record/1, one JSON object per line), not a "
                             "profile: make one with `corral profile --records " +
                             origin + " --out corral-profile.json` and pass that");
        json doc;
        try {
            doc = json::parse(text);
        } catch (const json::exception& e) {  // parse_error, or out_of_range (1e999)
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
            // The summaries are typed as corral profile reads them
            // (docs/profile.md): a number, never a string; a test without a
            // median is unknown, as corral profile --merge takes it.
            auto seconds = [&](const json& v, const std::string& key) {
                if (!v.is_number() || !(v.get<double>() >= 0) || !std::isfinite(v.get<double>()))
                    throw ShardError(where + ".wall_seconds." + key + ": expected seconds >= 0");
                return v.get<double>();
            };
            if (t.contains("wall_seconds") && !t["wall_seconds"].is_object())
                throw ShardError(where + ".wall_seconds: expected an object");
            if (!t.contains("wall_seconds") || !t["wall_seconds"].contains("median") ||
                t["wall_seconds"]["median"].is_null())
                continue;
            e.wall_median_seconds = seconds(t["wall_seconds"]["median"], "median");
            if (t["wall_seconds"].contains("max") && !t["wall_seconds"]["max"].is_null())
                e.wall_max_seconds = seconds(t["wall_seconds"]["max"], "max");
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
    // "---" and the names of the tests that failed last time
    // (cmCTestMultiProcessHandler::UpdateCostData).
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
        // 0 previous runs: CTest averages the durations of passed runs only
        // (cmCTestRunTest), so a test that never passed is "<name> 0 0" —
        // unknown, not a measured 0 s.
        if (*runs == 0) continue;
        ProfileEntry e;
        e.wall_median_seconds = cost;
        prof.tests[std::string(line.substr(0, sp1))] = e;
    }
    return prof;
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
