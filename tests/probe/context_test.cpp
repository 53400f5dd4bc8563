// CI provider, container and slowdowns: environment maps passed in, files
// from recorded trees.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "probe/probe.hpp"
#include "scratch_test_support.hpp"

namespace corral {
namespace {

RecordedHost tree(const std::string& name) {
    return RecordedHost(std::string(CORRAL_TEST_DATA_DIR) + "/hosts/" + name);
}

ContextFacts bare(const Environment& env) {
    return probe_context(tree("context-bare-host"), env);
}

TEST(ContextCi, Providers) {
    auto gh = bare({{"GITHUB_ACTIONS", "true"}, {"CI", "true"}});
    EXPECT_EQ(gh.ci, "github");
    EXPECT_EQ(gh.ci_source, "GITHUB_ACTIONS=true");

    // Forgejo runners set all three (they are act-based): Forgejo wins.
    auto fj =
        bare({{"GITHUB_ACTIONS", "true"}, {"GITEA_ACTIONS", "true"}, {"FORGEJO_ACTIONS", "true"}});
    EXPECT_EQ(fj.ci, "forgejo");
    EXPECT_EQ(fj.ci_source, "FORGEJO_ACTIONS=true");

    auto gitea = bare({{"GITHUB_ACTIONS", "true"}, {"GITEA_ACTIONS", "true"}});
    EXPECT_EQ(gitea.ci, "forgejo");
    EXPECT_NE(gitea.ci_source.find("GITEA_ACTIONS=true"), std::string::npos);

    auto gl = bare({{"GITLAB_CI", "true"}, {"CI", "true"}});
    EXPECT_EQ(gl.ci, "gitlab");
    EXPECT_EQ(gl.ci_source, "GITLAB_CI=true");

    auto none = bare({});
    EXPECT_FALSE(none.ci.has_value());
    EXPECT_NE(none.ci_source.find("GITHUB_ACTIONS"), std::string::npos);

    auto unknown = bare({{"CI", "true"}});
    EXPECT_FALSE(unknown.ci.has_value());
    EXPECT_NE(unknown.ci_source.find("CI=true but no known provider"), std::string::npos);

    auto off = bare({{"GITHUB_ACTIONS", "false"}});
    EXPECT_FALSE(off.ci.has_value());
}

TEST(ContextContainer, BareHostIsNotAContainer) {
    auto c = bare({});
    EXPECT_FALSE(c.container);
    EXPECT_NE(c.container_source.find("no $container"), std::string::npos);
}

TEST(ContextContainer, Markers) {
    auto docker = probe_context(tree("context-docker"), {});
    EXPECT_TRUE(docker.container);
    EXPECT_EQ(docker.container_source, "/.dockerenv exists");

    auto podman = probe_context(tree("context-podman"), {});
    EXPECT_TRUE(podman.container);
    EXPECT_EQ(podman.container_source, "/run/.containerenv exists");

    auto kube = probe_context(tree("context-kubepods"), {});
    EXPECT_TRUE(kube.container);
    EXPECT_NE(kube.container_source.find("/proc/1/cgroup: 0::/kubepods.slice"), std::string::npos)
        << kube.container_source;

    auto overlay = probe_context(tree("context-overlay-root"), {});
    EXPECT_TRUE(overlay.container);
    EXPECT_EQ(overlay.container_source, "/proc/self/mountinfo: / is overlay");

    auto env = bare({{"container", "podman"}});
    EXPECT_TRUE(env.container);
    EXPECT_EQ(env.container_source, "environment variable container=podman");
}

TEST(ContextSlowdowns, SanitizersAndValgrindFromTheEnvironment) {
    EXPECT_TRUE(bare({}).slowdowns.empty());

    auto asan = bare({{"ASAN_OPTIONS", "detect_leaks=1"}, {"UBSAN_OPTIONS", "print_stacktrace=1"}});
    EXPECT_EQ(asan.slowdowns, (std::vector<std::string>{"asan", "ubsan"}));
    EXPECT_NE(asan.slowdown_source.find("ASAN_OPTIONS is set"), std::string::npos);

    auto preload = bare({{"LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libasan.so.8"}});
    EXPECT_EQ(preload.slowdowns, (std::vector<std::string>{"asan"}));
    EXPECT_NE(preload.slowdown_source.find("LD_PRELOAD contains libasan"), std::string::npos);

    auto tsan = bare({{"TSAN_OPTIONS", "halt_on_error=1"}});
    EXPECT_EQ(tsan.slowdowns, (std::vector<std::string>{"tsan"}));
    auto msan = bare({{"MSAN_OPTIONS", ""}});
    EXPECT_EQ(msan.slowdowns, (std::vector<std::string>{"msan"}));

    auto vg = bare({{"LD_PRELOAD", "/usr/libexec/valgrind/vgpreload_core-amd64-linux.so"},
                    {"VALGRIND_LAUNCHER", "/usr/bin/valgrind"}});
    EXPECT_EQ(vg.slowdowns, (std::vector<std::string>{"valgrind"}));  // once, two reasons
    EXPECT_NE(vg.slowdown_source.find("VALGRIND_LAUNCHER"), std::string::npos);
    EXPECT_NE(vg.slowdown_source.find("vgpreload"), std::string::npos);
}

TEST(ContextSudo, FromSudoUser) {
    EXPECT_TRUE(bare({{"SUDO_USER", "alice"}}).sudo);
    EXPECT_FALSE(bare({{"SUDO_USER", ""}}).sudo);
    EXPECT_FALSE(bare({}).sudo);
}

TEST(ContextDescribe, SaysWhy) {
    std::ostringstream out;
    describe_context(out, probe_context(tree("context-docker"),
                                        {{"FORGEJO_ACTIONS", "true"}, {"ASAN_OPTIONS", "x"}}));
    const auto text = out.str();
    EXPECT_NE(text.find("CI: forgejo (FORGEJO_ACTIONS=true)"), std::string::npos) << text;
    EXPECT_NE(text.find("container: yes (/.dockerenv exists)"), std::string::npos) << text;
    EXPECT_NE(text.find("slower than usual: asan (ASAN_OPTIONS is set)"), std::string::npos)
        << text;
}

TEST(ContextCli, TheProgramReadsItsOwnEnvironment) {
    auto r = test::run_command(
        "env -i GITHUB_ACTIONS=true ASAN_OPTIONS=abort_on_error=1 "
        "SUDO_USER=alice " +
            std::string(CORRAL_EXE) + " probe --json",
        false);
    ASSERT_EQ(r.status, 0) << r.output;
    auto facts = nlohmann::json::parse(r.output, nullptr, false);
    ASSERT_FALSE(facts.is_discarded()) << r.output;
    EXPECT_EQ(facts["context"]["ci"], "github");
    EXPECT_EQ(facts["context"]["ci_source"], "GITHUB_ACTIONS=true");
    EXPECT_EQ(facts["context"]["slowdowns"], nlohmann::json::array({"asan"}));
    EXPECT_EQ(facts["context"]["sudo"], true);
}

TEST(ContextLive, ContainerMarkersOfThisHost) {
    auto c = probe_context(live_host(), {});
    if (::access("/.dockerenv", F_OK) == 0) {
        EXPECT_TRUE(c.container);
        EXPECT_EQ(c.container_source, "/.dockerenv exists");
    } else if (::access("/run/.containerenv", F_OK) == 0) {
        EXPECT_TRUE(c.container);
        EXPECT_EQ(c.container_source, "/run/.containerenv exists");
    } else {
        EXPECT_FALSE(c.container_source.empty());
    }
}

}  // namespace
}  // namespace corral
