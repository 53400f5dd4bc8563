#include "runner_emulation.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace corral::test {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

[[noreturn]] void unsupported(const std::string& what) {
    throw std::runtime_error("runner emulation: unsupported " + what);
}

void check_keys(const YAML::Node& node, const std::set<std::string>& allowed,
                const std::string& where) {
    for (const auto& kv : node) {
        auto key = kv.first.as<std::string>();
        if (!allowed.count(key)) unsupported("key \"" + key + "\" in " + where);
    }
}

void no_expressions(const std::string& text, const std::string& where) {
    if (text.find("${{") != std::string::npos) unsupported("expression ${{ }} in " + where);
}

std::map<std::string, std::string> env_map(const YAML::Node& node, const std::string& where) {
    std::map<std::string, std::string> out;
    if (!node) return out;
    if (!node.IsMap()) unsupported("non-mapping env in " + where);
    for (const auto& kv : node) {
        auto value = kv.second.as<std::string>();
        no_expressions(value, where + " env");
        out[kv.first.as<std::string>()] = value;
    }
    return out;
}

// $GITHUB_ENV: NAME=value lines, or NAME<<DELIMITER ... DELIMITER blocks.
void read_github_env(const fs::path& file, std::map<std::string, std::string>& into) {
    std::istringstream in(read_all(file));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto heredoc = line.find("<<");
        auto eq = line.find('=');
        if (heredoc != std::string::npos && (eq == std::string::npos || heredoc < eq)) {
            std::string name = line.substr(0, heredoc), delim = line.substr(heredoc + 2);
            std::string value, part;
            bool closed = false;
            while (std::getline(in, part)) {
                if (part == delim) {
                    closed = true;
                    break;
                }
                value += (value.empty() ? "" : "\n") + part;
            }
            if (!closed)
                throw std::runtime_error("$GITHUB_ENV: " + name + "<<" + delim +
                                         " is never closed");
            into[name] = value;
        } else if (eq != std::string::npos) {
            into[line.substr(0, eq)] = line.substr(eq + 1);
        } else {
            throw std::runtime_error("$GITHUB_ENV: a line that is not NAME=value: " + line);
        }
    }
}

// Runs argv in cwd with exactly `env`; stdout and stderr into one log file.
int spawn(const std::vector<std::string>& argv, const fs::path& cwd,
          const std::map<std::string, std::string>& env, const fs::path& log) {
    std::vector<std::string> env_text;
    for (const auto& [k, v] : env)
        env_text.push_back(k + "=" + v);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = ::open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0)
            ::_exit(126);
        if (::chdir(cwd.c_str()) != 0) ::_exit(126);
        std::vector<char*> args, envp;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        for (const auto& e : env_text)
            envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string JobOutcome::transcript() const {
    std::string out;
    for (const auto& s : steps)
        out += "--- step \"" + s.name + "\" exit " + std::to_string(s.exit_code) + "\n" + s.log;
    return out;
}

// Whether a step (or job) with this `if:` runs, given whether a step failed.
bool condition_holds(const YAML::Node& node, bool failed, const std::string& where) {
    if (!node) return !failed;
    auto text = node.as<std::string>();
    if (text == "${{ always() }}" || text == "${{ !cancelled() }}" || text == "always()")
        return true;
    if (text == "${{ success() }}" || text == "success()") return !failed;
    unsupported("if: " + text + " in " + where);
}

// `${{ matrix.NAME }}` -> value, in the whole job text.
std::string substitute_matrix(std::string text, const std::map<std::string, std::string>& matrix) {
    for (const auto& [name, value] : matrix) {
        const std::string key = "${{ matrix." + name + " }}";
        for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at))
            text.replace(at, key.size(), value);
    }
    return text;
}

JobOutcome run_job(const std::string& workflow_yaml, const RunnerSetup& setup) {
    YAML::Node root = YAML::Load(workflow_yaml);
    auto jobs = root["jobs"];
    if (!jobs.IsMap() || jobs.size() != 1) unsupported("workflow: expected exactly one job");
    return run_job(workflow_yaml, setup, jobs.begin()->first.as<std::string>(), {});
}

JobOutcome run_job(const std::string& workflow_yaml, const RunnerSetup& setup,
                   const std::string& job_id, const std::map<std::string, std::string>& matrix) {
    YAML::Node original = YAML::Load(workflow_yaml)["jobs"][job_id];
    if (!original) unsupported("job " + job_id + ": not in the workflow");
    auto declared = original["strategy"]["matrix"];
    std::set<std::string> names;
    for (const auto& kv : declared) {
        auto name = kv.first.as<std::string>();
        names.insert(name);
        if (!matrix.count(name)) unsupported("job " + job_id + ": no value for matrix." + name);
        bool listed = false;
        for (const auto& v : kv.second)
            listed |= v.as<std::string>() == matrix.at(name);
        if (!listed) unsupported("job " + job_id + ": matrix." + name + " value not listed");
    }
    for (const auto& [name, value] : matrix)
        if (!names.count(name)) unsupported("job " + job_id + ": matrix." + name + " not declared");
    YAML::Node job = YAML::Load(substitute_matrix(YAML::Dump(original), matrix));
    check_keys(job,
               {"name", "runs-on", "timeout-minutes", "env", "steps", "strategy", "needs", "if"},
               "job " + job_id);
    if (job["strategy"]) check_keys(job["strategy"], {"fail-fast", "matrix"}, "strategy");
    condition_holds(job["if"], false, "job " + job_id);
    if (job["name"]) no_expressions(job["name"].as<std::string>(), "job name");
    auto job_env = env_map(job["env"], "job " + job_id);

    fs::create_directories(setup.scratch);
    std::map<std::string, std::string> carried;  // from $GITHUB_ENV
    std::vector<std::string> paths;              // from $GITHUB_PATH, newest first
    JobOutcome outcome;
    bool failed = false;
    int index = 0;
    for (const auto& step : job["steps"]) {
        ++index;
        const std::string where = "step " + std::to_string(index);
        check_keys(step, {"name", "uses", "with", "run", "working-directory", "shell", "env", "if"},
                   where);
        if (!condition_holds(step["if"], failed, where)) continue;
        if (step["uses"]) {
            auto uses = step["uses"].as<std::string>();
            if (step["with"]) no_expressions(YAML::Dump(step["with"]), where + " with");
            StepOutcome s;
            s.name = step["name"] ? step["name"].as<std::string>() : uses;
            if (uses.rfind("actions/checkout@", 0) == 0) {
                continue;  // the caller prepared the workspace: that is the checkout
            } else if (uses.rfind("actions/download-artifact@", 0) == 0) {
                check_keys(step["with"], {"path"}, where + " with");
                auto dir = setup.workspace / step["with"]["path"].as<std::string>();
                if (!fs::is_directory(dir)) {
                    s.exit_code = 1;
                    s.log = "no downloaded artifacts at " + dir.string() + "\n";
                }
            } else if (uses.rfind("actions/upload-artifact@", 0) == 0) {
                check_keys(step["with"], {"name", "path", "if-no-files-found"}, where + " with");
                Artifact a;
                a.name = step["with"]["name"].as<std::string>();
                std::istringstream lines(step["with"]["path"].as<std::string>());
                for (std::string line; std::getline(lines, line);) {
                    if (line.empty()) continue;
                    auto file = setup.workspace / line;
                    (fs::exists(file) ? a.files : a.missing).push_back(file);
                }
                auto policy = step["with"]["if-no-files-found"].as<std::string>("warn");
                for (const auto& m : a.missing)
                    s.log += (policy == "error" ? "error: " : "warning: ") + m.string() +
                             " does not exist\n";
                if (policy == "error" && !a.missing.empty()) s.exit_code = 1;
                outcome.artifacts.push_back(a);
            } else {
                unsupported("action " + uses);
            }
            outcome.steps.push_back(s);
            failed |= s.exit_code != 0;
            continue;
        }
        if (!step["run"]) unsupported(where + " without run: or uses:");
        StepOutcome s;
        auto script = step["run"].as<std::string>();
        no_expressions(script, where);
        s.name =
            step["name"] ? step["name"].as<std::string>() : script.substr(0, script.find('\n'));

        auto env = setup.env;
        for (const auto& [k, v] : job_env)
            env[k] = v;
        for (const auto& [k, v] : carried)
            env[k] = v;
        for (const auto& [k, v] : env_map(step["env"], where))
            env[k] = v;
        std::string path_prefix;
        for (const auto& p : paths)
            path_prefix += p + ":";
        env["PATH"] = path_prefix + env["PATH"];
        auto github_env = setup.scratch / ("github-env-" + std::to_string(index));
        auto github_path = setup.scratch / ("github-path-" + std::to_string(index));
        std::ofstream(github_env).close();
        std::ofstream(github_path).close();
        env["GITHUB_ENV"] = github_env.string();
        env["GITHUB_PATH"] = github_path.string();
        env["GITHUB_WORKSPACE"] = setup.workspace.string();
        auto step_summary = setup.scratch / ("step-summary-" + std::to_string(index));
        std::ofstream(step_summary).close();
        env["GITHUB_STEP_SUMMARY"] = step_summary.string();

        auto script_file = setup.scratch / ("step-" + std::to_string(index) + ".sh");
        std::ofstream(script_file, std::ios::binary) << script;
        std::vector<std::string> argv = {"/bin/bash", "--noprofile", "--norc",
                                         "-eo",       "pipefail",    script_file.string()};
        if (step["shell"]) {
            auto shell = step["shell"].as<std::string>();
            if (shell == "sh")
                argv = {"/bin/sh", "-e", script_file.string()};
            else if (shell != "bash")
                unsupported("shell " + shell);
        }
        fs::path cwd = setup.workspace;
        if (step["working-directory"]) cwd /= step["working-directory"].as<std::string>();
        auto log = setup.scratch / ("step-" + std::to_string(index) + ".log");
        if (!fs::is_directory(cwd)) {
            s.exit_code = 1;
            s.log = "working-directory " + cwd.string() + " does not exist\n";
        } else {
            s.exit_code = spawn(argv, cwd, env, log);
            s.log = read_all(log);
        }
        outcome.step_summary += read_all(step_summary);
        outcome.steps.push_back(s);
        if (s.exit_code != 0) {
            failed = true;
            continue;
        }
        read_github_env(github_env, carried);
        std::istringstream path_lines(read_all(github_path));
        for (std::string line; std::getline(path_lines, line);)
            if (!line.empty()) paths.insert(paths.begin(), line);
    }
    outcome.success = !failed;
    return outcome;
}

}  // namespace corral::test
