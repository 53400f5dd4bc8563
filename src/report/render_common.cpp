// Pieces every renderer shares: what happened to one test, XML escaping, and
// the JSON form of a summary.
#include <string.h>

#include <cstdio>

#include "common/text.hpp"
#include "report/render.hpp"

namespace corral::report {
namespace {

// The command line with argv[0]'s directory dropped, at most `max` bytes.
std::string short_command(const std::string& full, size_t max = 60) {
    auto space = full.find(' ');
    auto slash = full.rfind('/', space);
    std::string command = slash == std::string::npos ? full : full.substr(slash + 1);
    if (command.size() <= max) return command;
    return command.substr(0, max - 3) + "...";
}

std::string process_list(const std::vector<Process>& list, size_t max_items = 4) {
    std::string out;
    for (size_t i = 0; i < list.size() && i < max_items; ++i)
        out += (i ? ", " : "") + short_command(list[i].command);
    if (list.size() > max_items) out += ", ... (" + std::to_string(list.size()) + " in all)";
    return out;
}

std::string plural(size_t n, const char* one) {
    return std::to_string(n) + " " + one + (n == 1 ? "" : "es");
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

std::string what_happened(const Record& r) {
    std::string s;
    switch (r.outcome) {
        case Outcome::Passed:
            s = "passed";
            break;
        case Outcome::Failed:
            s = r.exit_code
                    ? "exit code " + std::to_string(*r.exit_code)
                    : "failed (corral run exit " + std::to_string(r.launcher_exit_code) + ")";
            break;
        case Outcome::Signalled:
            s = "ended by " + signal_name(r.signal.value_or(0));
            break;
        case Outcome::TimedOut:
            s = "timed out after " + human_number(r.timeout_seconds) + " s";
            if (!r.killed_on_timeout.empty())
                s += "; killed " + std::to_string(r.killed_on_timeout.size()) + ": " +
                     process_list(r.killed_on_timeout);
            break;
        case Outcome::OomKilled:
            s = "OOM-killed";
            if (r.memory_limit_bytes) s += " at its limit of " + human_bytes(*r.memory_limit_bytes);
            break;
        case Outcome::NotFound:
            s = std::string(r.launcher_exit_code == 126 ? "command not executable"
                                                        : "command not found") +
                (r.command.empty() ? "" : ": " + r.command[0]);
            break;
        case Outcome::LauncherFailed:
            s = "corral run failed around the test (exit 125)";
            break;
        case Outcome::Leaked:
            s = r.launcher_exit_code == 0 ? "passed, but " : "failed for leaking (--leak fail): ";
            break;
    }
    if (!r.leaked.empty()) {
        if (r.outcome != Outcome::Leaked) s += "; ";
        s += "left " + plural(r.leaked.size(), "process") + ": " + process_list(r.leaked);
    }
    return s;
}

const char* failed_label(Outcome o) {
    switch (o) {
        case Outcome::Failed:
            return "non-zero exit";
        case Outcome::Leaked:
            return "leaked (--leak fail)";
        default:
            return outcome_name(o);
    }
}

std::string failed_breakdown(const Summary& s) {
    std::string out;
    for (auto o : kAllOutcomes) {
        auto it = s.failed_by.find(o);
        if (it == s.failed_by.end() || it->second == 0) continue;
        // The count first: "exit code 1" read as the test's exit code.
        out += cat({out.empty() ? "of the failed: " : ", ", std::to_string(it->second), " ",
                    failed_label(o)});
    }
    return out;
}

std::string xml_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

nlohmann::json render_json(const Summary& s) {
    nlohmann::json j;
    j["schema"] = "corral.report/2";
    j["run"] = s.label;
    j["passed"] = s.passed;
    j["counts"] = {{"passed", s.passed_count}, {"failed", s.failed_count}, {"leaked", s.leaking}};
    auto failed_by = nlohmann::json::object();
    for (const auto& [o, n] : s.failed_by)
        failed_by[outcome_name(o)] = n;
    j["failed_by_outcome"] = failed_by;
    j["tests_leaking"] = s.leaking;
    j["makespan_seconds"] = s.makespan;
    j["lower_bound_seconds"] = s.lower_bound;
    j["longest_seconds"] = s.longest;
    j["total_wall_seconds"] = s.total_wall;
    j["total_cpu_seconds"] = s.total_cpu;
    j["slots"] = s.slots;
    j["slots_source"] = s.slots_from_plan ? "plan" : "peak concurrency";
    j["slots_busy"] = s.busy;
    j["lock_wait_seconds"] = s.lock_wait;
    j["memory_budget_bytes"] =
        s.memory_budget ? nlohmann::json(*s.memory_budget) : nlohmann::json(nullptr);
    j["memory_peak_sum_bytes"] = s.memory_peak_sum;
    auto tests = nlohmann::json::array();
    for (size_t i = 0; i < s.tests.size(); ++i) {
        const auto& t = s.tests[i];
        auto leaked = nlohmann::json::array();
        for (const auto& p : t.leaked)
            leaked.push_back({{"pid", p.pid}, {"command", p.command}});
        auto killed = nlohmann::json::array();
        for (const auto& p : t.killed_on_timeout)
            killed.push_back({{"pid", p.pid}, {"command", p.command}});
        auto granted = t.granted_memory_bytes();
        tests.push_back(
            {{"name", t.name},
             {"outcome", outcome_name(t.outcome)},
             {"passed", t.passed()},
             {"what_happened", what_happened(t)},
             {"start_seconds", t.start - s.run_start},
             {"wall_seconds", t.end - t.start},
             {"cpu_seconds", t.cpu_seconds},
             {"lane", s.lane[i]},
             {"peak_memory_bytes", t.peak_memory_bytes},
             {"memory_limit_bytes", t.memory_limit_bytes ? nlohmann::json(*t.memory_limit_bytes)
                                                         : nlohmann::json(nullptr)},
             {"granted_memory_bytes", granted ? nlohmann::json(*granted) : nlohmann::json(nullptr)},
             {"lock_wait_seconds", t.lock_wait_seconds},
             {"leaked", leaked},
             {"killed_on_timeout", killed},
             {"record", t.file + ":" + std::to_string(t.line)}});
    }
    j["tests"] = tests;
    return j;
}

}  // namespace corral::report
