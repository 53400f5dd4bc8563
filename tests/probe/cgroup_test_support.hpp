// Helpers for the CPU/memory probe tests: running the real corral program
// without a shell, listing the recorded cgroup trees, and comparing a facts
// section against a tree's expected.json.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace corral::test {

struct ProgramResult {
    int exit_code = -1;  // -1 when it did not exit normally
    std::string out;
    std::string err;
};

inline std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs argv (argv[0] is the program path) with stdout and stderr in private temporary
// files, so neither can fill a pipe and block.
inline ProgramResult run_program(const std::vector<std::string>& argv) {
    ProgramResult r;
    char out_name[] = "/tmp/corral-p1-out-XXXXXX";
    char err_name[] = "/tmp/corral-p1-err-XXXXXX";
    int out_fd = ::mkstemp(out_name);
    int err_fd = ::mkstemp(err_name);
    if (out_fd < 0 || err_fd < 0) {
        ADD_FAILURE() << "mkstemp: " << std::strerror(errno);
        return r;
    }
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    if (pid > 0) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    } else {
        ADD_FAILURE() << "fork: " << std::strerror(errno);
    }
    ::close(out_fd);
    ::close(err_fd);
    r.out = slurp(out_name);
    r.err = slurp(err_name);
    ::unlink(out_name);
    ::unlink(err_name);
    return r;
}

inline std::filesystem::path hosts_dir() {
    return std::filesystem::path(CORRAL_TEST_DATA_DIR) / "hosts";
}

// Recorded trees of the CPU/memory probe: tests/data/hosts/cgroup-*/ with expected.json.
inline std::vector<std::string> cgroup_tree_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(hosts_dir(), ec)) {
        auto name = entry.path().filename().string();
        if (name.rfind("cgroup-", 0) == 0 &&
            std::filesystem::exists(entry.path() / "expected.json"))
            names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

inline std::string test_name_of(const std::string& tree) {
    std::string out = tree;
    for (auto& c : out)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return out;
}

inline nlohmann::json expected_of(const std::string& tree) {
    return nlohmann::json::parse(slurp(hosts_dir() / tree / "expected.json"));
}

// Every key of `expected` must hold in `actual`:
//   "field": value            -> actual[field] == value (null = unknown/none)
//   "field_contains": "text"  -> actual[field] (a string) contains text
//   "notes_contain": "text"   -> one of actual["notes"] contains text
inline void expect_section(const nlohmann::json& actual, const nlohmann::json& expected,
                           const std::string& label) {
    for (const auto& item : expected.items()) {
        const auto& key = item.key();
        const auto& want = item.value();
        const std::string suffix = "_contains";
        if (key == "notes_contain") {
            // One string, or an array of strings that must each appear in some note.
            auto wanted = want.is_array() ? want : nlohmann::json::array({want});
            for (const auto& text : wanted) {
                bool found = false;
                for (const auto& note : actual.at("notes"))
                    found = found || note.get<std::string>().find(text.get<std::string>()) !=
                                         std::string::npos;
                EXPECT_TRUE(found) << label << ": no note contains '" << text.get<std::string>()
                                   << "'; notes: " << actual.at("notes").dump();
            }
        } else if (key.size() > suffix.size() &&
                   key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
            auto field = key.substr(0, key.size() - suffix.size());
            ASSERT_TRUE(actual.contains(field)) << label << ": no field " << field;
            auto text = actual.at(field).get<std::string>();
            EXPECT_NE(text.find(want.get<std::string>()), std::string::npos)
                << label << "." << field << " = '" << text << "' does not contain '"
                << want.get<std::string>() << "'";
        } else {
            ASSERT_TRUE(actual.contains(key)) << label << ": no field " << key;
            EXPECT_EQ(actual.at(key), want)
                << label << "." << key << " (sources: " << actual.dump() << ")";
        }
    }
}

inline void expect_section(const nlohmann::ordered_json& actual, const nlohmann::json& expected,
                           const std::string& label) {
    expect_section(nlohmann::json::parse(actual.dump()), expected, label);
}

}  // namespace corral::test
