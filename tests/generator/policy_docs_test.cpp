// The tables in code held against the docs that list them, the known CORRAL_*
// names against the project's own uses, the planner's zero guard and the plan
// model's validated reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "generator/planner.hpp"
#include "generator/policy_knobs.hpp"
#include "plan/plan_json.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The rows of the first Markdown table under `heading` in `file`: cells trimmed.
std::vector<std::vector<std::string>> table_under(const fs::path& file,
                                                  const std::string& heading) {
    std::istringstream in(slurp(file));
    std::vector<std::vector<std::string>> rows;
    bool in_section = false, in_table = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("#", 0) == 0) {
            if (in_section && in_table) break;
            in_section = line == heading;
            continue;
        }
        if (!in_section) continue;
        if (line.rfind("|", 0) != 0) {
            if (in_table) break;
            continue;
        }
        in_table = true;
        if (line.find("---") != std::string::npos) continue;
        std::vector<std::string> cells;
        std::string cell;
        for (std::size_t i = 1; i < line.size(); ++i) {
            if (line[i] == '|') {
                auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
                cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
                cell.clear();
            } else {
                cell += line[i];
            }
        }
        rows.push_back(cells);
    }
    if (!rows.empty()) rows.erase(rows.begin());  // the header
    return rows;
}

const fs::path kSource = CORRAL_SOURCE_DIR;

// docs/policy.md "## Knobs": | `key` | default | variable | meaning |
TEST(KnobTable, DocsListEveryKnobWithItsVariableAndDefault) {
    auto rows = table_under(kSource / "docs/policy.md", "## Knobs");
    ASSERT_GT(rows.size(), 20u) << "docs/policy.md has no ## Knobs table";
    std::map<std::string, std::vector<std::string>> documented;
    for (const auto& r : rows) {
        ASSERT_EQ(r.size(), 4u) << r[0];
        ASSERT_TRUE(r[0].size() > 2 && r[0].front() == '`' && r[0].back() == '`') << r[0];
        documented[r[0].substr(1, r[0].size() - 2)] = r;
    }
    std::set<std::string> in_table;
    for (const auto& k : knob_table()) {
        in_table.insert(k.path);
        auto it = documented.find(k.path);
        if (it == documented.end()) {
            ADD_FAILURE() << k.path << " is a knob but docs/policy.md does not list it";
            continue;
        }
        const auto& def = it->second[1];
        const auto& var = it->second[2];
        if (k.default_text == "auto" || k.default_text == "none")
            EXPECT_NE(def.find(k.default_text), std::string::npos)
                << k.path << ": the table says " << k.default_text << ", the docs " << def;
        else
            EXPECT_NE(def.find("`" + k.default_text + "`"), std::string::npos)
                << k.path << ": the table's default is " << k.default_text << ", the docs say "
                << def;
        if (k.variable.empty())
            EXPECT_EQ(var, "—") << k.path << " has no variable, the docs say " << var;
        else
            EXPECT_EQ(var.rfind("`" + k.variable + "`", 0), 0u)
                << k.path << ": the table's variable is " << k.variable << ", the docs say " << var;
    }
    for (const auto& [key, row] : documented)
        EXPECT_TRUE(in_table.count(key))
            << "docs/policy.md lists " << key << ", which is not in the knob table";
}

// Every default in the table reads back as default_policy()'s value with the
// source "default", and no knob's default is refused by its own range.
TEST(KnobTable, DefaultsAreTheTablesAndPassTheirOwnRanges) {
    Policy p = default_policy();
    EXPECT_NO_THROW(check_policy_values(p));
    EXPECT_EQ(p.test_timeout_seconds.value, defaults::kTestTimeoutSeconds);
    EXPECT_EQ(p.job_timeout_minutes.value, defaults::kJobTimeoutMinutes);
    EXPECT_EQ(p.memory_per_test_bytes.value, 512ull << 20);
    EXPECT_DOUBLE_EQ(p.memory_reserve_fraction.value, 0.10);
    EXPECT_EQ(p.memory_reserve_fraction.source, "default");
    for (const auto& k : knob_table())
        EXPECT_FALSE(knob_kind_name(k.kind).empty() || k.doc.empty()) << k.path;
}

// Every CORRAL_* name the project itself reads, sets or documents for users is
// known: a knob's variable or a known non-policy one. The sources: string
// literals in src/ and generator/, the CI templates, and the CMake variables
// docs/cmake.md tells users to set.
TEST(KnobTable, EveryCorralNameTheProjectUsesIsKnown) {
    const std::regex literal("\"(CORRAL_[A-Z0-9_]+)\""), word("\\b(CORRAL_[A-Z0-9_]+)");
    std::map<std::string, std::string> used;  // name -> where
    auto scan = [&](const fs::path& file, const std::regex& re) {
        const std::string text = slurp(file);
        for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it)
            used.emplace((*it)[1].str(), file.lexically_relative(kSource).string());
    };
    for (const char* dir : {"src", "generator"})
        for (const auto& e : fs::recursive_directory_iterator(kSource / dir))
            if (e.path().extension() == ".cpp" || e.path().extension() == ".hpp")
                scan(e.path(), literal);
    for (const auto& e : fs::directory_iterator(kSource / "templates"))
        scan(e.path(), word);
    scan(kSource / "docs/cmake.md", word);
    ASSERT_GT(used.size(), 10u);
    // Not variables: the github.env heredoc delimiter (emit_env.cpp).
    used.erase("CORRAL_EOF");
    used.erase("CORRAL_EOF_");
    for (const auto& [name, where] : used)
        EXPECT_TRUE(known_corral_variable(name))
            << name << " (" << where
            << ") is used by the project but unknown to policy_knobs.cpp: corral plan would "
               "warn about it";
    EXPECT_FALSE(known_corral_variable("CORRAL_MEMROY"));
}

// docs/plan-schema.md "## Warning codes" lists exactly the WarningCode names.
TEST(WarningCodes, DocsListExactlyTheEnum) {
    auto rows = table_under(kSource / "docs/plan-schema.md", "## Warning codes");
    std::vector<std::string> documented, in_code;
    for (const auto& r : rows)
        documented.push_back(r.at(0).substr(1, r.at(0).size() - 2));
    for (const auto& [code, name] : kWarningCodeNames) {
        in_code.push_back(name);
        EXPECT_EQ(parse_warning_code(name), code);
        EXPECT_EQ(warning_code_name(code), name);
    }
    EXPECT_EQ(documented, in_code);
}

// The planner divides by memory.per_test, the job memories and a pool's
// memory_per_job: a zero there is refused at the knob and its source (a
// hand-built or value-initialised Policy once crashed with SIGFPE).
TEST(PlannerGuards, ZeroMemoryPerTestOrPerJobIsAnErrorAtTheKnob) {
    Facts f;
    f.cpu.effective = 4;
    f.memory.effective_bytes = 8ull << 30;
    auto error_of = [&](const Policy& p) -> std::string {
        try {
            make_plan(f, p);
        } catch (const PolicyError& e) {
            return e.what();
        }
        return "";
    };
    Policy p = default_policy();
    p.memory_per_test_bytes = {0, "corral.yaml:3:13"};
    EXPECT_EQ(error_of(p),
              "corral.yaml:3:13: memory.per_test: expected a size above zero, such as 512M, 2G "
              "or 1.5GiB, got 0");
    p = default_policy();
    p.link_job_memory_bytes = {0, "CORRAL_LINK_JOB_MEMORY"};
    EXPECT_EQ(error_of(p),
              "CORRAL_LINK_JOB_MEMORY: build.link_job_memory: expected a size above zero, such "
              "as 512M, 2G or 1.5GiB, got 0");
    p = default_policy();
    p.extra_pools.push_back({"lto", std::nullopt, 0, "corral.yaml:7:5"});
    EXPECT_EQ(error_of(p),
              "corral.yaml:7:5: build.pools.lto.memory_per_job: expected a size above zero, got 0");
    p = default_policy();
    p.extra_pools.push_back({"lto", std::nullopt, std::nullopt, "corral.yaml:7:5"});
    EXPECT_NE(error_of(p).find("exactly one of depth or memory_per_job"), std::string::npos);
    p = default_policy();
    p.test_parallel_level = {0, "--test-level"};
    EXPECT_NE(error_of(p).find("tests.parallel_level: expected an integer from 1"),
              std::string::npos);
    EXPECT_NE(error_of(Policy{}), "");  // value-initialised: zeros everywhere, no crash
    EXPECT_EQ(error_of(default_policy()), "");
}

// The placeholders read the pools by name, not by position.
TEST(PlannerGuards, PoolPlaceholdersReadPoolsByName) {
    Facts f;
    f.cpu.effective = 8;
    f.memory.effective_bytes = 32ull << 30;
    Policy p = default_policy();
    p.env.push_back({"DEPTHS", "{compile_pool_depth}/{link_pool_depth}", "corral.yaml:2:3"});
    Plan plan = make_plan(f, p);
    ASSERT_TRUE(plan.find_pool("compile") && plan.find_pool("link"));
    std::string want = std::to_string(plan.find_pool("compile")->depth) + "/" +
                       std::to_string(plan.find_pool("link")->depth);
    auto it = std::find_if(plan.env.begin(), plan.env.end(),
                           [](const EnvVar& v) { return v.name == "DEPTHS"; });
    ASSERT_NE(it, plan.env.end());
    EXPECT_EQ(it->value, want);
    EXPECT_EQ(plan.find_pool("nonesuch"), nullptr);
}

TEST(PlanReader, PartialPlansLoadAndBadFieldsAreNamed) {
    auto plan = plan_from_json(nlohmann::ordered_json::parse(
        R"({"schema": "corral.plan/1", "scratch_dir": "/fast",
            "resources": [{"name": "heavy_io", "ids": [{"id": "fs0", "path": "/a"}]}]})"));
    EXPECT_EQ(plan.scratch_dir, "/fast");
    EXPECT_EQ(plan.resources.at(0).ids.at(0).path, "/a");
    EXPECT_EQ(plan.test_timeout_seconds, defaults::kTestTimeoutSeconds);
    auto error_of = [](const char* text) -> std::string {
        try {
            plan_from_json(nlohmann::ordered_json::parse(text));
        } catch (const PlanError& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(error_of(R"({"schema": "corral.plan/1", "cpus": "4"})"),
              "field \"cpus\": expected an integer, got the string \"4\"");
    EXPECT_EQ(error_of(R"({"schema": "corral.plan/1", "timeout_multiplier": 0})"),
              "field \"timeout_multiplier\": expected a number above 0, got the number 0");
    EXPECT_EQ(error_of(R"({"schema": "corral.plan/1", "resources": [{"ids": [3]}]})"),
              "field \"resources[0].ids[0]\": expected an object, got the number 3");
    EXPECT_EQ(
        error_of(R"({"schema": "corral.plan/1", "warnings": [{"code": "oops"}]})")
            .rfind("field \"warnings[0].code\": expected a warning code (probe_overridden, ", 0),
        0u);
    EXPECT_NE(error_of(R"({"schema": "corral.facts/1"})").find("a facts document"),
              std::string::npos);
}

}  // namespace
}  // namespace corral
