// corral profile: turn run records into the per-test profile (corral.profile/1),
// lint declarations against it (--check), or hand it to CMake (--cmake). This
// file only wires options; the model lives in src/profile/. Exit codes
// (docs/exit-codes.md "corral profile"): 0 done (and --check found no
// under-declared test), 1 --check found an under-declared test, 2 bad usage or
// bad input, or an output could not be written.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/units.hpp"
#include "profile/profile_model.hpp"

namespace corral::cli {
namespace {

struct ProfileOptions {
    std::vector<std::string> records;
    std::vector<std::string> merge;
    std::string out, cmake;
    std::string margin = std::to_string(profile::kDefaultMarginPercent);
    double over_factor = profile::kOverFactor;
    // The default is profile::kHeavyBytes, written as a --heavy SIZE.
    std::string heavy = std::to_string(profile::kHeavyBytes >> 20) + "M";
    bool check = false, json = false;
    bool heavy_given = false, over_factor_given = false;  // on the command line
};

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw profile::ProfileError(path + ": cannot read the profile");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

int run(const ProfileOptions& o) {
    namespace fs = std::filesystem;
    std::string margin_text = o.margin;
    if (!margin_text.empty() && margin_text.back() == '%') margin_text.pop_back();
    int margin = -1;
    try {
        size_t used = 0;
        margin = std::stoi(margin_text, &used);
        if (used != margin_text.size()) margin = -1;
    } catch (const std::exception&) {
    }
    if (margin < 0 || margin > 900) {
        std::cerr << "corral profile: --margin '" << o.margin
                  << "': expected a percentage from 0 to 900 (such as 20 or 20%)\n";
        return kExitUsage;
    }
    auto heavy = units::parse_size(o.heavy);
    if (!heavy) {
        std::cerr << "corral profile: --heavy " << heavy.error << "\n";
        return kExitUsage;
    }
    if (o.records.empty() && o.merge.empty() && (o.out.empty() || !fs::exists(o.out))) {
        std::cerr << "corral profile: nothing to read: give --records FILE (what `corral run "
                     "--records` wrote), --merge PROFILE, or an existing --out profile\n";
        return kExitUsage;
    }
    profile::Profile p;
    try {
        if (!o.out.empty() && fs::exists(o.out)) p = profile::from_json(read_whole(o.out), o.out);
        for (const auto& m : o.merge)
            profile::merge(p, profile::from_json(read_whole(m), m));
        std::vector<report::Record> all;
        for (const auto& f : o.records) {
            auto part = report::read_records(f);
            all.insert(all.end(), part.begin(), part.end());
        }
        if (!all.empty() || o.records.empty()) profile::add_records(p, all);
    } catch (const std::exception& e) {
        std::cerr << "corral profile: " << e.what() << "\n";
        return kExitUsage;
    }

    try {
        if (!o.out.empty()) {
            write_file_atomically(o.out, profile::to_json(p));
            std::cerr << "corral profile: " << p.tests.size() << " tests from " << p.runs.size()
                      << " runs written to " << o.out;
            if (p.aged_out) std::cerr << "; " << p.aged_out << " aged out";
            std::cerr << "\n";
        }
        if (!o.cmake.empty()) {
            std::string origin = !o.out.empty()     ? o.out
                                 : !o.merge.empty() ? o.merge.front()
                                                    : std::string("records");
            write_file_atomically(o.cmake, profile::to_cmake(p, margin, origin));
        }
    } catch (const std::exception& e) {
        std::cerr << "corral profile: " << e.what() << "\n";
        return kExitUsage;
    }

    int status = kExitOk;
    if (o.check) {
        auto c = profile::check(p, o.over_factor, *heavy);
        // The thresholds used and where they came from (docs/profile.md "--check").
        char factor[32];
        std::snprintf(factor, sizeof factor, "%g", c.over_factor);
        std::string heavy_source =
            o.heavy_given ? "--heavy " + o.heavy : "the default; --heavy SIZE sets it";
        std::string over_source = o.over_factor_given ? "--over-factor " + std::string(factor)
                                                      : "the default; --over-factor X sets it";
        if (o.json) {
            nlohmann::json j = {
                {"under_declared", c.under_declared},
                {"over_declared", c.over_declared},
                {"heavy_undeclared", c.heavy_undeclared},
                {"notes", c.notes},
                {"thresholds",
                 {{"heavy_bytes", c.heavy_bytes},
                  {"heavy_source", o.heavy_given ? "--heavy" : "default"},
                  {"over_factor", c.over_factor},
                  {"over_factor_source", o.over_factor_given ? "--over-factor" : "default"},
                  {"over_slack_bytes", profile::kOverSlackBytes}}}};
            std::cout << j.dump(2) << "\n";
        } else {
            for (const auto& l : c.under_declared)
                std::cout << "UNDER-DECLARED " << l << "\n";
            for (const auto& l : c.over_declared)
                std::cout << "over-declared " << l << "\n";
            for (const auto& l : c.heavy_undeclared)
                std::cout << "undeclared " << l << "\n";
            for (const auto& l : c.notes)
                std::cout << "note: " << l << "\n";
            std::cout << c.under_declared.size() << " under-declared, " << c.over_declared.size()
                      << " over-declared, " << c.heavy_undeclared.size() << " heavy undeclared of "
                      << p.tests.size() << " tests\n";
            std::cout << "  over-declared: declared more than " << factor
                      << "x the peak and at least " << profile::human(profile::kOverSlackBytes)
                      << " more (" << over_source << ")\n";
            std::cout << "  heavy undeclared: no declaration and a peak of at least "
                      << profile::human(c.heavy_bytes) << " (" << c.heavy_bytes << " B; "
                      << heavy_source << ")\n";
        }
        if (!c.under_declared.empty()) status = kExitFailure;
    } else if (o.json) {
        std::cout << profile::to_json(p);
    } else if (o.out.empty() && o.cmake.empty()) {
        std::cout << profile::render_table(p);
    }
    return status;
}

}  // namespace

void add_profile_command(CLI::App& app, int& status) {
    auto opts = std::make_shared<ProfileOptions>();
    auto* cmd = app.add_subcommand(
        "profile",
        "Build the per-test profile (corral.profile/1, docs/profile.md) from run records:\n"
        "runs, wall and CPU time, peak non-reclaimable memory (max, p90), declared and\n"
        "granted memory, timeouts, OOM kills, leaks, failures. Merges with an existing\n"
        "--out profile; bounded history; tests no longer recorded age out.");
    cmd->add_option("--records", opts->records, "Records files (corral run --records), any number")
        ->type_name("FILE");
    cmd->add_option("--merge", opts->merge, "Profiles to merge in (corral.profile/1)")
        ->type_name("PROFILE");
    cmd->add_option("--out", opts->out,
                    "Write the profile here (merged with what the file already holds)")
        ->type_name("FILE")
        ->check(non_empty_path());
    cmd->add_flag("--check", opts->check,
                  "Lint declarations: exit 1 when a test's peak exceeded its declaration; list "
                  "over-declared and heavy undeclared tests");
    cmd->add_flag("--json", opts->json,
                  "Print the profile (or, with --check, the findings) as JSON on stdout");
    cmd->add_option("--cmake", opts->cmake,
                    "Write the CMake data corral_setup(PROFILE) applies at ctest time")
        ->type_name("FILE")
        ->check(non_empty_path());
    cmd->add_option("--margin", opts->margin,
                    "Margin on the measured peak for --cmake's mem_mib, percent")
        ->capture_default_str();
    auto* over_factor = cmd->add_option("--over-factor", opts->over_factor,
                                        "--check: over-declared when declared > factor x peak")
                            ->transform(in_range(1, 1000, false))
                            ->capture_default_str();
    auto* heavy = cmd->add_option("--heavy", opts->heavy,
                                  "--check: an undeclared test with at least this peak is listed")
                      ->type_name("SIZE")
                      ->capture_default_str();
    cmd->footer(
        "Examples:\n"
        "  corral profile --records build/corral-plan/records.jsonl\n"
        "  corral profile --records build/corral-plan/records.jsonl --out corral-profile.json\n"
        "  corral profile --records shard1.jsonl shard2.jsonl --check");
    cmd->callback([opts, over_factor, heavy, &status]() {
        opts->over_factor_given = over_factor->count() > 0;
        opts->heavy_given = heavy->count() > 0;
        status = run(*opts);
    });
}

}  // namespace corral::cli
