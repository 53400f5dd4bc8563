// Over ~400 lines on purpose: the profile model (records -> per-test summary,
// merge, bounded history, age-out) and its three views (table, --check, CMake
// data) read the same private sample type; docs/profile.md describes them as one.
#include "profile/profile_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/json_fields.hpp"

namespace corral::profile {
namespace {

using nlohmann::json;
constexpr uint64_t kMiB = 1ull << 20;

double round_ms(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return 0;
    return std::round(seconds * 1000.0) / 1000.0;
}

bool sample_less(const Sample& a, const Sample& b) {
    return std::tie(a.start_unix, a.run_id) < std::tie(b.start_unix, b.run_id);
}
bool sample_same(const Sample& a, const Sample& b) {
    return a.start_unix == b.start_unix && a.run_id == b.run_id;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return round_ms(m);
}

// Nearest-rank percentile (q in (0, 1]): the smallest value with at least
// q of the samples at or below it.
uint64_t percentile(std::vector<uint64_t> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    if (rank < 1) rank = 1;
    return v[rank - 1];
}

void summarise(TestProfile& t) {
    std::vector<double> walls, cpus;
    std::vector<uint64_t> mems;
    TestProfile fresh;
    fresh.samples = std::move(t.samples);
    t = std::move(fresh);
    bool fallback = false, measured = false;
    for (const auto& s : t.samples) {
        walls.push_back(s.wall_seconds);
        cpus.push_back(s.cpu_seconds);
        mems.push_back(s.memory_bytes);
        (s.memory_fallback ? fallback : measured) = true;
        if (s.outcome == "timed out") ++t.timeouts;
        if (s.outcome == "OOM-killed") ++t.oom_kills;
        if (s.outcome == "leaked") ++t.leaks;
        if (s.outcome != "passed" && s.outcome != "leaked") ++t.failures;
    }
    t.runs = static_cast<int>(t.samples.size());
    t.wall_median = median(walls);
    t.cpu_median = median(cpus);
    t.wall_max = walls.empty() ? 0 : *std::max_element(walls.begin(), walls.end());
    t.cpu_max = cpus.empty() ? 0 : *std::max_element(cpus.begin(), cpus.end());
    t.memory_max = mems.empty() ? 0 : *std::max_element(mems.begin(), mems.end());
    t.memory_p90 = percentile(mems, 0.9);
    t.memory_source = fallback && measured ? "mixed" : fallback ? "cgroup-peak" : "nonreclaimable";
    if (!t.samples.empty()) {
        const auto& last = t.samples.back();
        t.declared_memory_bytes = last.declared_memory_bytes;
        t.granted_memory_bytes = last.granted_memory_bytes;
        t.processors = last.processors;
    }
}

// Adds samples and runs, trims history, ages out, recomputes.
void absorb(Profile& p, const std::map<std::string, std::vector<Sample>>& samples,
            const std::vector<Run>& runs) {
    // Runs: union by id, the earliest start wins; the newest kKeepRuns stay.
    std::map<std::string, double> first;
    auto note = [&](const Run& r) {
        auto it = first.find(r.id);
        if (it == first.end() || r.start_unix < it->second) first[r.id] = r.start_unix;
    };
    std::for_each(p.runs.begin(), p.runs.end(), note);
    std::for_each(runs.begin(), runs.end(), note);
    std::vector<Run> all;
    for (const auto& [id, start] : first)
        all.push_back({id, start});
    std::sort(all.begin(), all.end(), [](const Run& a, const Run& b) {
        return std::tie(a.start_unix, a.id) < std::tie(b.start_unix, b.id);
    });
    if (all.size() > static_cast<size_t>(kKeepRuns)) all.erase(all.begin(), all.end() - kKeepRuns);
    p.runs = all;
    std::set<std::string> recent;
    for (const auto& r : p.runs)
        recent.insert(r.id);

    for (const auto& [name, list] : samples) {
        auto& t = p.tests[name];
        t.samples.insert(t.samples.end(), list.begin(), list.end());
    }
    p.aged_out = 0;
    p.fallback_tests = 0;
    for (auto it = p.tests.begin(); it != p.tests.end();) {
        auto& s = it->second.samples;
        std::sort(s.begin(), s.end(), sample_less);
        s.erase(std::unique(s.begin(), s.end(), sample_same), s.end());
        if (s.size() > static_cast<size_t>(kHistory)) s.erase(s.begin(), s.end() - kHistory);
        bool seen = std::any_of(s.begin(), s.end(),
                                [&](const Sample& x) { return recent.count(x.run_id) > 0; });
        if (!seen) {
            ++p.aged_out;
            it = p.tests.erase(it);
            continue;
        }
        summarise(it->second);
        if (it->second.memory_source != "nonreclaimable") ++p.fallback_tests;
        ++it;
    }
}

}  // namespace

std::string human(uint64_t bytes) {
    char buf[32];
    if (bytes >= (1ull << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
    else
        std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / kMiB);
    return buf;
}

namespace {

std::string human_opt(const std::optional<uint64_t>& b) {
    return b ? human(*b) : "-";
}
std::string secs(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return buf;
}

json opt_json(const std::optional<uint64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

// Strict readers for from_json.
struct Reader {
    std::string where;
    [[noreturn]] void bad(const std::string& key, const char* what) const {
        throw ProfileError(where + "." + key + ": expected " + what);
    }
    double num(const json& o, const std::string& key) const {
        auto it = o.find(key);
        if (it == o.end() || !it->is_number()) bad(key, "a number");
        double v = it->get<double>();
        if (!std::isfinite(v) || v < 0) bad(key, "a number >= 0");
        return v;
    }
    uint64_t bytes(const json& o, const std::string& key) const {
        auto it = o.find(key);
        if (it == o.end() ||
            !(it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0)))
            bad(key, "bytes (an integer >= 0)");
        return it->get<uint64_t>();
    }
    std::optional<uint64_t> opt_bytes(const json& o, const std::string& key) const {
        auto it = o.find(key);
        if (it == o.end() || it->is_null()) return std::nullopt;
        return bytes(o, key);
    }
    std::string str(const json& o, const std::string& key) const {
        auto it = o.find(key);
        if (it == o.end() || !it->is_string()) bad(key, "a string");
        return it->get<std::string>();
    }
    // The summary keys are recomputed from the samples, not read; but a file
    // whose summaries have the wrong type is not one corral wrote, and other
    // readers (corral shard --profile) take them: checked as the docs' table
    // types them, when present.
    void count(const json& o, const std::string& key) const {
        if (auto it = o.find(key);
            it != o.end() &&
            !(it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0)))
            bad(key, "an integer >= 0");
    }
    void numbers(const json& o, const std::string& key, bool whole) const {
        auto it = o.find(key);
        if (it == o.end()) return;
        if (!it->is_object()) bad(key, "an object");
        Reader in{where + "." + key};
        for (const char* k : {"median", "max", "p90"}) {
            auto v = it->find(k);
            if (v == it->end() || v->is_null()) continue;
            if (whole)
                in.count(*it, k);
            else if (!v->is_number() || !(v->get<double>() >= 0))
                in.bad(k, "a number >= 0 or null");
        }
    }
    void check_summaries(const json& t) const {
        for (const char* k : {"runs", "timeouts", "oom_kills", "leaks", "failures"})
            count(t, k);
        numbers(t, "wall_seconds", false);
        numbers(t, "cpu_seconds", false);
        numbers(t, "memory_bytes", true);
        if (auto it = t.find("memory_source"); it != t.end() && !it->is_string())
            bad("memory_source", "a string");
        opt_bytes(t, "declared_memory_bytes");
        opt_bytes(t, "granted_memory_bytes");
        if (auto it = t.find("processors"); it != t.end() && !it->is_null() &&
                                            !(it->is_number_integer() && it->get<int64_t>() >= 1))
            bad("processors", "an integer >= 1 or null");
    }
};

}  // namespace

void add_records(Profile& p, const std::vector<report::Record>& records) {
    std::map<std::string, std::vector<Sample>> samples;
    std::map<std::string, double> run_start;
    for (const auto& r : records) {
        // A command that never ran (not found, not executable) measured only
        // the launcher: no sample of the test's needs.
        if (!r.ran()) continue;
        Sample s;
        s.run_id = r.run_id;
        s.start_unix = r.start;
        s.wall_seconds = round_ms(r.wall_seconds);
        s.cpu_seconds = round_ms(r.cpu_seconds);
        if (r.peak_nonreclaimable_bytes) {
            s.memory_bytes = *r.peak_nonreclaimable_bytes;
        } else {
            s.memory_bytes = r.peak_memory_bytes;
            s.memory_fallback = true;
        }
        s.granted_memory_bytes = r.granted_memory_bytes();
        s.declared_memory_bytes =
            r.declared_memory_bytes ? r.declared_memory_bytes : s.granted_memory_bytes;
        s.processors = r.processors;
        s.outcome = report::outcome_name(r.outcome);
        samples[r.name].push_back(s);
        auto it = run_start.find(r.run_id);
        if (it == run_start.end() || r.start < it->second) run_start[r.run_id] = r.start;
    }
    std::vector<Run> runs;
    for (const auto& [id, start] : run_start)
        runs.push_back({id, start});
    absorb(p, samples, runs);
}

void merge(Profile& p, const Profile& other) {
    std::map<std::string, std::vector<Sample>> samples;
    for (const auto& [name, t] : other.tests)
        samples[name] = t.samples;
    absorb(p, samples, other.runs);
}

std::string to_json(const Profile& p) {
    json doc;
    doc["schema"] = "corral.profile/1";
    doc["history"] = kHistory;
    doc["keep_runs"] = kKeepRuns;
    json runs = json::array();
    for (const auto& r : p.runs)
        runs.push_back({{"run_id", r.id}, {"start_unix", r.start_unix}});
    doc["runs"] = runs;
    json tests = json::object();
    for (const auto& [name, t] : p.tests) {
        json e;
        e["runs"] = t.runs;
        e["wall_seconds"] = {{"median", t.wall_median}, {"max", t.wall_max}};
        e["cpu_seconds"] = {{"median", t.cpu_median}, {"max", t.cpu_max}};
        e["memory_bytes"] = {{"max", t.memory_max}, {"p90", t.memory_p90}};
        e["memory_source"] = t.memory_source;
        e["declared_memory_bytes"] = opt_json(t.declared_memory_bytes);
        e["granted_memory_bytes"] = opt_json(t.granted_memory_bytes);
        e["processors"] = t.processors ? json(*t.processors) : json(nullptr);
        e["timeouts"] = t.timeouts;
        e["oom_kills"] = t.oom_kills;
        e["leaks"] = t.leaks;
        e["failures"] = t.failures;
        json samples = json::array();
        for (const auto& s : t.samples) {
            json j;
            j["run_id"] = s.run_id;
            j["start_unix"] = s.start_unix;
            j["wall_seconds"] = s.wall_seconds;
            j["cpu_seconds"] = s.cpu_seconds;
            j["memory_bytes"] = s.memory_bytes;
            j["memory_fallback"] = s.memory_fallback;
            j["declared_memory_bytes"] = opt_json(s.declared_memory_bytes);
            j["granted_memory_bytes"] = opt_json(s.granted_memory_bytes);
            j["processors"] = s.processors ? json(*s.processors) : json(nullptr);
            j["outcome"] = s.outcome;
            samples.push_back(j);
        }
        e["samples"] = samples;
        tests[name] = e;
    }
    doc["tests"] = tests;
    return doc.dump(2) + "\n";
}

Profile from_json(const std::string& text, const std::string& origin) {
    if (json_fields::is_records_text(text))
        throw ProfileError(origin +
                           ": a records file (corral.record/1, one JSON object per line), not a "
                           "profile: pass it with --records, or make a profile with `corral "
                           "profile --records " +
                           origin + " --out corral-profile.json`");
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, or out_of_range (1e999)
        throw ProfileError(origin + ": not valid JSON: " + e.what());
    }
    if (!doc.is_object() || doc.value("schema", json()) != "corral.profile/1")
        throw ProfileError(origin +
                           ": expected \"schema\": \"corral.profile/1\" (docs/profile.md)");
    if (!doc.contains("tests") || !doc["tests"].is_object())
        throw ProfileError(origin + ": expected \"tests\": an object keyed by CTest test name");
    Profile p;
    for (const char* k : {"history", "keep_runs"})
        if (auto it = doc.find(k);
            it != doc.end() && !(it->is_number_integer() && it->get<int64_t>() >= 1))
            throw ProfileError(origin + ": \"" + k + "\": expected an integer >= 1");
    if (doc.contains("runs")) {
        if (!doc["runs"].is_array()) throw ProfileError(origin + ": \"runs\": expected an array");
        size_t i = 0;
        for (const auto& r : doc["runs"]) {
            Reader rd{origin + ": runs[" + std::to_string(i++) + "]"};
            if (!r.is_object()) throw ProfileError(rd.where + ": expected an object");
            p.runs.push_back({rd.str(r, "run_id"), rd.num(r, "start_unix")});
        }
    }
    std::map<std::string, std::vector<Sample>> samples;
    for (const auto& [name, t] : doc["tests"].items()) {
        Reader rd{origin + ": tests[\"" + name + "\"]"};
        if (!t.is_object()) throw ProfileError(rd.where + ": expected an object");
        rd.check_summaries(t);
        if (!t.contains("samples") || !t["samples"].is_array())
            throw ProfileError(rd.where +
                               ".samples: expected an array (a profile written by "
                               "corral profile)");
        size_t i = 0;
        for (const auto& j : t["samples"]) {
            Reader sr{rd.where + ".samples[" + std::to_string(i++) + "]"};
            if (!j.is_object()) throw ProfileError(sr.where + ": expected an object");
            Sample s;
            s.run_id = sr.str(j, "run_id");
            s.start_unix = sr.num(j, "start_unix");
            s.wall_seconds = round_ms(sr.num(j, "wall_seconds"));
            s.cpu_seconds = round_ms(sr.num(j, "cpu_seconds"));
            s.memory_bytes = sr.bytes(j, "memory_bytes");
            if (j.contains("memory_fallback")) {
                if (!j["memory_fallback"].is_boolean()) sr.bad("memory_fallback", "true or false");
                s.memory_fallback = j["memory_fallback"].get<bool>();
            }
            s.declared_memory_bytes = sr.opt_bytes(j, "declared_memory_bytes");
            s.granted_memory_bytes = sr.opt_bytes(j, "granted_memory_bytes");
            if (j.contains("processors") && !j["processors"].is_null()) {
                if (!j["processors"].is_number_integer())
                    sr.bad("processors", "an integer or null");
                s.processors = j["processors"].get<int>();
            }
            s.outcome = sr.str(j, "outcome");
            samples[name].push_back(s);
        }
    }
    // Runs named by samples but not listed (a hand-edited file) still count.
    std::vector<Run> runs = p.runs;
    for (const auto& [name, list] : samples)
        for (const auto& s : list)
            runs.push_back({s.run_id, s.start_unix});
    p.runs.clear();
    absorb(p, samples, runs);
    return p;
}

std::string render_table(const Profile& p) {
    std::ostringstream out;
    size_t width = 4;
    for (const auto& [name, t] : p.tests)
        width = std::max(width, name.size());
    char line[512];
    std::snprintf(line, sizeof line, "%-*s %4s %9s %9s %9s %11s %11s %11s %s\n",
                  static_cast<int>(width), "test", "runs", "wall med", "wall max", "cpu med",
                  "peak max", "peak p90", "declared", "fail/tmo/oom/leak");
    out << line;
    for (const auto& [name, t] : p.tests) {
        std::string counts = std::to_string(t.failures) + "/" + std::to_string(t.timeouts) + "/" +
                             std::to_string(t.oom_kills) + "/" + std::to_string(t.leaks);
        std::string peak = human(t.memory_max) + (t.memory_source == "nonreclaimable" ? "" : "*");
        std::snprintf(line, sizeof line, "%-*s %4d %9s %9s %9s %11s %11s %11s %s\n",
                      static_cast<int>(width), name.c_str(), t.runs, secs(t.wall_median).c_str(),
                      secs(t.wall_max).c_str(), secs(t.cpu_median).c_str(), peak.c_str(),
                      human(t.memory_p90).c_str(), human_opt(t.declared_memory_bytes).c_str(),
                      counts.c_str());
        out << line;
    }
    out << p.tests.size() << " tests from " << p.runs.size() << " runs (at most " << kHistory
        << " runs kept per test)\n";
    if (p.fallback_tests)
        out << "* " << p.fallback_tests
            << " test(s): the records have no peak_nonreclaimable_bytes; the peak is the "
               "cgroup's raw peak (peak_memory_bytes), which counts page cache\n";
    return out.str();
}

CheckResult check(const Profile& p, double over_factor, uint64_t heavy_bytes) {
    CheckResult c;
    c.over_factor = over_factor;
    c.heavy_bytes = heavy_bytes;
    char factor[32];
    std::snprintf(factor, sizeof factor, "%g", over_factor);
    for (const auto& [name, t] : p.tests) {
        std::string peak = human(t.memory_max) + " (" + std::to_string(t.memory_max) + " B)";
        if (t.declared_memory_bytes) {
            uint64_t d = *t.declared_memory_bytes;
            std::string decl = human(d) + " (" + std::to_string(d) + " B)";
            if (t.memory_max > d)
                c.under_declared.push_back(name + ": declared " + decl + ", peak " + peak);
            else if (static_cast<double>(d) > over_factor * static_cast<double>(t.memory_max) &&
                     d - t.memory_max >= kOverSlackBytes)
                c.over_declared.push_back(name + ": declared " + decl + ", peak " + peak +
                                          " (more than " + factor + "x)");
        } else if (t.memory_max >= heavy_bytes) {
            c.heavy_undeclared.push_back(name + ": declared nothing, peak " + peak +
                                         ", at least the heavy threshold " + human(heavy_bytes));
        }
        if (t.memory_source != "nonreclaimable")
            c.notes.push_back(name + ": peak is the cgroup's raw peak (" + t.memory_source +
                              "): the records have no peak_nonreclaimable_bytes");
    }
    return c;
}

Need need_of(const TestProfile& t, int margin_percent) {
    Need n;
    // Exact integer math: ceil(max * (100 + margin) / (100 * MiB)).
    // (peaks are far below 2^64 / 1000 bytes: 18 PB; larger ones saturate).
    uint64_t factor = 100 + static_cast<uint64_t>(std::clamp(margin_percent, 0, 900));
    uint64_t peak = std::min<uint64_t>(t.memory_max, UINT64_MAX / 1000);
    n.mem_mib = (peak * factor + 100 * kMiB - 1) / (100 * kMiB);
    if (n.mem_mib < 1) n.mem_mib = 1;
    n.cost = std::round(t.wall_median * static_cast<double>(n.mem_mib) * 1000.0) / 1000.0;
    if (t.wall_median > 0) {
        double ratio = t.cpu_median / t.wall_median;
        if (ratio > 1.25) n.processors = static_cast<int>(std::lround(ratio));
        if (n.processors < 1) n.processors = 1;
    }
    return n;
}

std::string to_cmake(const Profile& p, int margin_percent, const std::string& origin) {
    std::ostringstream out;
    out << "# Generated by corral profile --cmake from " << origin << " (margin " << margin_percent
        << " %).\n# _corral_profile_need(<test> <mem_mib> <median wall ms> <processors>): "
           "docs/profile.md \"Applying a profile\".\n";
    for (const auto& [name, t] : p.tests) {
        Need n = need_of(t, margin_percent);
        std::string eq;
        while ((name + "]" + eq + "]").find("]" + eq + "]") != name.size())
            eq += "=";
        auto wall_ms = static_cast<uint64_t>(std::llround(t.wall_median * 1000.0));
        out << "_corral_profile_need([" << eq << "[" << name << "]" << eq << "] " << n.mem_mib
            << " " << wall_ms << " " << n.processors << ")\n";
    }
    out << "set(_corral_profile_count " << p.tests.size() << ")\n";
    return out.str();
}

}  // namespace corral::profile
