// The terminal summary of `corral report`: fits `width` columns (names are
// shortened with "~"), colour only when asked (the CLI asks on a terminal
// without NO_COLOR).
#include <algorithm>
#include <cstdio>

#include "common/text.hpp"
#include "report/render.hpp"

namespace corral::report {
namespace {

struct Paint {
    bool on;
    std::string operator()(const char* code, const std::string& text) const {
        return on ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
    }
};

const char* colour_of(Outcome o) {
    switch (o) {
        case Outcome::Passed:
            return "32";
        case Outcome::Leaked:
            return "33";
        case Outcome::TimedOut:
            return "35";
        default:
            return "31";
    }
}

// Display width counted in code points (UTF-8 continuation bytes do not count).
size_t columns(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

// At most `width` columns, cut on a code point boundary, "~" marking the cut.
std::string fit(const std::string& s, size_t width) {
    if (columns(s) <= width) return s;
    std::string out;
    size_t n = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) != 0x80) {
            if (n + 1 >= width) break;
            ++n;
        }
        out += s[i];
    }
    return out + "~";
}

std::string pad(const std::string& s, size_t width) {
    auto f = fit(s, width);
    return f + std::string(width - std::min(width, columns(f)), ' ');
}

// Wraps `text` to `width` columns, continuation lines indented by `indent`.
std::vector<std::string> wrap(const std::string& text, size_t width, size_t indent) {
    std::vector<std::string> lines;
    std::string line;
    size_t start = 0;
    while (start <= text.size()) {
        auto sp = text.find(' ', start);
        std::string word = text.substr(start, sp == std::string::npos ? sp : sp - start);
        size_t limit = lines.empty() ? width : width - indent;
        if (!line.empty() && columns(line) + 1 + columns(word) > limit) {
            lines.push_back(line);
            line.clear();
        }
        if (!line.empty()) line += ' ';
        line += fit(word, limit);
        if (sp == std::string::npos) break;
        start = sp + 1;
    }
    if (!line.empty()) lines.push_back(line);
    for (size_t i = 1; i < lines.size(); ++i)
        lines[i] = std::string(indent, ' ') + lines[i];
    return lines;
}

}  // namespace

void render_text(const Summary& s, std::ostream& out, bool colour, int top, int width) {
    Paint paint{colour};
    auto w = static_cast<size_t>(std::max(width, 40));
    size_t n = s.tests.size();
    std::string verdict = s.passed ? paint("1;32", "PASSED") : paint("1;31", "FAILED");
    out << "corral report: " << n << " test" << (n == 1 ? "" : "s") << " in "
        << human_seconds(s.makespan) << ", " << verdict << "\n";
    out << "run " << fit(s.label, w - 4) << "\n\n";

    // Counts (docs/report.md "Counts"): passed + failed = every test, as CTest
    // saw it; leaked = the tests that left processes, passed or failed; then
    // what the failed ones were.
    auto item = [&](const char* name, int c, const char* code) {
        std::string text = std::string(name) + " " + std::to_string(c);
        return c ? paint(code, text) : text;
    };
    out << "  " << item("passed", s.passed_count, "32") << "   "
        << item("failed", s.failed_count, "31") << "   " << item("leaked", s.leaking, "33") << "\n";
    if (s.failed_count > 0)
        for (const auto& line : wrap(failed_breakdown(s), w - 2, 4))
            out << "  " << line << "\n";

    // Every test that did not pass cleanly, or that leaked.
    std::vector<const Record*> problems;
    for (const auto& t : s.tests)
        if (t.outcome != Outcome::Passed || !t.leaked.empty()) problems.push_back(&t);
    if (!problems.empty()) {
        out << "\nProblems\n";
        for (const auto* t : problems) {
            std::string tag = outcome_name(t->outcome);
            for (auto& c : tag)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            out << "  " << paint(colour_of(t->outcome), pad(tag, 16)) << fit(t->name, w - 18)
                << "\n";
            for (const auto& line : wrap(what_happened(*t), w - 6, 2))
                out << "    " << line << "\n";
        }
    }

    auto top_n = static_cast<size_t>(std::max(top, 0));
    // Only tests that ran: one that never started took no time and held no memory of its own.
    std::vector<const Record*> by;
    for (const auto& t : s.tests)
        if (t.ran()) by.push_back(&t);
    size_t name_w = w - 2 - 10 - 1;
    if (top_n > 0 && !by.empty()) {
        std::stable_sort(by.begin(), by.end(), [](const Record* a, const Record* b) {
            return a->end - a->start > b->end - b->start;
        });
        out << "\nSlowest\n";
        for (size_t i = 0; i < by.size() && i < top_n; ++i)
            out << "  " << pad(human_seconds(by[i]->end - by[i]->start), 10) << " "
                << fit(by[i]->name, name_w) << "\n";

        std::stable_sort(by.begin(), by.end(), [](const Record* a, const Record* b) {
            return a->peak_memory_bytes > b->peak_memory_bytes;
        });
        size_t heavy_w = w - 2 - 1 - 33;
        out << "\n"
            << pad("Heaviest (memory)", heavy_w + 3) << pad("peak", 11) << pad("limit", 11)
            << "granted\n";
        for (size_t i = 0; i < by.size() && i < top_n; ++i) {
            const auto* t = by[i];
            auto granted = t->granted_memory_bytes();
            out << "  " << pad(t->name, heavy_w) << " "
                << pad(human_bytes(t->peak_memory_bytes), 11)
                << pad(t->memory_limit_bytes ? human_bytes(*t->memory_limit_bytes) : "-", 11)
                << (granted ? human_bytes(*granted) : "-") << "\n";
        }
    }

    std::vector<const Record*> waits;
    for (const auto& t : s.tests)
        if (t.lock_wait_seconds > 0 || !t.locks.empty()) waits.push_back(&t);
    if (!waits.empty()) {
        std::stable_sort(waits.begin(), waits.end(), [](const Record* a, const Record* b) {
            return a->lock_wait_seconds > b->lock_wait_seconds;
        });
        out << "\nLock and slot waits (" << human_seconds(s.lock_wait) << " in all)\n";
        for (size_t i = 0; i < waits.size() && i < std::max<size_t>(top_n, 1); ++i) {
            std::string held;
            for (const auto& l : waits[i]->locks)
                held += (held.empty() ? "" : " ") + l;
            out << "  " << pad(human_seconds(waits[i]->lock_wait_seconds), 10) << " "
                << pad(waits[i]->name, 30) << " " << fit(held, w - 44) << "\n";
        }
    }

    out << "\nSchedule\n";
    char buf[256];
    std::snprintf(buf, sizeof buf, "makespan %s; lower bound %s = max(longest test %s,",
                  human_seconds(s.makespan).c_str(), human_seconds(s.lower_bound).c_str(),
                  human_seconds(s.longest).c_str());
    out << "  " << buf << "\n";
    std::snprintf(buf, sizeof buf, "  %s of tests / %d slot%s%s)",
                  human_seconds(s.total_wall).c_str(), s.slots, s.slots == 1 ? "" : "s",
                  s.slots_from_plan ? " from the plan" : ", the peak concurrency");
    out << "  " << buf << "\n";
    std::snprintf(buf, sizeof buf, "slots busy %.0f %%; %s of CPU time; %d lane%s in the timeline",
                  s.busy * 100, human_seconds(s.total_cpu).c_str(), s.lanes,
                  s.lanes == 1 ? "" : "s");
    out << "  " << buf << "\n";
    if (s.memory_budget || s.memory_peak_sum) {
        out << "  memory: at most " << human_bytes(s.memory_peak_sum) << " of peaks held at once";
        if (s.memory_budget) out << " (budget " << human_bytes(*s.memory_budget) << ")";
        out << "\n";
    }
}

}  // namespace corral::report
