// The per-test cgroup on an emulated cgroupfs: a temp dir laid out like
// cgroupfs, the process tables recorded beside it, and FsOps that apply the
// kernel's rules (Documentation/admin-guide/cgroup-v2.rst: mkdir creates the
// interface files of the controllers the parent enables; "+memory" in
// cgroup.subtree_control fails with EBUSY while the cgroup holds processes).
// This host's v2 hierarchy has no memory controller, so the v2 logic runs here.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "common/text.hpp"
#include "runtime/cgroup_sandbox.hpp"

namespace fs = std::filesystem;

namespace corral {
namespace {

constexpr pid_t kSelf = 4242;

std::string slurp(const fs::path& p) {
    auto r = read_file(p);
    return r ? *r : "<" + r.error + ">";
}
void put(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

class EmulatedCgroupFs : public cgroup::FsOps {
  public:
    std::set<std::string> failing;     // file names whose writes fail
    std::set<std::string> unwritable;  // file names access(W_OK) refuses (not delegated)
    int fail_errno = EACCES;
    bool v2 = true;

    int can_write(const std::string& path) const override {
        if (unwritable.count(fs::path(path).filename().string())) return EACCES;
        return FsOps::can_write(path);
    }

    int make_dir(const std::string& path) const override {
        if (int err = FsOps::make_dir(path)) return err;
        put(path + "/cgroup.procs", "");
        if (v2) {
            auto enabled = slurp(fs::path(path).parent_path() / "cgroup.subtree_control");
            put(path + "/cgroup.controllers", enabled);
            put(path + "/cgroup.subtree_control", "");
            if (enabled.find("memory") != std::string::npos)
                for (const char* f : {"memory.max", "memory.swap.max", "memory.peak"})
                    put(path + "/" + f, "max\n");
        } else {
            for (const char* f : {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"})
                put(path + "/" + f, "9223372036854771712\n");
        }
        return 0;
    }
    int remove_dir(const std::string& path) const override {
        if (!trim(slurp(path + "/cgroup.procs")).empty()) return EBUSY;
        for (auto& e : fs::directory_iterator(path))
            if (e.is_regular_file()) fs::remove(e.path());
        return FsOps::remove_dir(path);
    }
    int write(const std::string& path, const std::string& value) const override {
        const fs::path p(path);
        const auto name = p.filename().string();
        if (failing.count(name)) return fail_errno;
        if (!fs::exists(p)) return ENOENT;  // cgroupfs: no such interface file
        if (name == "cgroup.procs") {       // "0": the writer moves; out of every other cgroup
            auto root = p.parent_path();
            while (fs::exists(root.parent_path() / "cgroup.procs"))
                root = root.parent_path();
            for (auto& e : fs::recursive_directory_iterator(root))
                if (e.path().filename() == "cgroup.procs") put(e.path(), "");
            put(p, std::to_string(kSelf) + "\n");
            return 0;
        }
        if (name == "cgroup.subtree_control") {
            if (!trim(slurp(p.parent_path() / "cgroup.procs")).empty()) return EBUSY;
            put(p, std::string(trim(slurp(p))) + (value == "+memory" ? " memory" : "") + "\n");
            return 0;
        }
        put(p, value + "\n");
        return 0;
    }
};

// A recorded host whose process (kSelf) sits in /user.slice/job of a v2
// hierarchy (or /docker/abc/inner of a v1 memory hierarchy mounted with root
// /docker/abc), and the cgroupfs beside it.
struct Tree {
    fs::path root;
    std::string job;  // the cgroupfs directory of our cgroup (under root)
    explicit Tree(bool v2, const std::string& procs) {
        root = fs::temp_directory_path() /
               ("corral-cgfs-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(root);
        fs::create_directories(root / "proc");
        fs::create_symlink(std::to_string(kSelf), root / "proc/self");
        auto self = root / "proc" / std::to_string(kSelf);
        if (v2) {
            put(self / "cgroup", "0::/user.slice/job\n");
            put(self / "mountinfo", "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
            job = (root / "sys/fs/cgroup/user.slice/job").string();
            put(job + "/cgroup.controllers", "cpu memory pids\n");
            put(job + "/cgroup.subtree_control", "\n");
        } else {
            put(self / "cgroup", "4:memory:/docker/abc/inner\n0::/\n");
            put(self / "mountinfo",
                "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
            job = (root / "sys/fs/cgroup/memory/inner").string();
        }
        put(job + "/cgroup.procs", procs);
    }
    ~Tree() { fs::remove_all(root); }
    static inline int counter = 0;
};

TEST(CgroupV2Delegation, MovesUsIntoALeafEnablesMemoryAndLimitsTheSiblingLeaf) {
    Tree t(true, std::to_string(kSelf) + "\n");
    RecordedHost host(t.root);
    EmulatedCgroupFs ops;
    std::string why;
    auto s = cgroup::Sandbox::create("t1", 64ull << 20, why, cgroup::Hierarchy::Auto,
                                     {&host, t.root, &ops});
    ASSERT_TRUE(s) << why;
    EXPECT_STREQ(s->kind(), "cgroup-v2");
    EXPECT_TRUE(s->has_memory());
    EXPECT_TRUE(s->memory_limit().enforced) << s->memory_limit().reason;
    EXPECT_EQ(s->memory_limit().reason, "");
    EXPECT_EQ(s->dir(), t.job + "/corral-t1");
    EXPECT_EQ(trim(slurp(t.job + "/corral-launcher-4242/cgroup.procs")), "4242");
    EXPECT_EQ(trim(slurp(t.job + "/cgroup.procs")), "");
    EXPECT_EQ(trim(slurp(t.job + "/cgroup.subtree_control")), "memory");
    EXPECT_EQ(trim(slurp(s->dir() + "/memory.max")), "67108864");
    EXPECT_EQ(trim(slurp(s->dir() + "/memory.swap.max")), "0");
}

TEST(CgroupV2Delegation, SaysWhyWhenTheCgroupHoldsOtherProcesses) {
    Tree t(true, "77\n" + std::to_string(kSelf) + "\n");
    RecordedHost host(t.root);
    EmulatedCgroupFs ops;
    std::string why;
    auto s = cgroup::Sandbox::create("t2", 64ull << 20, why, cgroup::Hierarchy::Auto,
                                     {&host, t.root, &ops});
    EXPECT_FALSE(s);
    EXPECT_NE(why.find("holds 1 other process(es) (pid 77"), std::string::npos) << why;
    EXPECT_NE(why.find("no-internal-process"), std::string::npos) << why;
    EXPECT_FALSE(fs::exists(t.job + "/corral-launcher-4242")) << "nothing moved";
    EXPECT_EQ(trim(slurp(t.job + "/cgroup.subtree_control")), "");
    // Without a limit the test is still tracked in a plain v2 cgroup.
    auto tracked = cgroup::Sandbox::create("t3", std::nullopt, why, cgroup::Hierarchy::Auto,
                                           {&host, t.root, &ops});
    ASSERT_TRUE(tracked) << why;
    EXPECT_FALSE(tracked->has_memory());
}

TEST(CgroupV2Delegation, ReportsAnUndelegatedSubtree) {
    Tree t(true, std::to_string(kSelf) + "\n");
    RecordedHost host(t.root);
    EmulatedCgroupFs ops;
    ops.failing = {"cgroup.subtree_control"};
    ops.fail_errno = EACCES;
    std::string why;
    auto s = cgroup::Sandbox::create("t4", 64ull << 20, why, cgroup::Hierarchy::V2Memory,
                                     {&host, t.root, &ops});
    EXPECT_FALSE(s);
    EXPECT_NE(why.find("write +memory: Permission denied"), std::string::npos) << why;
    EXPECT_EQ(trim(slurp(t.job + "/cgroup.procs")), "4242") << "moved back";
}

TEST(CgroupMemoryLimit, AFailedSwapWriteIsNotReportedAsEnforced) {
    for (bool v2 : {true, false}) {
        Tree t(v2, std::to_string(kSelf) + "\n");
        RecordedHost host(t.root);
        EmulatedCgroupFs ops;
        ops.v2 = v2;
        ops.failing = {v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes"};
        std::string why;
        auto s = cgroup::Sandbox::create("t5", 64ull << 20, why, cgroup::Hierarchy::Auto,
                                         {&host, t.root, &ops});
        ASSERT_TRUE(s) << why;
        EXPECT_FALSE(s->memory_limit().enforced) << (v2 ? "v2" : "v1");
        EXPECT_NE(s->memory_limit().reason.find(*ops.failing.begin()), std::string::npos)
            << s->memory_limit().reason;
    }
}

TEST(CgroupPathTranslation, TheTestCgroupIsMadeUnderTheMountRootTranslatedPath) {
    // v1 in a container: memory mounted with root /docker/abc; we are in
    // /docker/abc/inner, which lives at <mount>/inner, not <mount>/docker/abc/inner.
    Tree t(false, std::to_string(kSelf) + "\n");
    RecordedHost host(t.root);
    EmulatedCgroupFs ops;
    ops.v2 = false;
    std::string why;
    auto s = cgroup::Sandbox::create("t6", 32ull << 20, why, cgroup::Hierarchy::Auto,
                                     {&host, t.root, &ops});
    ASSERT_TRUE(s) << why;
    EXPECT_STREQ(s->kind(), "cgroup-v1");
    EXPECT_EQ(s->dir(), (t.root / "sys/fs/cgroup/memory/inner/corral-t6").string());
    EXPECT_TRUE(s->memory_limit().enforced) << s->memory_limit().reason;
    EXPECT_EQ(trim(slurp(s->dir() + "/memory.memsw.limit_in_bytes")), "33554432");
}

// The hand-written trees tests/data/hosts/launch-cgroup-* (see their README),
// copied to a temp dir because create() makes and writes cgroups in them.
struct RecordedTree {
    fs::path root;
    explicit RecordedTree(const std::string& name) {
        root = fs::temp_directory_path() / ("corral-" + name + "-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(Tree::counter++));
        fs::remove_all(root);
        fs::copy(std::string(CORRAL_TEST_DATA_DIR) + "/hosts/" + name, root,
                 fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    }
    ~RecordedTree() { fs::remove_all(root); }
    std::string at(const std::string& p) const { return (root / p).string(); }
};

TEST(RecordedCgroupPlacement, V2WithoutTheMemoryControllerTracksButCannotLimit) {
    RecordedTree t("launch-cgroup-v2-no-memory");
    const std::string own = t.at("sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope");
    RecordedHost host(t.root);
    EmulatedCgroupFs ops;
    std::string why;
    auto limited = cgroup::Sandbox::create("n1", 64ull << 20, why, cgroup::Hierarchy::Auto,
                                           {&host, t.root, &ops});
    EXPECT_FALSE(limited);
    EXPECT_NE(why.find("no cgroup hierarchy with the memory controller"), std::string::npos) << why;
    EXPECT_NE(why.find(own + ": no memory controller in cgroup.controllers"), std::string::npos)
        << why;
    EXPECT_FALSE(fs::exists(own + "/corral-n1"));
    EXPECT_EQ(trim(slurp(own + "/cgroup.procs")), "4242") << "nothing moved";
    auto tracked = cgroup::Sandbox::create("n2", std::nullopt, why, cgroup::Hierarchy::Auto,
                                           {&host, t.root, &ops});
    ASSERT_TRUE(tracked) << why;
    EXPECT_STREQ(tracked->kind(), "cgroup-v2");
    EXPECT_FALSE(tracked->has_memory());
    EXPECT_EQ(tracked->dir(), own + "/corral-n2");
}

TEST(RecordedCgroupPlacement, V2DelegatedScopeGetsMemoryUndelegatedSaysWhy) {
    const std::string scope =
        "sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/ci.scope";
    {
        RecordedTree t("launch-cgroup-v2-delegation");
        RecordedHost host(t.root);
        EmulatedCgroupFs ops;
        std::string why;
        auto s = cgroup::Sandbox::create("d1", 64ull << 20, why, cgroup::Hierarchy::Auto,
                                         {&host, t.root, &ops});
        ASSERT_TRUE(s) << why;
        EXPECT_TRUE(s->has_memory());
        EXPECT_TRUE(s->memory_limit().enforced) << s->memory_limit().reason;
        EXPECT_EQ(s->dir(), t.at(scope + "/corral-d1"));
        EXPECT_EQ(trim(slurp(t.at(scope + "/corral-launcher-4242/cgroup.procs"))), "4242");
        EXPECT_EQ(trim(slurp(t.at(scope + "/cgroup.subtree_control"))), "memory");
    }
    {
        RecordedTree t("launch-cgroup-v2-delegation");
        RecordedHost host(t.root);
        EmulatedCgroupFs ops;
        ops.unwritable = {"cgroup.subtree_control"};
        std::string why;
        auto s = cgroup::Sandbox::create("d2", 64ull << 20, why, cgroup::Hierarchy::Auto,
                                         {&host, t.root, &ops});
        EXPECT_FALSE(s);
        EXPECT_NE(why.find("cgroup.subtree_control: Permission denied (the subtree is not "
                           "delegated to us)"),
                  std::string::npos)
            << why;
        EXPECT_FALSE(fs::exists(t.at(scope + "/corral-launcher-4242"))) << "nothing moved";
        EXPECT_EQ(trim(slurp(t.at(scope + "/cgroup.procs"))), "4242");
    }
}

TEST(RecordedCgroupPlacement, HybridContainerUsesV1MemoryUnderTheTranslatedMountRoot) {
    for (bool limit : {true, false}) {
        RecordedTree t("launch-cgroup-hybrid-container");
        RecordedHost host(t.root);
        EmulatedCgroupFs ops;
        ops.v2 = false;
        std::string why;
        auto s = cgroup::Sandbox::create(
            "h1", limit ? std::optional<uint64_t>(32ull << 20) : std::nullopt, why,
            cgroup::Hierarchy::Auto, {&host, t.root, &ops});
        ASSERT_TRUE(s) << why;
        EXPECT_STREQ(s->kind(), "cgroup-v1");
        EXPECT_TRUE(s->has_memory());
        // /docker/abc/inner under a mount of root /docker/abc: <mount>/inner.
        EXPECT_EQ(s->dir(), t.at("sys/fs/cgroup/memory/inner/corral-h1"));
        EXPECT_EQ(s->memory_limit().enforced, limit) << s->memory_limit().reason;
        EXPECT_FALSE(fs::exists(t.at("sys/fs/cgroup/unified/inner/corral-h1")));
    }
}

}  // namespace
}  // namespace corral
