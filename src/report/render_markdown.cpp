// Markdown for $GITHUB_STEP_SUMMARY: a headline and one table, the tests
// that did not pass first.
#include <algorithm>
#include <sstream>

#include "common/text.hpp"
#include "report/render.hpp"

namespace corral::report {
namespace {

// A table cell: no line breaks, | escaped, and HTML (which GitHub renders in
// Markdown) neutralised.
std::string cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '|':
                out += "\\|";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '`':
                out += "\\`";
                break;
            case '*':
                out += "\\*";
                break;
            case '_':
                out += "\\_";
                break;
            case '\n':
            case '\r':
                out += ' ';
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out += ' ';
                else
                    out += c;
        }
    }
    return out;
}

const char* mark(const Record& t) {
    if (!t.passed()) return "❌";
    if (!t.leaked.empty()) return "⚠️";
    return "✅";
}

}  // namespace

std::string render_markdown(const Summary& s, int max_rows) {
    std::ostringstream md;
    md << "### corral: " << s.tests.size() << " tests, " << (s.passed ? "all passed" : "FAILED")
       << " (" << human_seconds(s.makespan) << ")\n\n";
    // The counts of docs/report.md "Counts", as the text and JSON have them.
    std::string counts = "passed **" + std::to_string(s.passed_count) + "** · failed **" +
                         std::to_string(s.failed_count) + "**";
    if (s.failed_count > 0) counts += " (" + failed_breakdown(s) + ")";
    counts += " · leaked **" + std::to_string(s.leaking) + "**";
    md << counts << " · run `" << cell(s.label) << "`\n\n";

    std::vector<const Record*> rows;
    for (const auto& t : s.tests)
        rows.push_back(&t);
    auto rank = [](const Record* t) { return !t->passed() ? 0 : !t->leaked.empty() ? 1 : 2; };
    std::stable_sort(rows.begin(), rows.end(), [&](const Record* a, const Record* b) {
        if (rank(a) != rank(b)) return rank(a) < rank(b);
        return a->end - a->start > b->end - b->start;
    });
    md << "| | test | outcome | time | peak memory | what happened |\n";
    md << "|---|---|---|---:|---:|---|\n";
    size_t shown = 0;
    for (const auto* t : rows) {
        if (shown >= static_cast<size_t>(std::max(max_rows, 1)) && rank(t) == 2) break;
        ++shown;
        md << "| " << mark(*t) << " | " << cell(t->name) << " | " << outcome_name(t->outcome)
           << " | " << human_seconds(t->end - t->start) << " | "
           << human_bytes(t->peak_memory_bytes) << " | " << cell(what_happened(*t)) << " |\n";
    }
    if (shown < rows.size()) md << "\n" << rows.size() - shown << " more passed tests not shown.\n";
    md << "\nMakespan " << human_seconds(s.makespan) << " against a lower bound of "
       << human_seconds(s.lower_bound) << "; " << s.slots << " slots "
       << static_cast<int>(s.busy * 100 + 0.5) << " % busy.\n";
    return md.str();
}

}  // namespace corral::report
