// Context: which CI runs us, whether we are in a container, and whatever will
// make tests slower than usual (sanitizers, valgrind). Environment from the
// injected map, files through the host root.
#include <ostream>

#include "common/text.hpp"
#include "kernel/mountinfo.hpp"
#include "kernel/paths.hpp"
#include "probe/probe.hpp"

namespace corral {
namespace {

std::optional<std::string> get(const Environment& env, const char* name) {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
}

bool is_true(const Environment& env, const char* name) {
    auto v = get(env, name);
    return v && (*v == "true" || *v == "1");
}

void detect_ci(const Environment& env, ContextFacts& c) {
    // Forgejo runners set FORGEJO_ACTIONS=true (v7+) and GITEA_ACTIONS=true, and,
    // being act-based, GITHUB_ACTIONS=true too; Gitea's act_runner sets
    // GITEA_ACTIONS=true. So the Forgejo/Gitea markers are checked first.
    if (is_true(env, "FORGEJO_ACTIONS")) {
        c.ci = "forgejo";
        c.ci_source = "FORGEJO_ACTIONS=" + *get(env, "FORGEJO_ACTIONS");
    } else if (is_true(env, "GITEA_ACTIONS")) {
        c.ci = "forgejo";
        c.ci_source = "GITEA_ACTIONS=" + *get(env, "GITEA_ACTIONS") +
                      " (Gitea act_runner or a Forgejo runner before v7)";
    } else if (is_true(env, "GITHUB_ACTIONS")) {
        c.ci = "github";
        c.ci_source = "GITHUB_ACTIONS=" + *get(env, "GITHUB_ACTIONS");
    } else if (is_true(env, "GITLAB_CI")) {
        c.ci = "gitlab";
        c.ci_source = "GITLAB_CI=" + *get(env, "GITLAB_CI");
    } else if (auto ci = get(env, "CI"); ci && !ci->empty() && *ci != "false" && *ci != "0") {
        c.ci_source = "CI=" + *ci +
                      " but no known provider variable (FORGEJO_ACTIONS, "
                      "GITEA_ACTIONS, GITHUB_ACTIONS, GITLAB_CI)";
    } else {
        c.ci_source = "none of FORGEJO_ACTIONS, GITEA_ACTIONS, GITHUB_ACTIONS, GITLAB_CI is true";
    }
}

// pid 1's cgroup paths that container engines and orchestrators create.
std::optional<std::string> container_cgroup_hint(std::string_view cgroup_text) {
    static const char* const kHints[] = {"/docker/",     "/docker-",      "/kubepods",
                                         "/libpod-",     "/lxc/",         "/lxc.payload",
                                         "/containerd/", "/actions_job/", "/machine.slice/libpod"};
    for (auto line : split_lines(cgroup_text))
        for (const char* hint : kHints)
            if (line.find(hint) != std::string_view::npos)
                return std::string(kpath::kInitCgroup) + ": " + std::string(trim(line));
    return std::nullopt;
}

void detect_container(const Host& host, const Environment& env, ContextFacts& c,
                      const std::vector<MountEntry>* given_mounts) {
    c.container = true;
    // Engines mark their containers: systemd's convention ($container, set by
    // podman, lxc, systemd-nspawn), docker's /.dockerenv, podman's /run/.containerenv.
    if (auto v = get(env, "container"); v && !v->empty()) {
        c.container_source = "environment variable container=" + *v;
        return;
    }
    for (const char* marker : {"/.dockerenv", "/run/.containerenv", "/run/systemd/container"}) {
        if (host.exists(marker)) {
            c.container_source = std::string(marker) + " exists";
            return;
        }
    }
    if (auto cg = host.read_text(std::string(kpath::kInitCgroup))) {
        if (auto hint = container_cgroup_hint(*cg)) {
            c.container_source = *hint;
            return;
        }
    }
    const auto mountinfo =
        given_mounts ? Read<std::vector<MountEntry>>::ok(*given_mounts) : read_mountinfo(host);
    if (mountinfo) {
        const auto& mounts = *mountinfo;
        if (auto root = mount_containing(mounts, "/"); root && root->mount_point == "/") {
            if (root->fstype == "overlay" || root->fstype == "fuse-overlayfs") {
                c.container_source = std::string(kpath::kSelfMountinfo) + ": / is " + root->fstype;
                return;
            }
            for (const char* hint : {"/docker/", "/kubelet/", "/containers/storage/"}) {
                if (root->root.find(hint) != std::string::npos ||
                    root->source.find(hint) != std::string::npos) {
                    c.container_source = std::string(kpath::kSelfMountinfo) + ": / comes from " +
                                         root->source + " " + root->root;
                    return;
                }
            }
        }
    }
    c.container = false;
    c.container_source =
        "no $container, /.dockerenv, /run/.containerenv, /run/systemd/container, container "
        "cgroup in " +
        std::string(kpath::kInitCgroup) + ", or overlay root";
}

void add_slowdown(ContextFacts& c, const std::string& what, const std::string& why) {
    bool seen = false;
    for (const auto& s : c.slowdowns)
        seen = seen || s == what;
    if (!seen) c.slowdowns.push_back(what);
    c.slowdown_source += (c.slowdown_source.empty() ? "" : "; ") + why;
}

void detect_slowdowns(const Environment& env, ContextFacts& c) {
    // Runtime option variables are set by jobs that run sanitized builds.
    const std::pair<const char*, const char*> option_vars[] = {{"ASAN_OPTIONS", "asan"},
                                                               {"UBSAN_OPTIONS", "ubsan"},
                                                               {"TSAN_OPTIONS", "tsan"},
                                                               {"MSAN_OPTIONS", "msan"}};
    for (const auto& [var, what] : option_vars)
        if (get(env, var)) add_slowdown(c, what, std::string(var) + " is set");
    if (auto preload = get(env, "LD_PRELOAD")) {
        const std::pair<const char*, const char*> libs[] = {{"libasan", "asan"},
                                                            {"libtsan", "tsan"},
                                                            {"libubsan", "ubsan"},
                                                            {"libmsan", "msan"},
                                                            {"vgpreload", "valgrind"}};
        for (const auto& [lib, what] : libs)
            if (preload->find(lib) != std::string::npos)
                add_slowdown(c, what, std::string("LD_PRELOAD contains ") + lib);
    }
    // valgrind exports VALGRIND_LAUNCHER to the programs it runs.
    for (const char* var : {"VALGRIND_LAUNCHER", "VALGRIND_LIB", "RUNNING_ON_VALGRIND"})
        if (get(env, var)) add_slowdown(c, "valgrind", std::string(var) + " is set");
    if (c.slowdowns.empty())
        c.slowdown_source =
            "no sanitizer or valgrind variables (ASAN/UBSAN/TSAN/MSAN_OPTIONS, LD_PRELOAD, "
            "VALGRIND_*)";
}

}  // namespace

ContextFacts probe_context(const Host& host, const Environment& env,
                           const std::vector<MountEntry>* mounts) {
    ContextFacts c;
    detect_ci(env, c);
    detect_container(host, env, c, mounts);
    detect_slowdowns(env, c);
    auto sudo_user = get(env, "SUDO_USER");
    c.sudo = sudo_user && !sudo_user->empty();
    return c;
}

void describe_context(std::ostream& out, const ContextFacts& c) {
    out << "Context:\n";
    out << "  CI: " << c.ci.value_or("none") << " (" << c.ci_source << ")\n";
    out << "  container: " << (c.container ? "yes" : "no") << " (" << c.container_source << ")\n";
    out << "  slower than usual: ";
    if (c.slowdowns.empty()) {
        out << "no";
    } else {
        for (size_t i = 0; i < c.slowdowns.size(); ++i)
            out << (i ? ", " : "") << c.slowdowns[i];
    }
    out << " (" << c.slowdown_source << ")\n";
    out << "  sudo: " << (c.sudo ? "yes (SUDO_USER is set)" : "no (SUDO_USER unset)") << "\n";
}

}  // namespace corral
