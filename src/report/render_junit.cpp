// JUnit XML in the Ant/Jenkins shape that GitHub, GitLab and Jenkins test
// reporters read (tests/report/junit.xsd is the schema the suite checks).
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <sstream>

#include "report/render.hpp"

namespace corral::report {
namespace {

std::string seconds3(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s < 0 ? 0 : s);
    return buf;
}

// xs:dateTime without a zone, as the Ant schema has it (UTC).
std::string timestamp(double unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return buf;
}

bool is_error(Outcome o) {
    return o == Outcome::TimedOut || o == Outcome::OomKilled || o == Outcome::NotFound ||
           o == Outcome::LauncherFailed;
}

std::string processes(const std::vector<Process>& list) {
    std::string out;
    for (const auto& p : list)
        out += (out.empty() ? "" : "; ") + std::to_string(p.pid) + " " + p.command;
    return out;
}

}  // namespace

std::string render_junit(const Summary& s) {
    int failures = 0, errors = 0;
    for (const auto& t : s.tests) {
        if (t.passed()) continue;
        (is_error(t.outcome) ? errors : failures)++;
    }
    char host[256] = "localhost";
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
    std::ostringstream x;
    auto prop = [&](const std::string& indent, const std::string& name, const std::string& value) {
        x << indent << "<property name=\"" << xml_escape(name) << "\" value=\"" << xml_escape(value)
          << "\"/>\n";
    };
    std::string count = std::to_string(s.tests.size());
    x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    x << "<testsuites name=\"corral\" tests=\"" << count << "\" failures=\"" << failures
      << "\" errors=\"" << errors << "\" time=\"" << seconds3(s.makespan) << "\">\n";
    x << "  <testsuite name=\"" << xml_escape("corral run " + s.label) << "\" tests=\"" << count
      << "\" failures=\"" << failures << "\" errors=\"" << errors << "\" skipped=\"0\" time=\""
      << seconds3(s.makespan) << "\" timestamp=\"" << timestamp(s.run_start) << "\" hostname=\""
      << xml_escape(host) << "\">\n";
    x << "    <properties>\n";
    prop("      ", "corral.run_id", s.label);
    prop("      ", "corral.makespan_seconds", seconds3(s.makespan));
    prop("      ", "corral.lower_bound_seconds", seconds3(s.lower_bound));
    prop("      ", "corral.slots", std::to_string(s.slots));
    prop("      ", "corral.tests_leaking", std::to_string(s.leaking));
    x << "    </properties>\n";
    for (const auto& t : s.tests) {
        x << "    <testcase name=\"" << xml_escape(t.name) << "\" classname=\"corral\" time=\""
          << seconds3(t.end - t.start) << "\">\n";
        x << "      <properties>\n";
        prop("        ", "corral.outcome", outcome_name(t.outcome));
        prop("        ", "corral.peak_memory_bytes", std::to_string(t.peak_memory_bytes));
        if (t.memory_limit_bytes)
            prop("        ", "corral.memory_limit_bytes", std::to_string(*t.memory_limit_bytes));
        if (auto g = t.granted_memory_bytes())
            prop("        ", "corral.granted_memory_bytes", std::to_string(*g));
        prop("        ", "corral.leaked_processes", std::to_string(t.leaked.size()));
        if (!t.leaked.empty()) prop("        ", "corral.leaked", processes(t.leaked));
        if (!t.killed_on_timeout.empty())
            prop("        ", "corral.killed_on_timeout", processes(t.killed_on_timeout));
        x << "      </properties>\n";
        if (!t.passed()) {
            const char* tag = is_error(t.outcome) ? "error" : "failure";
            x << "      <" << tag << " type=\"" << xml_escape(outcome_name(t.outcome))
              << "\" message=\"" << xml_escape(what_happened(t)) << "\">"
              << xml_escape("corral run exited " + std::to_string(t.launcher_exit_code) + ": " +
                            what_happened(t))
              << "</" << tag << ">\n";
        }
        std::string out = "corral: " + std::string(outcome_name(t.outcome)) +
                          (t.outcome == Outcome::Passed ? "" : "; " + what_happened(t)) +
                          "\ncorral: peak memory " + std::to_string(t.peak_memory_bytes) +
                          " bytes (" + t.peak_memory_source + ")\n";
        if (!t.leaked.empty()) out += "corral: LEAKED: " + processes(t.leaked) + "\n";
        if (!t.killed_on_timeout.empty())
            out += "corral: killed on timeout: " + processes(t.killed_on_timeout) + "\n";
        x << "      <system-out>" << xml_escape(out) << "</system-out>\n";
        x << "    </testcase>\n";
    }
    x << "  </testsuite>\n</testsuites>\n";
    return x.str();
}

}  // namespace corral::report
