// Over ~400 lines on purpose: the reaper's acceptance tests share one
// process-starting and pid-recording harness (see below).
// corral reap: matching rules (pure), and the acceptance tests of issue 5 that
// start real processes under a unique scope directory and run the real
// `corral` program (items 1 reap half, 3, 4, 5, 6, 7, 8) or the library with a
// hook between scan and kill (item 9). Tests kill only what they started,
// through pidfds opened with the start time they recorded.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernel/process.hpp"
#include "runtime/reaper.hpp"
#include "runtime/scope_marker.hpp"
#include "runtime/scratch_dir.hpp"

namespace fs = std::filesystem;
using corral::proc::ProcessRef;
using corral::proc::read_process;
using namespace corral::reap;

extern char** environ;

namespace {

// ---------------------------------------------------------------- pure rules

Scope scope_of(std::vector<std::string> paths, std::optional<std::string> token = {}) {
    Scope s;
    s.paths = std::move(paths);
    s.token = std::move(token);
    return s;
}

TEST(ReapScopeMatch, PathBoundariesKeepSiblingsApart) {
    auto s = scope_of({"/x/001"});
    EXPECT_TRUE(argv_element_in_scope("/x/001", s));
    EXPECT_TRUE(argv_element_in_scope("/x/001/", s));
    EXPECT_TRUE(argv_element_in_scope("/x/001/disk.img", s));
    EXPECT_TRUE(argv_element_in_scope("//x//001/./disk.img", s));
    EXPECT_FALSE(argv_element_in_scope("/x/0010", s));
    EXPECT_FALSE(argv_element_in_scope("/x/0010/disk.img", s));
    EXPECT_FALSE(argv_element_in_scope("/x/001-old/disk.img", s));
    EXPECT_FALSE(argv_element_in_scope("/x/001/../0010/disk.img", s));
    EXPECT_FALSE(argv_element_in_scope("/y/x/001/disk.img", s));
    EXPECT_FALSE(argv_element_in_scope("x/001/disk.img", s));  // relative: cwd rule's job
    EXPECT_FALSE(argv_element_in_scope("/x/001 copy/disk.img", s));
}

TEST(ReapScopeMatch, EmbeddedPathsInOptionsAndScripts) {
    auto s = scope_of({"/x/001"});
    EXPECT_TRUE(argv_element_in_scope("--data-dir=/x/001", s));
    EXPECT_TRUE(argv_element_in_scope("--data-dir=/x/001/vm", s));
    EXPECT_TRUE(argv_element_in_scope("file=/x/001/disk.img,if=virtio", s));
    EXPECT_TRUE(argv_element_in_scope("local,path=/x/001,mount_tag=m", s));
    EXPECT_TRUE(argv_element_in_scope("PATH=/usr/bin:/x/001/bin", s));
    EXPECT_TRUE(argv_element_in_scope("cd /x/001 && exec qemu", s));
    EXPECT_TRUE(argv_element_in_scope("cd '/x/001/vm'; run", s));
    EXPECT_FALSE(argv_element_in_scope("--data-dir=/x/0010", s));
    EXPECT_FALSE(argv_element_in_scope("--data-dir=/x/001-old/vm", s));
    EXPECT_FALSE(argv_element_in_scope("file=/x/001.bak,if=virtio", s));
    EXPECT_FALSE(argv_element_in_scope("--data-dir=/y/x/001", s));
    EXPECT_FALSE(argv_element_in_scope("cd /x/0010 && exec qemu", s));
}

TEST(ReapScopeMatch, KernelPathsAndDeletedDirectories) {
    auto s = scope_of({"/x/001"});
    EXPECT_TRUE(path_in_scope("/x/001", s));
    EXPECT_TRUE(path_in_scope("/x/001/sub", s));
    EXPECT_TRUE(path_in_scope("/x/001 (deleted)", s));
    EXPECT_TRUE(path_in_scope("/x/001/bin/app (deleted)", s));
    EXPECT_FALSE(path_in_scope("/x/001-old (deleted)", s));
    EXPECT_FALSE(path_in_scope("/x/0010", s));
    EXPECT_FALSE(path_in_scope("socket:[1234]", s));
}

TEST(ReapScopeMatch, ScopeNormalizationTrailingSlashAndSymlink) {
    char tmpl[] = "/tmp/corral-reap-norm-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    fs::path base = tmpl;
    fs::create_directory(base / "001");
    fs::create_directory_symlink(base / "001", base / "link");

    auto plain = make_scope((base / "001").string(), std::nullopt);
    auto slashed = make_scope((base / "001").string() + "//", std::nullopt);
    EXPECT_EQ(plain.paths, slashed.paths);
    ASSERT_EQ(plain.paths.size(), 1u);
    EXPECT_EQ(plain.paths[0], (base / "001").string());

    auto linked = make_scope((base / "link").string() + "/", std::nullopt);
    ASSERT_EQ(linked.paths.size(), 2u);
    EXPECT_EQ(linked.paths[0], (base / "link").string());
    EXPECT_EQ(linked.paths[1], (base / "001").string());

    // A scope that no longer exists is fine (the fixture may run after removal).
    auto gone = make_scope((base / "gone").string(), std::nullopt);
    EXPECT_EQ(gone.paths, std::vector<std::string>{(base / "gone").string()});

    // "/" in any spelling, or via a symlink, would match everything: refused
    // even with --force.
    fs::create_directory_symlink("/", base / "root-link");
    for (const auto& root : {std::string("/"), std::string("/tmp/.."), std::string("//"),
                             (base / "root-link").string()})
        EXPECT_THROW(check_dedicated(make_scope(root, std::nullopt), HostDirs{}, true),
                     ScopeRefused)
            << root;
    EXPECT_THROW(make_scope("", std::nullopt), UsageError);
    EXPECT_THROW(make_scope("", std::string()), UsageError);
    EXPECT_NO_THROW(make_scope("", std::string("tok")));
    fs::remove_all(base);
}

TEST(ReapScopeMatch, MatchListAndGlobs) {
    auto m = parse_match_set("cwd, files");
    EXPECT_TRUE(m.cwd);
    EXPECT_TRUE(m.files);
    EXPECT_FALSE(m.argv);
    EXPECT_FALSE(m.env);
    EXPECT_THROW(parse_match_set("argv,pid"), UsageError);
    EXPECT_THROW(parse_match_set(""), UsageError);

    corral::proc::ProcessInfo qemu;
    qemu.comm = "qemu-system-x86";  // comm is cut to 15 characters
    qemu.argv = {"/usr/bin/qemu-system-x86_64", "-m", "1G"};
    EXPECT_TRUE(name_matches_glob("qemu-system*", qemu));
    EXPECT_TRUE(name_matches_glob("qemu-system-x86_64", qemu));  // via argv[0]
    EXPECT_FALSE(name_matches_glob("firecracker", qemu));
}

// ---------------------------------------------------------- process fixtures

constexpr auto kReadyTimeout = std::chrono::seconds(30);

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool wait_for_file(const fs::path& p) {
    auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (fs::exists(p)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

struct Started {
    pid_t pid = 0;
    unsigned long long start_time = 0;
    bool direct_child = false;
    std::optional<int> wait_status;  // once reaped (direct children)
};

struct CorralResult {
    int exit_code = -1;
    std::string out;
    std::string err;
    nlohmann::json json() const { return nlohmann::json::parse(out); }
};

// A unique base directory per test; scopes and control files live under it.
// Everything started is killed in the destructor by identity (pidfd + start time).
class ReapProcessTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-reap-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
        base_ = tmpl;
        ctl_ = base_ / "ctl";
        fs::create_directory(ctl_);
        log_ = ctl_ / "spawned.log";
    }

    void TearDown() override {
        for (auto& s : started_) {
            if (s.wait_status) continue;
            if (auto ref = ProcessRef::open(s.pid, s.start_time)) ref->signal(SIGKILL);
            if (s.direct_child) ::waitpid(s.pid, nullptr, 0);
        }
        for (auto& [pid, start] : logged())
            if (auto ref = ProcessRef::open(pid, start)) ref->signal(SIGKILL);
        std::error_code ec;
        fs::remove_all(base_, ec);
    }

    fs::path make_dir(const std::string& name) {
        fs::create_directories(base_ / name);
        return base_ / name;
    }

    // Forks and execs `program` with argv (argv[0] as given), in `cwd`, with
    // extra environment entries. Returns the index into started_.
    size_t spawn(const std::string& program, std::vector<std::string> args, const fs::path& cwd,
                 std::vector<std::string> extra_env = {}) {
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e)
            env.emplace_back(*e);
        for (auto& e : extra_env)
            env.push_back(e);
        std::vector<char*> argv_c, env_c;
        for (auto& a : args)
            argv_c.push_back(a.data());
        argv_c.push_back(nullptr);
        for (auto& e : env)
            env_c.push_back(e.data());
        env_c.push_back(nullptr);
        std::string dir = cwd.string();
        pid_t pid = ::fork();
        if (pid < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
        if (pid == 0) {
            if (::chdir(dir.c_str()) != 0) ::_exit(126);
            ::execve(program.c_str(), argv_c.data(), env_c.data());
            ::_exit(127);
        }
        auto info = read_process(pid);
        started_.push_back(Started{pid, info ? info->start_time : 0, true, std::nullopt});
        return started_.size() - 1;
    }

    // The test helper with --log, waiting for its --ready file; returns its index.
    size_t spawn_helper(std::vector<std::string> args, const fs::path& cwd,
                        const std::string& argv0 = "reap_test_helper",
                        std::vector<std::string> extra_env = {}) {
        auto ready = ctl_ / ("ready." + std::to_string(ready_count_++));
        std::vector<std::string> full = {argv0, "--log", log_.string(), "--ready", ready.string()};
        full.insert(full.end(), args.begin(), args.end());
        auto index = spawn(REAP_HELPER_EXE, full, cwd, extra_env);
        EXPECT_TRUE(wait_for_file(ready)) << "helper never became ready: " << ready;
        return index;
    }

    // A process started by a daemonizing helper: adopt it by the pid it wrote.
    Started adopt(const fs::path& ready) {
        auto pid = static_cast<pid_t>(std::stol(slurp(ready)));
        auto info = read_process(pid);
        Started s{pid, info ? info->start_time : 0, false, std::nullopt};
        started_.push_back(s);
        return s;
    }

    // True once the process has exited (reaping it if it is our child).
    bool ended(size_t index) {
        auto& s = started_[index];
        if (s.wait_status) return true;
        if (s.direct_child) {
            int st = 0;
            if (::waitpid(s.pid, &st, WNOHANG) == s.pid) {
                s.wait_status = st;
                return true;
            }
            return false;
        }
        auto ref = ProcessRef::open(s.pid, s.start_time);
        return !ref || !ref->alive();
    }

    int wait_child(size_t index) {
        auto& s = started_[index];
        if (!s.wait_status) {
            int st = 0;
            ::waitpid(s.pid, &st, 0);
            s.wait_status = st;
        }
        return *s.wait_status;
    }

    std::vector<std::pair<pid_t, unsigned long long>> logged() const {
        std::vector<std::pair<pid_t, unsigned long long>> out;
        std::ifstream in(log_);
        long pid = 0;
        unsigned long long start = 0;
        while (in >> pid >> start)
            out.emplace_back(static_cast<pid_t>(pid), start);
        return out;
    }

    // Every process any helper created has exited.
    void expect_every_logged_process_ended() {
        for (auto& [pid, start] : logged()) {
            auto ref = ProcessRef::open(pid, start);
            EXPECT_TRUE(!ref || !ref->alive()) << "pid " << pid << " is still running";
        }
    }

    // Runs the real corral program; as_uid drops to that uid (and gid) first.
    CorralResult run_corral(std::vector<std::string> args, std::optional<uid_t> as_uid = {},
                            const fs::path& cwd = {}, std::vector<std::string> set_env = {}) {
        auto out = ctl_ / ("corral.out." + std::to_string(run_count_));
        auto err = ctl_ / ("corral.err." + std::to_string(run_count_++));
        std::vector<std::string> full = {"corral"};
        full.insert(full.end(), args.begin(), args.end());
        std::vector<char*> argv_c;
        for (auto& a : full)
            argv_c.push_back(a.data());
        argv_c.push_back(nullptr);
        pid_t pid = ::fork();
        if (pid == 0) {
            int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0) ::_exit(126);
            if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
            for (auto& kv : set_env)
                ::putenv(kv.data());
            if (as_uid &&
                (::setgroups(0, nullptr) != 0 || ::setgid(*as_uid) != 0 || ::setuid(*as_uid) != 0))
                ::_exit(126);
            ::execv(CORRAL_EXE, argv_c.data());
            ::_exit(127);
        }
        CorralResult r;
        int st = 0;
        ::waitpid(pid, &st, 0);
        r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        r.out = slurp(out);
        r.err = slurp(err);
        return r;
    }

    static const nlohmann::json* find_pid(const nlohmann::json& list, pid_t pid) {
        for (const auto& p : list)
            if (p.at("pid").get<pid_t>() == pid) return &p;
        return nullptr;
    }

    fs::path base_, ctl_, log_;
    std::vector<Started> started_;
    int ready_count_ = 0;
    int run_count_ = 0;
};

// Item 1 (reap half): a double-fork setsid daemon with stdio on /dev/null.
TEST_F(ReapProcessTest, DaemonIsFoundAndKilled) {
    auto scope = make_dir("001");
    auto ready = ctl_ / "daemon.pid";
    auto launcher = spawn(REAP_HELPER_EXE,
                          {"reap_test_helper", "--log", log_.string(), "--ready", ready.string(),
                           "--daemon", "--chdir", scope.string(), (scope / "state").string()},
                          base_);
    EXPECT_TRUE(WIFEXITED(wait_child(launcher)));  // the daemon's grandparent is gone
    ASSERT_TRUE(wait_for_file(ready));
    auto daemon = adopt(ready);
    auto info = read_process(daemon.pid);
    ASSERT_TRUE(info);
    EXPECT_NE(info->ppid, ::getpid());
    EXPECT_NE(info->sid, ::getsid(0));  // setsid: out of our session
    EXPECT_NE(info->sid, daemon.pid);   // second fork: not a session leader
    EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(daemon.pid) + "/fd/1"), "/dev/null");

    auto r = run_corral({"reap", "--scope", scope.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = r.json();
    auto* found = find_pid(j["found"], daemon.pid);
    ASSERT_NE(found, nullptr) << j.dump(2);
    EXPECT_EQ((*found)["outcome"], "terminated");
    EXPECT_TRUE(j["clean"].get<bool>());
    EXPECT_TRUE(ended(started_.size() - 1));
}

// Two ctest runs in one build tree share its scope: the cleanup fixture of the
// run that ends first must leave the other's live launchers (`corral run`)
// and their tests alone (field report: it killed them, and that run's test
// failed with "received SIGTERM"). What a launcher killed outright leaves
// behind is an orphan, and is reaped.
TEST_F(ReapProcessTest, ALiveLauncherAndItsTestAreLeftToIt) {
    auto scope = make_dir("001");
    auto ready = ctl_ / "background.pid";
    const std::string script = "sleep 30.4243 & echo $! > '" + ready.string() + ".tmp' && mv '" +
                               ready.string() + ".tmp' '" + ready.string() +
                               "'; exec sleep 30.4244";
    auto launcher = spawn(CORRAL_EXE,
                          {"corral", "run", "--scratch-root", scope.string(), "--cgroup", "off",
                           "--", "sh", "-c", script},
                          base_);
    ASSERT_TRUE(wait_for_file(ready));
    auto background = adopt(ready);
    const size_t background_index = started_.size() - 1;
    // A process that only calls itself `corral run` (argv, which any process
    // can write) is no launcher: the exe decides.
    std::ofstream(scope / "run") << "import time\ntime.sleep(30.4245)\n";
    auto disguised = spawn("/usr/bin/python3", {"corral", "run"}, scope);

    auto r = run_corral({"reap", "--scope", scope.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = r.json();
    ASSERT_EQ(j["found"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["found"][0]["pid"], started_[disguised].pid) << j.dump(2);
    EXPECT_TRUE(ended(disguised));
    for (pid_t pid : {started_[launcher].pid, background.pid}) {
        auto* s = find_pid(j["spared"], pid);
        ASSERT_NE(s, nullptr) << "pid " << pid << " not spared: " << j.dump(2);
        EXPECT_EQ((*s)["reason"], "launched") << s->dump();
    }
    EXPECT_FALSE(ended(launcher));
    EXPECT_FALSE(ended(background_index));

    // The launcher killed outright: nothing reaps its test's background process
    // but the next reap.
    ProcessRef::open(started_[launcher].pid, started_[launcher].start_time)->signal(SIGKILL);
    wait_child(launcher);
    r = run_corral({"reap", "--scope", scope.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    j = r.json();
    auto* found = find_pid(j["found"], background.pid);
    ASSERT_NE(found, nullptr) << j.dump(2);
    EXPECT_EQ((*found)["outcome"], "terminated");
    EXPECT_TRUE(ended(background_index));
}

// Two ctest runs of one build tree end with two cleanup fixtures at once:
// neither reap kills the other (field report: the second one's argv names the
// scope, and it was terminated; that run failed).
TEST_F(ReapProcessTest, TwoReapersOfOneScopeLeaveEachOtherAlone) {
    auto scope = make_dir("001");
    auto stubborn = spawn_helper({"--ignore-term"}, scope);
    auto first =
        spawn(CORRAL_EXE, {"corral", "reap", "--scope", scope.string(), "--grace", "30"}, base_);
    // The first reaper has scanned and sent SIGTERM; it now waits out its grace.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    auto r = run_corral({"reap", "--scope", scope.string(), "--grace", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = r.json();
    auto* spared = find_pid(j["spared"], started_[first].pid);
    ASSERT_NE(spared, nullptr) << j.dump(2);
    EXPECT_EQ((*spared)["reason"], "reaper");
    EXPECT_NE(find_pid(j["found"], started_[stubborn].pid), nullptr) << j.dump(2);
    int st = wait_child(first);
    EXPECT_TRUE(WIFEXITED(st)) << "the first reaper was killed: " << st;
}

// A reap run inside a test (a nested ctest's cleanup fixture, or the test's
// own `corral reap --scope "$CORRAL_SCOPE"`): a larger scope leaves what the
// enclosing test runs to its launcher (field report: a nested ctest's fixture
// killed the outer test's `tee`); the test's own scope is the test's to clean.
TEST_F(ReapProcessTest, AReapInsideATestSparesItsTestUnlessItReapsItsOwnScope) {
    auto scope = make_dir("001");
    for (bool own : {false, true}) {
        SCOPED_TRACE(own ? "its own scope" : "the enclosing scope");
        const auto out = ctl_ / (own ? "own.json" : "outer.json");
        const auto pidfile = ctl_ / (own ? "own.pid" : "outer.pid");
        const std::string target = own ? "\"$CORRAL_SCOPE\"" : "'" + scope.string() + "'";
        const std::string script = "sleep 30.4247 & echo $! > '" + pidfile.string() + "'; '" +
                                   std::string(CORRAL_EXE) + "' reap --scope " + target +
                                   " --grace 1 --json > '" + out.string() + "'; exit 0";
        auto launcher = spawn(CORRAL_EXE,
                              {"corral", "run", "--scratch-root", scope.string(), "--cgroup", "off",
                               "--leak", "warn", "--", "sh", "-c", script},
                              base_);
        int st = wait_child(launcher);
        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
        const auto background = static_cast<pid_t>(std::stol(slurp(pidfile)));
        auto j = nlohmann::json::parse(slurp(out));
        if (own) {
            auto* found = find_pid(j["found"], background);
            ASSERT_NE(found, nullptr) << j.dump(2);
            EXPECT_EQ((*found)["outcome"], "terminated");
        } else {
            EXPECT_EQ(find_pid(j["found"], background), nullptr) << j.dump(2);
            auto* spared = find_pid(j["spared"], background);
            ASSERT_NE(spared, nullptr) << j.dump(2);
            EXPECT_EQ((*spared)["reason"], "launched");
        }
    }
}

// A scope that does not exist (a typo in a fixture) is still scanned, and
// said: "clean" alone hid the typo (field report).
TEST_F(ReapProcessTest, AScopeThatDoesNotExistIsSaid) {
    const std::string missing = (base_ / "no-such-scope").string();
    auto r = run_corral({"reap", "--scope", missing});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("note: the scope " + missing + " does not exist"), std::string::npos)
        << r.err;
    // As compared: normalised, so "missing/.." is the existing directory.
    auto dotdot = run_corral({"reap", "--scope", missing + "/.."});
    EXPECT_EQ(dotdot.exit_code, 0) << dotdot.err;  // scanned, not refused: the note had its chance
    EXPECT_EQ(dotdot.err.find("does not exist"), std::string::npos) << dotdot.err;
    std::ofstream(base_ / "a-file") << "x";
    auto file = run_corral({"reap", "--scope", (base_ / "a-file").string()});
    EXPECT_NE(file.err.find("is not a directory"), std::string::npos) << file.err;
    auto present = run_corral({"reap", "--scope", make_dir("here").string()});
    EXPECT_EQ(present.exit_code, 0) << present.err;
    EXPECT_EQ(present.err.find("does not exist"), std::string::npos) << present.err;
}

// Item 3: sibling scopes; a trailing slash and a symlinked scope behave the same.
TEST_F(ReapProcessTest, OnlyTheScopeDiesNotItsSiblings) {
    auto s001 = make_dir("x/001");
    auto s0010 = make_dir("x/0010");
    auto sold = make_dir("x/001-old");
    fs::create_directory_symlink(s001, base_ / "link");

    auto start_batch = [&] {
        std::vector<size_t> in, out;
        in.push_back(spawn_helper({}, s001));                                        // cwd
        in.push_back(spawn_helper({"--data-dir=" + (s001 / "d").string()}, base_));  // argv
        out.push_back(spawn_helper({}, s0010));
        out.push_back(spawn_helper({(s0010 / "disk").string()}, base_));
        out.push_back(spawn_helper({}, sold));
        out.push_back(spawn_helper({"--data-dir=" + sold.string()}, base_));
        return std::make_pair(in, out);
    };

    for (std::string scope_arg : {s001.string() + "/", (base_ / "link").string()}) {
        SCOPED_TRACE("scope " + scope_arg);
        auto [in, out] = start_batch();
        auto r = run_corral({"reap", "--scope", scope_arg, "--grace", "10", "--json"});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(r.json()["found"].size(), in.size()) << r.out;
        for (auto i : in)
            EXPECT_TRUE(ended(i)) << "pid " << started_[i].pid << " in the scope survived";
        for (auto i : out)
            EXPECT_FALSE(ended(i)) << "pid " << started_[i].pid << " of a sibling was killed";
        for (auto i : out) {  // our own cleanup, by identity
            ProcessRef::open(started_[i].pid, started_[i].start_time)->signal(SIGKILL);
            wait_child(i);
        }
    }
}

// Item 4: SIGTERM ignored -> SIGKILL after the grace period, promptly.
TEST_F(ReapProcessTest, IgnoredTermIsKilledAfterGrace) {
    auto scope = make_dir("001");
    auto stubborn = spawn_helper({"--ignore-term"}, scope);
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_corral({"reap", "--scope", scope.string(), "--grace", "1", "--json"});
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = r.json();
    auto* found = find_pid(j["found"], started_[stubborn].pid);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ((*found)["outcome"], "killed");
    int st = wait_child(stubborn);
    ASSERT_TRUE(WIFSIGNALED(st));
    EXPECT_EQ(WTERMSIG(st), SIGKILL);
    // Generous bound: grace (1 s) plus margin, far below any hang.
    EXPECT_LT(seconds, 1 + 20) << "reap took " << seconds << " s";
}

// Item 5: a process that rewrote its command line (and name) is found by token or cwd.
TEST_F(ReapProcessTest, DisguisedProcessFoundByTokenOrCwd) {
    auto scope = make_dir("001");
    std::string token = "reap-test-" + std::to_string(::getpid());
    // Tied only by the token: argv rewritten, cwd outside the scope.
    auto by_token = spawn_helper({"--disguise", "innocent", (scope / "x").string()}, base_,
                                 "reap_test_helper", {"CORRAL_SCOPE=" + token});
    // Tied only by the cwd: argv rewritten.
    auto by_cwd = spawn_helper({"--disguise", "innocent2"}, scope);
    // Tied only by CORRAL_SCOPE naming a directory under the scope (as `corral run` sets it).
    auto by_scope_var = spawn_helper({"--disguise", "innocent3"}, base_, "reap_test_helper",
                                     {"CORRAL_SCOPE=" + (scope / "t1").string()});
    for (auto i : {by_token, by_cwd, by_scope_var}) {
        auto info = read_process(started_[i].pid);
        ASSERT_TRUE(info);
        EXPECT_EQ(info->comm.substr(0, 8), "innocent");
        for (const auto& a : info->argv)
            EXPECT_EQ(a.find(scope.string()), std::string::npos) << "argv still names the scope";
    }
    // Without the token only the cwd and CORRAL_SCOPE=<path> ones are found.
    auto dry = run_corral({"reap", "--scope", scope.string(), "--dry-run", "--json"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_EQ(dry.json()["found"].size(), 2u) << dry.out;
    EXPECT_FALSE(ended(by_token));
    EXPECT_FALSE(ended(by_cwd));  // dry run signals nothing

    auto r = run_corral({"reap", "--scope", scope.string(), "--token", token, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = r.json();
    auto* t = find_pid(j["found"], started_[by_token].pid);
    auto* c = find_pid(j["found"], started_[by_cwd].pid);
    auto* v = find_pid(j["found"], started_[by_scope_var].pid);
    ASSERT_TRUE(t && c && v) << j.dump(2);
    EXPECT_EQ((*t)["matched_by"], "env");
    EXPECT_EQ((*c)["matched_by"], "cwd");
    EXPECT_EQ((*v)["matched_by"], "env");
    EXPECT_TRUE(ended(by_scope_var));
    EXPECT_TRUE(ended(by_token));
    EXPECT_TRUE(ended(by_cwd));
}

// --match files finds a process tied only by an open file; the default does not.
TEST_F(ReapProcessTest, OpenFileMatchIsOptIn) {
    auto scope = make_dir("001");
    auto holder =
        spawn_helper({"--open", (scope / "held").string(), "--disguise", "holder"}, base_);
    auto r = run_corral({"reap", "--scope", scope.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.json()["found"].size(), 0u) << r.out;
    EXPECT_FALSE(ended(holder));
    r = run_corral({"reap", "--scope", scope.string(), "--match", "files", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = r.json();
    auto* f = find_pid(j["found"], started_[holder].pid);
    ASSERT_NE(f, nullptr) << r.out;
    EXPECT_EQ((*f)["matched_by"], "files");
    EXPECT_TRUE(ended(holder));
}

// Item 6: a SIGTERM handler that spawns children, and a bounded respawn loop.
TEST_F(ReapProcessTest, KillLoopConvergesOnSpawningProcesses) {
    auto scope = make_dir("001");
    auto spawner = spawn_helper({"--term-spawn", "3"}, scope);
    auto respawner = spawn_helper({"--respawn", "6", "--ignore-term"}, scope);
    auto r = run_corral({"reap", "--scope", scope.string(), "--grace", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = r.json();
    EXPECT_TRUE(j["clean"].get<bool>());
    EXPECT_GE(j["rounds"].get<int>(), 2) << "children born during round 1 need a rescan";
    EXPECT_GE(j["found"].size(), 2u + 3u + 1u);
    EXPECT_TRUE(ended(spawner));
    EXPECT_TRUE(ended(respawner));
    EXPECT_GE(logged().size(), 2u + 3u + 1u);
    expect_every_logged_process_ended();
}

// Item 7: guests die before unordered processes, which die before pagers.
TEST_F(ReapProcessTest, GuestIsDeadBeforePagerIsSignalled) {
    auto scope = make_dir("001");
    auto guest = spawn_helper({"--ignore-term"}, scope, "qemu-system-x86_64-fake");
    auto g = started_[guest];
    auto gspec = std::to_string(g.pid) + ":" + std::to_string(g.start_time);
    auto middle = spawn_helper({"--check-dead", gspec, "--record", (ctl_ / "middle").string()},
                               scope, "worker");
    auto m = started_[middle];
    auto mspec = std::to_string(m.pid) + ":" + std::to_string(m.start_time);
    auto pager = spawn_helper(
        {"--check-dead", gspec, "--check-dead", mspec, "--record", (ctl_ / "pager").string()},
        scope, "fake-pager");

    auto r = run_corral({"reap", "--scope", scope.string(), "--order",
                         "firecracker,cloud-hypervisor,qemu-system*", "--then", "*-pager",
                         "--grace", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(slurp(ctl_ / "middle"), std::to_string(g.pid) + " dead\n");
    EXPECT_EQ(slurp(ctl_ / "pager"),
              std::to_string(g.pid) + " dead\n" + std::to_string(m.pid) + " dead\n");
    auto j = r.json();
    auto* jg = find_pid(j["found"], g.pid);
    auto* jm = find_pid(j["found"], m.pid);
    auto* jp = find_pid(j["found"], started_[pager].pid);
    ASSERT_TRUE(jg && jm && jp) << j.dump(2);
    EXPECT_EQ((*jg)["class"], "order:qemu-system*");
    EXPECT_EQ((*jg)["outcome"], "killed");  // it ignored SIGTERM: the pager waited for KILL
    EXPECT_EQ((*jm)["class"], "default");
    EXPECT_EQ((*jp)["class"], "then:*-pager");
    EXPECT_LT((*jg)["round"].get<int>(), (*jm)["round"].get<int>());
    EXPECT_LT((*jm)["round"].get<int>(), (*jp)["round"].get<int>());
    EXPECT_TRUE(ended(guest) && ended(middle) && ended(pager));
}

// Item 8a: the shell that runs corral names the scope (argv and cwd): spared.
TEST_F(ReapProcessTest, AncestorsAreSpared) {
    auto scope = make_dir("001");
    auto target = spawn_helper({}, scope);
    auto out = ctl_ / "reap.json";
    auto sh = spawn("/bin/sh",
                    {"sh", "-c",
                     // --force: the current directory is refused otherwise (issue 10 item 5).
                     "cd \"$1\" && \"$0\" reap --scope \"$1\" --force --json > \"$2\"; exit $?",
                     CORRAL_EXE, scope.string(), out.string()},
                    base_);
    int st = wait_child(sh);
    ASSERT_TRUE(WIFEXITED(st)) << "the ancestor shell was killed";
    EXPECT_EQ(WEXITSTATUS(st), 0);
    auto j = nlohmann::json::parse(slurp(out));
    EXPECT_EQ(j["exit_status"], 0);
    auto* spared_sh = find_pid(j["spared"], started_[sh].pid);
    ASSERT_NE(spared_sh, nullptr) << j.dump(2);
    EXPECT_EQ((*spared_sh)["reason"], "ancestor");
    bool self_spared = false;
    for (const auto& s : j["spared"])
        self_spared |= s["reason"] == "self";
    EXPECT_TRUE(self_spared) << j.dump(2);
    EXPECT_NE(find_pid(j["found"], started_[target].pid), nullptr);
    EXPECT_TRUE(ended(target));
}

// Item 8b: another user's process in scope is reported and spared unless --all-users.
TEST_F(ReapProcessTest, OtherUsersProcessIsSparedUnlessAllUsers) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to start a process as uid 65534";
    auto scope = make_dir("001");
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::chdir(scope.c_str()) != 0 || ::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 ||
            ::setuid(65534) != 0)
            ::_exit(126);
        ::execl("/bin/sleep", "sleep", "1000", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    started_.push_back(Started{pid, 0, true, std::nullopt});
    size_t other = started_.size() - 1;
    // Wait until it runs as nobody inside the scope (after exec).
    for (int i = 0; i < 3000; ++i) {
        auto info = read_process(pid);
        if (info && info->uid == 65534 && info->comm == "sleep") {
            started_[other].start_time = info->start_time;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_NE(started_[other].start_time, 0u) << "the uid 65534 process never started";

    auto r = run_corral({"reap", "--scope", scope.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = r.json();
    auto* s = find_pid(j["spared"], pid);
    ASSERT_NE(s, nullptr) << j.dump(2);
    EXPECT_EQ((*s)["reason"], "other-user");
    EXPECT_EQ((*s)["uid"], 65534);
    EXPECT_EQ(find_pid(j["found"], pid), nullptr);
    EXPECT_NE(r.err.find("--all-users"), std::string::npos) << r.err;
    EXPECT_FALSE(ended(other));

    r = run_corral({"reap", "--scope", scope.string(), "--all-users", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(find_pid(r.json()["found"], pid), nullptr) << r.out;
    EXPECT_TRUE(ended(other));
}

// Exit 1: a process that refuses the signal (EPERM: corral runs as uid 65534,
// the target as root) is reported as survived, not retried, and not clean.
TEST_F(ReapProcessTest, UnkillableProcessMakesItNotClean) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run corral as uid 65534 against root";
    auto scope = make_dir("001");
    auto root_owned = spawn_helper({(scope / "data").string()}, base_);
    auto r = run_corral({"reap", "--scope", scope.string(), "--all-users", "--json"}, 65534);
    ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
    auto j = r.json();
    auto* f = find_pid(j["found"], started_[root_owned].pid);
    ASSERT_NE(f, nullptr) << j.dump(2);
    EXPECT_EQ((*f)["outcome"], "survived");
    EXPECT_EQ(j["rounds"], 1) << "a refused signal must not be retried every round";
    EXPECT_FALSE(j["clean"].get<bool>());
    EXPECT_NE(find_pid(j["remaining"], started_[root_owned].pid), nullptr);
    EXPECT_EQ(j["exit_status"], 1);
    EXPECT_FALSE(ended(root_owned));
}

// Exit codes and the dry run.
TEST_F(ReapProcessTest, ExitCodesDryRunAndUsage) {
    auto scope = make_dir("001");
    auto clean = run_corral({"reap", "--scope", scope.string()});
    EXPECT_EQ(clean.exit_code, 0) << clean.err;
    EXPECT_NE(clean.out.find("clean: nothing in scope"), std::string::npos) << clean.out;

    auto target = spawn_helper({}, scope);
    auto dry = run_corral({"reap", "--scope", scope.string(), "--dry-run", "--fail-if-found"});
    EXPECT_EQ(dry.exit_code, 3) << dry.out << dry.err;
    EXPECT_NE(dry.out.find("not-signalled"), std::string::npos) << dry.out;
    EXPECT_FALSE(ended(target));

    auto strict = run_corral({"reap", "--scope", scope.string(), "--fail-if-found"});
    EXPECT_EQ(strict.exit_code, 3) << strict.out << strict.err;
    EXPECT_TRUE(ended(target));

    EXPECT_EQ(run_corral({"reap", "--scope", "/"}).exit_code, 4);  // refused, not usage
    EXPECT_EQ(run_corral({"reap"}).exit_code, 2);
    EXPECT_EQ(run_corral({"reap", "--scope", scope.string(), "--match", "pids"}).exit_code, 2);
    EXPECT_EQ(run_corral({"reap", "--scope", scope.string(), "--max-rounds", "0"}).exit_code, 2);
    EXPECT_EQ(run_corral({"reap", "--scope", scope.string(), "--order", ","}).exit_code, 2);
}

// Item 9: a target that exits between scan and kill, its pid then taken by a
// new process outside the scope: the kill step reports it vanished and the
// newcomer is never signalled.
TEST_F(ReapProcessTest, PidReusedBetweenScanAndKillIsNeverSignalled) {
    auto scope = make_dir("001");
    auto target = spawn_helper({}, scope);
    const pid_t target_pid = started_[target].pid;
    const bool can_force_reuse = ::access("/proc/sys/kernel/ns_last_pid", W_OK) == 0;
    std::optional<size_t> impostor;

    ReapOptions options;
    options.scan.scope = make_scope(scope.string(), std::nullopt);
    options.grace_ms = 1000;
    int hook_calls = 0;
    options.after_scan = [&](const std::vector<Found>& step) {
        if (hook_calls++ != 0) return;
        ASSERT_EQ(step.size(), 1u);
        ASSERT_EQ(step[0].candidate.info.pid, target_pid);
        ::kill(target_pid, SIGKILL);  // our own child, not yet reaped: the pid is still ours
        wait_child(target);           // now the pid is free
        if (!can_force_reuse) return;
        for (int attempt = 0; attempt < 500 && !impostor; ++attempt) {
            {
                std::ofstream last("/proc/sys/kernel/ns_last_pid");
                last << (target_pid - 1);
            }
            auto i = spawn("/bin/sleep", {"sleep", "1000"}, "/");
            if (started_[i].pid == target_pid) {
                impostor = i;
            } else {
                ::kill(started_[i].pid, SIGKILL);
                wait_child(i);
            }
        }
    };
    auto report = reap(options);
    ASSERT_EQ(hook_calls, 1);
    ASSERT_EQ(report.found.size(), 1u);
    EXPECT_STREQ(outcome_name(report.found[0].outcome), "vanished");
    EXPECT_TRUE(report.clean());
    if (!can_force_reuse) {
        GTEST_SKIP() << "vanished-target part passed; /proc/sys/kernel/ns_last_pid is not "
                        "writable (needs root), so the pid could not be handed to an impostor";
    }
    ASSERT_TRUE(impostor) << "could not get pid " << target_pid << " reused in 500 tries";
    EXPECT_NE(started_[*impostor].start_time, report.found[0].candidate.info.start_time);
    EXPECT_FALSE(ended(*impostor)) << "the process that took over the pid was signalled";
    auto info = read_process(target_pid);
    ASSERT_TRUE(info);
    EXPECT_NE(info->state, 'T') << "the impostor was stopped";
}

// ProcessRef itself: a stale start time never opens (the identity check).
TEST_F(ReapProcessTest, ProcessRefRefusesAStaleStartTime) {
    auto scope = make_dir("001");
    auto i = spawn_helper({}, scope);
    auto& s = started_[i];
    EXPECT_FALSE(ProcessRef::open(s.pid, s.start_time + 1));
    auto ref = ProcessRef::open(s.pid, s.start_time);
    ASSERT_TRUE(ref);
    EXPECT_TRUE(ref->alive());
}

// ---------------------------------------------------------------- issue 10 item 5
// Dedicated scopes only: the rules (pure, with the host's homes, cwd and
// TMPDIR injected), the Corral-made mark, and the real program.

bool refused(const std::string& dir, const HostDirs& host = {}, bool force = false) {
    try {
        check_dedicated(make_scope(dir, std::nullopt), host, force);
        return false;
    } catch (const ScopeRefused&) {
        return true;
    }
}

std::string refusal_text(const std::string& dir, const HostDirs& host = {}) {
    try {
        check_dedicated(make_scope(dir, std::nullopt), host, false);
    } catch (const ScopeRefused& e) {
        return e.what();
    }
    return "";
}

class ReapDedicated : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-dedicated-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
        host_.uid = ::getuid();
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(base_, ec);
    }
    fs::path dir(const std::string& name) {
        fs::create_directories(base_ / name);
        return base_ / name;
    }
    fs::path base_;
    HostDirs host_;
};

TEST_F(ReapDedicated, SystemDirectoriesAreRefusedUnlessForced) {
    for (const char* d : {"/usr",
                          "/usr/",
                          "/usr//",
                          "/bin",
                          "/sbin",
                          "/etc",
                          "/var",
                          "/opt",
                          "/proc",
                          "/sys",
                          "/dev",
                          "/boot",
                          "/lib",
                          "/lib64",
                          "/srv",
                          "/run",
                          "/root",
                          "/home",
                          "/mnt",
                          "/media",
                          "/usr/local",
                          "/usr/src",
                          "/var/lib",
                          "/var/log",
                          "/run/user",
                          "/usr/lib/x86_64-linux-gnu",
                          "/usr/bin/../sbin",
                          "/proc/1",
                          "/sys/fs/cgroup",
                          "/etc/ssl",
                          "/dev/pts",
                          "/usr/share/doc",
                          "/tmp/../usr"}) {
        EXPECT_TRUE(refused(d, host_)) << d;
        EXPECT_FALSE(refused(d, host_, true)) << d << " with --force";
    }
    EXPECT_NE(refusal_text("/usr", host_).find("system directory /usr"), std::string::npos)
        << refusal_text("/usr", host_);
    EXPECT_NE(refusal_text("/usr", host_).find("nothing was signalled"), std::string::npos);
    // Below a system directory that is not the system's own: a test's.
    for (const char* d : {"/usr/src/app/build/tmp", "/var/lib/jenkins/workspace/job/tmp",
                          "/opt/ci/_work/x", "/dev/shm/corral-x", "/srv/ci/scope"})
        EXPECT_FALSE(refused(d, host_)) << d;
}

TEST_F(ReapDedicated, SharedTempDirectoriesThemselvesAreRefused) {
    for (const char* d : {"/tmp", "/tmp/", "/var/tmp", "/dev/shm", "/tmp/x/.."})
        EXPECT_TRUE(refused(d, host_)) << d;
    EXPECT_FALSE(refused((base_ / "scope").string(), host_));
    host_.tmpdirs = {base_.string() + "/"};
    EXPECT_TRUE(refused(base_.string(), host_));
    EXPECT_NE(refusal_text(base_.string(), host_).find("$TMPDIR"), std::string::npos);
    EXPECT_FALSE(refused((base_ / "scope").string(), host_));
}

TEST_F(ReapDedicated, HomeDirectoriesAndWhatContainsThemAreRefused) {
    auto home = dir("home/alice");
    host_.homes = {home.string()};
    EXPECT_TRUE(refused(home.string(), host_));
    EXPECT_TRUE(refused(home.string() + "/", host_));
    EXPECT_TRUE(refused((base_ / "home").string(), host_));  // contains it
    EXPECT_TRUE(refused(base_.string(), host_));
    EXPECT_NE(refusal_text(home.string(), host_).find("home directory"), std::string::npos);
    EXPECT_FALSE(refused((home / "build/scope").string(), host_));
    EXPECT_FALSE(refused(home.string(), host_, true));
    // Through a symlink, and a symlinked home.
    fs::create_directory_symlink(home, base_ / "link-to-home");
    EXPECT_TRUE(refused((base_ / "link-to-home").string(), host_));
    host_.homes = {(base_ / "link-to-home").string()};
    EXPECT_TRUE(refused(home.string(), host_));
    // The real host: this user's own home.
    auto real = HostDirs::from_host();
    if (const char* h = std::getenv("HOME"); h && *h == '/' && fs::is_directory(h)) {
        EXPECT_TRUE(refused(h, real)) << h;
    }
    EXPECT_FALSE(real.homes.empty()) << "no home directory read from the passwd database";
}

TEST_F(ReapDedicated, TheCurrentDirectoryAndItsAncestorsAreRefused) {
    auto work = dir("work/sub");
    host_.cwds = {work.string()};
    EXPECT_TRUE(refused(work.string(), host_));
    EXPECT_TRUE(refused((base_ / "work").string(), host_));
    EXPECT_TRUE(refused((base_ / "work/sub/..").string(), host_));
    EXPECT_NE(refusal_text((base_ / "work").string(), host_).find("contains the current directory"),
              std::string::npos);
    EXPECT_FALSE(refused((base_ / "work/other").string(), host_));
    EXPECT_FALSE(refused((work / "deeper").string(), host_));
    fs::create_directory_symlink(base_ / "work", base_ / "link");
    EXPECT_TRUE(refused((base_ / "link").string(), host_));
    EXPECT_TRUE(refused((base_ / "link/sub/").string(), host_));
    // A symlink that leads to a system directory.
    fs::create_directory_symlink("/usr", base_ / "usr-link");
    EXPECT_TRUE(refused((base_ / "usr-link").string(), host_));
    EXPECT_TRUE(refused((base_ / "usr-link/bin/..").string(), host_));
}

TEST_F(ReapDedicated, CorralMadeScopeIsAlwaysAcceptedAndTheMarkIsHardToFake) {
    auto scope = dir("home/alice");
    host_.homes = {scope.string()};
    host_.cwds = {(scope / "sub").string()};
    ASSERT_TRUE(refused(scope.string(), host_));
    std::string why;
    ASSERT_TRUE(corral::scope_marker::write(scope.string(), why)) << why;
    EXPECT_TRUE(corral::scope_marker::is_corral_made(scope.string(), host_.uid, &why)) << why;
    EXPECT_FALSE(refused(scope.string(), host_));
    EXPECT_FALSE(refused(scope.string() + "/", host_));
    fs::create_directory_symlink(scope, base_ / "link");
    EXPECT_FALSE(refused((base_ / "link").string(), host_));
    // Another owner than the one reaping: not accepted on its word.
    HostDirs other = host_;
    other.uid = host_.uid + 4242;
    EXPECT_TRUE(refused(scope.string(), other));
    // A marker copied into another directory names the first one: refused.
    auto copy = dir("home/bob");
    fs::copy_file(scope / ".corral-scope", copy / ".corral-scope");
    host_.homes.push_back(copy.string());
    EXPECT_FALSE(corral::scope_marker::is_corral_made(copy.string(), host_.uid, &why));
    EXPECT_NE(why.find("not this directory"), std::string::npos) << why;
    EXPECT_TRUE(refused(copy.string(), host_));
    // A symlink to a valid marker is never followed.
    auto linked = dir("home/carol");
    fs::create_symlink(scope / ".corral-scope", linked / ".corral-scope");
    host_.homes.push_back(linked.string());
    EXPECT_FALSE(corral::scope_marker::is_corral_made(linked.string(), host_.uid, &why));
    EXPECT_TRUE(refused(linked.string(), host_));
    // A wrong first line.
    auto garbled = dir("home/dave");
    std::ofstream(garbled / ".corral-scope") << "corral-scope 2\n" << garbled.string() << "\n";
    host_.homes.push_back(garbled.string());
    EXPECT_TRUE(refused(garbled.string(), host_));
    // "/" stays refused whatever it holds.
    EXPECT_TRUE(refused("/", host_, true));
}

TEST_F(ReapDedicated, LauncherScratchDirectoriesAreCorralMade) {
    auto d = corral::scratch::create(base_.string());
    EXPECT_TRUE(fs::is_empty(d.path)) << "the test's $TMPDIR starts empty, as without corral";
    host_.cwds = {d.path + "/work"};  // a test that cd'ed into its own TMPDIR
    EXPECT_TRUE(refused(d.path, host_)) << "not registered yet: the ordinary rules apply";
    auto registry = dir("registry").string();
    corral::scratch::write_owner(registry, d);
    host_.scratch_registry = registry;
    EXPECT_FALSE(refused(d.path, host_));
    EXPECT_TRUE(refused(base_.string(), host_)) << "only the registered directory itself";
    corral::scratch::remove_owner(registry, d.id);
    EXPECT_TRUE(refused(d.path, host_));
}

// The CMake side writes the same mark, only into a directory Corral made or named.
TEST_F(ReapDedicated, CorralSetupScopeDirIsMarkedOnlyWhenCorralMadeIt) {
    auto made = base_ / "made-by-cmake";
    auto existing = dir("existing");
    auto named = dir("named-by-corral");
    auto script = base_ / "mark.cmake";
    std::ofstream(script) << "include(\"" << CORRAL_SOURCE_DIR
                          << "/cmake/CorralFunctions.cmake\")\n"
                          << "_corral_make_scope(\"" << made.string() << "\" OFF)\n"
                          << "_corral_make_scope(\"" << existing.string() << "\" OFF)\n"
                          << "_corral_make_scope(\"" << named.string() << "\" ON)\n";
    std::string cmd = std::string(CMAKE_EXE) + " -P " + script.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::string why;
    EXPECT_TRUE(corral::scope_marker::is_corral_made(made.string(), ::getuid(), &why)) << why;
    EXPECT_TRUE(corral::scope_marker::is_corral_made(named.string(), ::getuid(), &why)) << why;
    EXPECT_FALSE(fs::exists(existing / ".corral-scope"));
}

// The real program: refused scopes signal nothing (exit 4); --force and a
// Corral-made scope reap.
TEST_F(ReapProcessTest, ScopesThatAreNotDedicatedAreRefusedAndNothingIsSignalled) {
    auto home = make_dir("home");
    auto target = spawn_helper({}, home);
    std::vector<std::string> env = {"HOME=" + home.string()};
    auto r = run_corral({"reap", "--scope", home.string()}, {}, {}, env);
    EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
    EXPECT_NE(r.err.find("is the home directory"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << "nothing may be listed or signalled";
    EXPECT_FALSE(ended(target));

    // An ancestor of the current directory.
    auto work = make_dir("work");
    auto in_work = spawn_helper({}, work);
    auto sub = make_dir("work/sub");
    r = run_corral({"reap", "--scope", work.string() + "/"}, {}, sub, {"PWD=" + sub.string()});
    EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
    EXPECT_NE(r.err.find("contains the current directory"), std::string::npos) << r.err;
    EXPECT_FALSE(ended(in_work));

    for (const char* d : {"/usr", "/tmp", "/var/tmp", "/home", "/etc/"}) {
        auto dry = run_corral({"reap", "--scope", d, "--dry-run"});
        EXPECT_EQ(dry.exit_code, 4) << d << ": " << dry.out << dry.err;
        EXPECT_EQ(dry.out, "") << d;
    }
    auto root = run_corral({"reap", "--scope", "/", "--force", "--dry-run"});
    EXPECT_EQ(root.exit_code, 4) << root.err;

    // --force: the user means it.
    r = run_corral({"reap", "--scope", home.string(), "--force", "--json"}, {}, {}, env);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(ended(target));
    auto forced = run_corral({"reap", "--scope", "/usr", "--force", "--dry-run"});
    EXPECT_EQ(forced.exit_code, 0) << forced.err;
}

TEST_F(ReapProcessTest, CorralMadeScopeIsReapedFromInsideAndAsHome) {
    auto scope = make_dir("scope");
    std::string why;
    ASSERT_TRUE(corral::scope_marker::write(scope.string(), why)) << why;
    auto sub = make_dir("scope/sub");
    auto target = spawn_helper({}, sub);
    auto r = run_corral({"reap", "--scope", scope.string(), "--json"}, {}, sub,
                        {"PWD=" + sub.string(), "HOME=" + scope.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(ended(target));
}

}  // namespace
