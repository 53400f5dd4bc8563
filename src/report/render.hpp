// The renderers of `corral report`: each a pure function of a Summary
// (run_summary.hpp) to text. They never read records or write files; the
// CLI (src/cli/report_command.cpp) decides where the text goes.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "report/run_summary.hpp"

namespace corral::report {

// One line: what happened to the test ("exit code 1", "timed out after 2 s;
// killed 3: sh -c ..., sleep 300", "passed, but left 1 process: sleep 300").
std::string what_happened(const Record& r);

// How the counts name a failed test's outcome in "of the failed: ..." (text,
// Markdown, HTML): "exit code" for Outcome::Failed (the test's own code),
// "leaked (--leak fail)" for Outcome::Leaked, the outcome's name otherwise.
// The JSON's failed_by_outcome uses outcome_name() (docs/report.md "Counts").
const char* failed_label(Outcome o);

// "of the failed: 1 non-zero exit, 1 timed out": the non-zero failed_by counts in
// the order of kAllOutcomes; "" when nothing failed.
std::string failed_breakdown(const Summary& s);

// The terminal summary, fitted to `width` columns; ANSI colour only if `colour`.
// `top` = how many slowest / heaviest / waiting tests to list.
void render_text(const Summary& s, std::ostream& out, bool colour, int top = 5, int width = 80);

// JUnit XML (Ant/Jenkins shape; tests/report/junit.xsd is the schema the
// suite validates it against): one testsuite for the run, one testcase per
// test; <failure> for failed/signalled/leaked (--leak fail), <error> for
// timed out/OOM-killed/not found/launcher failed, with type and message
// saying which; per-test properties corral.* and a system-out line.
std::string render_junit(const Summary& s);

// GitHub-flavoured Markdown for $GITHUB_STEP_SUMMARY: a headline, then one
// table, the tests that did not pass first (at most `max_rows` rows).
std::string render_markdown(const Summary& s, int max_rows = 200);

// One self-contained HTML page (inline CSS, JS, SVG; no network): the
// timeline (one bar per test, element id "bar-<index>", class "bar <outcome>",
// a <title> with the details) and memory in use against the budget.
std::string render_html(const Summary& s);

// The summary as JSON (schema corral.report/2, docs/report.md).
nlohmann::json render_json(const Summary& s);

// XML 1.0 character data / attribute value: & < > " ' escaped; control
// characters XML 1.0 cannot carry (not even as references) become "\xNN".
std::string xml_escape(const std::string& text);

}  // namespace corral::report
